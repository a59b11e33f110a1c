"""`winnow runs`: list and show jobs from the run registry."""

from __future__ import annotations

import json
import time

import typer

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from app.registry import RunRegistry
from app.workspace import open_workspace
from curation.errors import WinnowError

runs = typer.Typer(name="runs", help="List and show jobs recorded in the run registry.", rich_markup_mode=None,
                   invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})


def _fmt_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _fmt_metrics(m: dict) -> str:
    items = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in list(m.items())[:4]]
    return ", ".join(items)


@runs.callback()
def list_runs(
    ctx: typer.Context,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    kind: str = typer.Option(None, help="Only runs of this kind (curate, train-sft, eval, ...)."),
    status: str = typer.Option(None, help="Only runs with this status."),
    limit: int = typer.Option(50, help="At most this many runs, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List recorded runs, newest first (`winnow runs show ID` for one)."""
    ctx.obj = {"workspace": workspace}
    if ctx.invoked_subcommand is not None:
        return
    with RunRegistry(open_workspace(workspace)) as reg:
        rows = reg.list(kind=kind, status=status, limit=limit)
    if as_json:
        typer.echo(json.dumps([r.__dict__ for r in rows], indent=2, default=str))
        return
    if not rows:
        typer.echo("no runs recorded yet")
        return
    parents = _parents(rows)
    typer.echo(f"{'id':>4}  {'kind':<12} {'status':<11} {'started':<19} {'secs':>7}  {'parents':<14} metrics")
    for r in rows:
        dur = f"{r.duration:.1f}" if r.duration is not None else "-"
        typer.echo(f"{r.id:>4}  {r.kind:<12} {r.status:<11} {_fmt_time(r.started):<19} {dur:>7}  "
                   f"{parents.get(r.id, '-'):<14} {_fmt_metrics(r.metrics)}")


def output_manifest(kind: str, out_dir: str) -> dict | None:
    """The manifest of a job's output folder, through the reader of the engine that wrote it (a curated run,
    a training output); other outputs (reports, guard benches, ablations) through the lineage reader."""
    from app.lineage import read_manifest
    from curation.errors import WinnowError
    from curation.run_reader import RunReader, is_run_dir
    from training.output_reader import TrainingOutput

    if kind in ("curate", "mix") and is_run_dir(out_dir):
        try:
            return RunReader(out_dir).manifest
        except WinnowError:
            return None
    if kind.startswith("train-"):
        return TrainingOutput(out_dir).manifest()
    return read_manifest(out_dir)


def _parents(rows: list) -> dict[int, str]:
    """Run id -> its parents as run ids (or folder names when unregistered), read from each output folder's
    manifest lineage: the folders are the record, the registry only maps folders to ids."""
    from pathlib import Path

    from app.lineage import recorded_links

    by_dir = {str(Path(r.out_dir).absolute()): r.id for r in rows if r.out_dir}
    out: dict[int, str] = {}
    for r in rows:
        if not r.out_dir:
            continue
        m = output_manifest(r.kind, r.out_dir)
        if m is None:
            continue
        _, pars = recorded_links(Path(r.out_dir), m)
        names = [str(by_dir[p["path"]]) if p.get("path") in by_dir else Path(str(p.get("path"))).name
                 for p in pars]
        if names:
            out[r.id] = ",".join(names)
    return out


@runs.command("show")
def show(ctx: typer.Context, run_id: int = typer.Argument(..., help="Run id from `winnow runs`."),
         workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Show one run: config, status, times, output folder, metrics, error."""
    ws = workspace if workspace != DEFAULT_WORKSPACE else (ctx.obj or {}).get("workspace", workspace)
    with RunRegistry(open_workspace(ws)) as reg:
        run = reg.get(run_id)
    if run is None:
        raise WinnowError(f"no run with id {run_id} in {ws}")
    d = dict(run.__dict__)
    d["created"], d["started"], d["ended"] = (_fmt_time(run.created), _fmt_time(run.started),
                                              _fmt_time(run.ended))
    typer.echo(json.dumps(d, indent=2, default=str))


def register(root: typer.Typer) -> None:
    root.add_typer(runs, name="runs")
