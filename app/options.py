"""Options shared by many commands, so they read the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_WORKSPACE = Path("winnow-workspace")

WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", envvar="WINNOW_WORKSPACE", help="Workspace folder (runs, models, benchmarks).",
                 show_default=True),
]
