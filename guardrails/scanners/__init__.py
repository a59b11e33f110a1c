"""The scanner registry: scanner name -> its class, imported on first use (each module loads its own detector).

A scanner named `x` lives in `guardrails/scanners/x.py` and is the `Scanner` subclass there whose `name`
is `x`.
"""

from __future__ import annotations

import importlib

from curation.errors import WinnowError
from guardrails.base import Scanner

SCANNERS = ("invisible_text", "secrets", "pii", "injection", "toxicity", "banned_topics", "banned_substrings",
            "regex", "leakage")


def scanner_names() -> list[str]:
    """Every scanner a policy may name."""
    return list(SCANNERS)


def get_scanner(name: str) -> type[Scanner]:
    """The scanner class called `name`; an unknown name is a WinnowError that lists the known ones."""
    if name not in SCANNERS:
        raise WinnowError(f"unknown scanner {name!r}; known scanners: {', '.join(SCANNERS)}")
    module = importlib.import_module(f"guardrails.scanners.{name}")
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Scanner) and getattr(obj, "name", None) == name:
            return obj
    raise WinnowError(f"guardrails/scanners/{name}.py defines no Scanner named {name!r}")  # pragma: no cover
