"""The workspace: one folder holding the run registry, models, benchmarks and job outputs."""

from __future__ import annotations

import os
from pathlib import Path

from curation.errors import WinnowError


def open_workspace(path: str | Path) -> Path:
    """Create the workspace if needed and check it is writable; return its absolute path."""
    ws = Path(path).expanduser().absolute()
    try:
        ws.mkdir(parents=True, exist_ok=True)
        for sub in ("models", "benchmarks", "runs"):
            (ws / sub).mkdir(exist_ok=True)
    except OSError as e:
        raise WinnowError(f"cannot create workspace {ws}: {e.strerror}") from None
    if not os.access(ws, os.W_OK):
        raise WinnowError(f"workspace {ws} is not writable")
    return ws


def models_dir(ws: Path) -> Path:
    return ws / "models"


def benchmarks_dir(ws: Path) -> Path:
    return ws / "benchmarks"
