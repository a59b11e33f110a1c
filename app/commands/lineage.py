"""`winnow lineage PATH_OR_RUN_ID [--json] [--down]`: what an output was made from, and what was made from it."""

from __future__ import annotations

import json

import typer

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt


def lineage_cmd(
    target: str = typer.Argument(..., help="An output folder (curated run, model, report) or a run id."),
    down: bool = typer.Option(False, "--down", help="Also show what was made from it (scans the workspace)."),
    as_json: bool = typer.Option(False, "--json", help="Print the graph as JSON."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Walk the manifests back to the raw files (and forward with --down); flag stale artifacts and gaps."""
    from app.lineage import lineage, render_text

    g = lineage(target, workspace, down=down)
    if as_json:
        typer.echo(json.dumps(g.to_dict(), indent=2))
    else:
        typer.echo(render_text(g, down=down))


def register(root: typer.Typer) -> None:
    root.command("lineage")(lineage_cmd)
