"""`winnow demo`: the main job end to end on the built-in sample data."""

from __future__ import annotations

from pathlib import Path

import typer

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from app.workspace import open_workspace


def demo_cmd(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    data_dir: Path = typer.Option(None, "--data-dir",
                                  help="Benchmark folder (<folder>/<split>.jsonl); default: the store or synthetic."),
    docs: int = typer.Option(5000, min=100, help="Documents in the sample corpus."),
    app: bool = typer.Option(False, "--app", help="Start the app at the end instead of printing how to."),
) -> None:
    """Sample data -> curate -> tiny model -> SFT -> DPO -> evaluate -> compare, each a registered run."""
    from app.demo import run_demo

    ws = open_workspace(workspace)
    rc = run_demo(ws, data_dir, docs)
    if app and rc == 0:
        from app.commands.app_cmd import launch_app

        launch_app(ws)
    if rc:
        raise typer.Exit(rc)


def register(root: typer.Typer) -> None:
    root.command("demo")(demo_cmd)
