"""`winnow guard`: guardrail scanners (not built yet: there is no guardrails issue open)."""

from __future__ import annotations

import typer

from app.commands import groups
from curation.errors import WinnowError


@groups.guard.command("scan")
def scan(text: str = typer.Argument(..., help="Text to scan.")) -> None:
    """Scan a text with the guardrail scanners (not available yet)."""
    raise WinnowError("guardrail scanners are not built yet; curation's PII detector is `winnow pii`")


def register(root: typer.Typer) -> None:
    pass
