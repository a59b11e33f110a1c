"""Transforms applied to kept documents' text in `mix` (for example PII scrubbing).

A transform is registered under a name that a recipe's `transforms:` section uses; it receives the kept
documents of one batch (a Polars frame with `id`, `text` and `_batch`, the batch's file stem: the stored
signals of a batch-local step for these documents are in `signals/<step>/<_batch>.parquet`), its parameters
and the run folder, and returns the new text column (same length, same order).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from curation.errors import WinnowError

TransformFn = Callable[[pl.DataFrame, dict[str, Any], Path], pl.Series]
_TRANSFORMS: dict[str, TransformFn] = {}


def register_transform(name: str) -> Callable[[TransformFn], TransformFn]:
    def deco(fn: TransformFn) -> TransformFn:
        _TRANSFORMS[name] = fn
        return fn

    return deco


def get_transform(name: str) -> TransformFn:
    _load_builtin()
    if name not in _TRANSFORMS:
        raise WinnowError(f"unknown transform {name!r}; known: {', '.join(sorted(_TRANSFORMS)) or 'none'}")
    return _TRANSFORMS[name]


def _load_builtin() -> None:
    import importlib

    for mod in ("curation.pii.scrub", "curation.heuristics.c4_clean"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod and not mod.startswith(str(e.name)):
                raise
