"""`winnow curate` and `winnow mix`: score a corpus once, then apply (and re-apply) a recipe."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from app.registry import registered_run
from app.workspace import open_workspace

SUMMARY_RULES = 12


def rule_lines(by_rule: dict[str, int], limit: int | None = SUMMARY_RULES) -> list[str]:
    """Removals per rule, at most `limit` of them (None: all), and a line saying so when some are not shown."""
    items = list(by_rule.items())
    shown = items if limit is None else items[:limit]
    lines = [f"  {n:>8}  {rule}" for rule, n in shown]
    if len(shown) < len(items):
        lines.append(f"  {len(shown)} of {len(items)} rules shown; use --all")
    return lines


def _summary(m: dict, out: Path, show_all: bool = False) -> None:
    skipped = f", skipped {m['skipped']}" if m.get("skipped") else ""
    typer.echo(f"input {m['input']}: kept {m['kept']}, removed {m['removed']}, quarantined {m['quarantined']}"
               f"{skipped}")
    for line in rule_lines(m["by_rule"], None if show_all else SUMMARY_RULES):
        typer.echo(line)
    for name, why in m.get("skipped_signals", {}).items():
        typer.echo(f"  skipped {name}: {why}")
    base = str(out).rstrip("/")  # a folder or an object-store URL
    typer.echo(f"curated corpus: {base}/kept   removal log: {base}/removed.parquet   "
               f"manifest: {base}/manifest.json")


def _headline(m: dict) -> dict:
    return {"input": m["input"], "kept": m["kept"], "removed": m["removed"], "quarantined": m["quarantined"],
            "kept_share": round(m["kept"] / m["input"], 4) if m["input"] else 0.0}


def _start_workers_early(inputs: list[str], out: str, against: list[str], recipe: Path | None, set_: list[str],
                         decontaminate: Path | None, executor: str, workers: int, tasks: int | None) -> None:
    """Start the local workers' server first thing, when scoring will use more than one process, so that its
    imports run beside this command's own imports and checks (curation/worker_server.py). The steps come from
    the recipe file's raw fields; a problem with the inputs or the recipe is left to the checks that follow,
    which report it."""
    from curation.errors import WinnowError
    from curation.objstore import is_remote

    if executor != "local" or workers < 2 or any(is_remote(p) for p in [out, *inputs, *against]):
        return
    from curation.executors import task_count
    from curation.reader import discover_inputs
    from curation.recipe_file import read_recipe_data
    from curation.worker_server import start_worker_server_for_steps

    try:
        n_tasks = task_count([f.path.stat().st_size for f in discover_inputs(inputs)], workers, tasks)
        signals = read_recipe_data(recipe)[0].get("signals") if min(n_tasks, workers) > 1 else None
    except (WinnowError, OSError):  # the checks that follow report it
        return
    if not isinstance(signals, dict):
        return
    steps = [str(n) for n in signals]
    steps += [k.split(".")[1] for k in (s.partition("=")[0] for s in set_) if k.startswith("signals.")]
    if decontaminate is not None:
        steps.append("decontamination")
    start_worker_server_for_steps(dict.fromkeys(steps), min(n_tasks, workers))


def curate_cmd(
    inputs: list[str] = typer.Argument(..., help="Corpus files or folders (JSONL, JSONL.gz, Parquet, WARC), "
                                                  "local or fsspec URLs (s3://bucket/corpus/)."),
    out: str = typer.Option(..., "--out", "-o", help="Output folder of the run (signals, kept, removed...), "
                                                     "local or a URL (s3://bucket/runs/r1)."),
    recipe: Path = typer.Option(None, "--recipe", "-r", help="Recipe YAML, or a shipped recipe's name "
                                                             "(datatrove-compatible); default: the default recipe."),
    set_: list[str] = typer.Option([], "--set", help="Override a recipe field: KEY=VALUE (rules.NAME.min=20)."),
    executor: str = typer.Option("local", help="datatrove executor: local or ray."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Parallel worker processes."),
    tasks: int = typer.Option(None, "--tasks", min=1, help=(
        "Tasks the input is split into, the unit of resume (default: ~128 MB of input a task, one per worker "
        "once each gets 4 MiB or more; a smaller input is one task, in this process).")),
    against: list[str] = typer.Option([], "--against", help="Earlier run folder(s) or URLs to deduplicate against."),
    decontaminate: Path = typer.Option(None, "--decontaminate", help="Benchmark folder to decontaminate against."),
    text_field: str = typer.Option("text", help="Field holding the document text."),
    id_field: str = typer.Option(None, help="Field holding the document id (default: `id` when present, else "
                                            "made from the file and position)."),
    overwrite: bool = typer.Option(False, help="Start again in an output folder that holds another run "
                                               "(removes only what Winnow wrote there)."),
    show_all: bool = typer.Option(False, "--all", help="List every rule's removals (default: the first 12)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Score a corpus with the recipe's signals, then mix it into a curated corpus (resumes if killed)."""
    from curation.objstore import is_remote

    _start_workers_early(inputs, out, against, recipe, set_, decontaminate, executor, workers, tasks)
    from curation.recipe import apply_overrides, load_recipe

    inputs = [p if is_remote(p) else Path(p) for p in inputs]  # URLs stay strings (Path would eat a slash)
    against = [a if is_remote(a) else Path(a) for a in against]
    out = out if is_remote(out) else Path(out)
    ws = open_workspace(workspace)
    rec = apply_overrides(load_recipe(recipe), set_)
    if decontaminate is not None:
        from curation.steps.decontamination import add_decontamination

        rec = add_decontamination(rec, decontaminate)
    from curation.pipeline import curate

    config = {"inputs": [str(p) for p in inputs], "out": str(out), "recipe": str(recipe) if recipe else "default",
              "set": list(set_), "executor": executor, "workers": workers, "tasks": tasks,
              "against": [str(a) for a in against], "decontaminate": str(decontaminate) if decontaminate else None,
              "text_field": text_field, "id_field": id_field}
    with registered_run(ws, "curate", config, out.absolute() if isinstance(out, Path) else None) as (reg, run_id):
        m = curate(inputs, out, rec, executor=executor, workers=workers, tasks=tasks, against=against,
                   workspace=ws, text_field=text_field, id_field=id_field, overwrite=overwrite,
                   command=["winnow", *sys.argv[1:]], config=config)
        reg.set_metrics(run_id, _headline(m))
    _summary(m, out, show_all)


def mix_cmd(
    run_dir: str = typer.Argument(..., help="Output folder of an earlier `winnow curate` (or `mix --out`); "
                                            "a folder or an object-store URL (s3://...)."),
    recipe: Path = typer.Option(None, "--recipe", "-r", help="Recipe YAML with new rules (default: the run's)."),
    set_: list[str] = typer.Option([], "--set", help="Override a recipe field: KEY=VALUE (rules.NAME.min=20)."),
    out: str = typer.Option(None, "--out", "-o", help="Write the result to this new folder (reads RUN_DIR's "
                                                      "signals in place; RUN_DIR is not changed)."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    show_all: bool = typer.Option(False, "--all", help="List every rule's removals (default: the first 12)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Re-apply rules to stored signals without re-scoring; rewrites kept/, removed.parquet, manifest.json
    (of RUN_DIR, or of --out)."""
    from curation.errors import WinnowError
    from curation.mix import mix
    from curation.objstore import is_remote
    from curation.recipe import apply_overrides, load_recipe

    run_dir = run_dir if is_remote(run_dir) else Path(run_dir)  # URLs stay strings (Path would eat a slash)
    out = out if out is None or is_remote(out) else Path(out)
    ws = open_workspace(workspace)
    rec = load_recipe(recipe) if recipe else None
    if set_:
        if rec is None and is_remote(run_dir):
            raise WinnowError("--set on a run folder on an object store needs --recipe (the base recipe file)")
        rec = apply_overrides(rec or load_recipe(run_dir / "recipe.yaml"), set_)
    target = out or run_dir
    target = target.absolute() if isinstance(target, Path) else target
    config = {"run_dir": str(run_dir), "recipe": str(recipe) if recipe else None, "set": list(set_),
              "out": str(out) if out else None}
    with registered_run(ws, "mix", config, target if isinstance(target, Path) else None) as (reg, run_id):
        m = mix(run_dir, rec, out_dir=out, command=["winnow", *sys.argv[1:]], config=config)
        reg.set_metrics(run_id, _headline(m))
    if as_json:  # a local folder: the manifest as its reader reads it (what the app and lineage see)
        if isinstance(target, Path):
            from curation.run_reader import RunReader

            m = RunReader(target).manifest
        typer.echo(json.dumps(m, indent=2, default=str))
    else:
        _summary(m, target, show_all)


def register(root: typer.Typer) -> None:
    root.command("curate")(curate_cmd)
    root.command("mix")(mix_cmd)
