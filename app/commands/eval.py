"""`winnow eval run|compare` and `winnow data import|list|pull` (the benchmark store).

Heavy imports (lm_eval, torch, datasets) happen inside the commands so `winnow --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from app.commands import groups
from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from app.registry import registered_run
from app.workspace import benchmarks_dir, open_workspace
from curation.errors import WinnowError


def _store(workspace: Path, data_dir: Path | None) -> tuple[Path, Path]:
    ws = open_workspace(workspace)
    return ws, (data_dir.expanduser().absolute() if data_dir else benchmarks_dir(ws))


@groups.eval_.command("run")
def eval_run(
    model: str = typer.Option(..., "--model", help="Model folder, LoRA adapter folder, or a cached hub id."),
    out: Path = typer.Option(..., "--out", help="Report folder to write (report.json, lm-eval files, scores.png)."),
    benchmarks: str = typer.Option(None, "--benchmarks",
                                   help="Comma-separated: arc_easy,arc_challenge,hellaswag,mmlu,"
                                        "truthfulqa_mc1,truthfulqa_mc2."),
    preset: str = typer.Option(None, "--preset", help="leaderboard-v1: ARC-C 25-shot, HellaSwag 10, MMLU 5, "
                                                      "TruthfulQA mc2 0."),
    num_fewshot: int = typer.Option(None, "--num-fewshot", help="Few-shot examples for every task (lm-eval default "
                                                                "when absent)."),
    limit: int = typer.Option(None, "--limit", help="Score only the first N documents of each task."),
    batch_size: int = typer.Option(1, "--batch-size", help="Batch size for the model."),
    apply_chat_template: bool = typer.Option(False, "--apply-chat-template",
                                             help="Wrap prompts with the tokenizer's chat template."),
    perplexity: Path = typer.Option(None, "--perplexity", help="Held-out text (.txt or .jsonl with 'text') for "
                                                               "perplexity and bits per byte."),
    data_dir: Path = typer.Option(None, "--data-dir",
                                  help="Benchmark store to read (default: <workspace>/benchmarks)."),
    dtype: str = typer.Option("float32", "--dtype", help="Model dtype passed to lm-eval (float32, bfloat16, auto)."),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
    add_bos_token: bool = typer.Option(None, "--add-bos-token/--no-add-bos-token",
                                       help="Force BOS handling (default: the tokenizer's own behaviour)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse or record cached model responses."),
    contamination: list[Path] = typer.Option(None, "--contamination",
                                             help="Curated run (or mix) the model was trained on, with the "
                                                  "decontamination signal: split scores into items found in its "
                                                  "kept data and clean items; repeat for several (default: every "
                                                  "one the model's lineage reaches)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Evaluate a model with lm-eval's own tasks on the local benchmark store; write a fingerprinted report."""
    from evaluation.runner import EvalConfig, prepare, run_eval
    from evaluation.tasks import parse_benchmarks

    ws, store_dir = _store(workspace, data_dir)
    cfg = EvalConfig(model=model, out=out.expanduser().absolute(), data_dir=store_dir,
                     cache_dir=ws / "cache" / "eval", benchmarks=parse_benchmarks(benchmarks) if benchmarks else [],
                     preset=preset, num_fewshot=num_fewshot, limit=limit, batch_size=batch_size,
                     apply_chat_template=apply_chat_template,
                     perplexity=perplexity.expanduser().absolute() if perplexity else None, dtype=dtype,
                     device=device, add_bos_token=add_bos_token, use_cache=not no_cache,
                     contamination=[c.expanduser().absolute() for c in contamination or []])
    if not cfg.contamination and (cfg.benchmarks or cfg.preset):
        cfg.contamination, cfg.contamination_unchecked = _training_data_runs(model, ws)
        if cfg.contamination:
            typer.echo(f"note: the model's lineage reaches {', '.join(map(str, cfg.contamination))} "
                       "(decontamination signal): scores are split into contaminated and clean items")
        if cfg.contamination and cfg.contamination_unchecked:
            typer.echo(f"note: {', '.join(map(str, cfg.contamination_unchecked))} in the model's training data "
                       "has no decontamination signal: benchmark items it holds count as clean in the split")
    prepared = prepare(cfg)  # every input check before a run is recorded or lm-eval starts
    with registered_run(ws, "eval", cfg.to_dict(), cfg.out) as (reg, run_id):
        rep = run_eval(cfg, prepared)
        metrics = {f"{b}/{s.get('label', s['metric'])}": s["value"] for b, s in rep["scores"].items()}
        if rep.get("perplexity"):
            metrics["perplexity/bits_per_byte"] = rep["perplexity"]["bits_per_byte"]
        reg.set_metrics(run_id, metrics)
    for note in rep["notes"]:
        typer.echo(f"note: {note}")
    for b, s in rep["scores"].items():
        se = f" ± {s['stderr']:.4f}" if s.get("stderr") is not None else ""
        val = f"{s['value']:.4f}" if s.get("value") is not None else "-"
        typer.echo(f"{b:<16} {s.get('label', s['metric']):<9} {val}{se}  (n={s.get('n')})")
    if rep.get("perplexity"):
        p = rep["perplexity"]
        typer.echo(f"perplexity: word {p['word_perplexity']:.3f}, byte {p['byte_perplexity']:.4f}, "
                   f"bits/byte {p['bits_per_byte']:.4f}")
    if rep.get("contamination"):
        from evaluation.contamination import render as render_contamination

        for line in render_contamination(rep["contamination"]):
            typer.echo(line)
    typer.echo(f"report: {cfg.out / 'report.json'} ({rep['seconds']:.1f} s)")


def _training_data_runs(model: str, ws: Path) -> tuple[list[Path], list[Path]]:
    """The curated runs and mixes the model was trained on, found through its lineage: (those whose signals
    include decontamination, those without). Every branch counts (an SFT run on one corpus and a DPO run on
    another both put items in front of the model); on each branch the nearest such folder is the one trained
    on, so the split counts the documents it kept (a mix's kept/, not its parent's, which may have dropped the
    contaminated documents the mix keeps), and the search does not go past it. An `ablate` sample folder is
    the training data itself (a subset of its mix's kept/), so the split counts only the sample's documents."""
    if not Path(model).is_dir():
        return [], []
    from app.lineage import lineage
    from evaluation.contamination import has_signal, sample_parent  # a mix's or a sample's read in place

    g = lineage(model, ws)
    todo, seen = [g.root], set()
    checked: list[Path] = []
    unchecked: list[Path] = []
    while todo:
        path = todo.pop(0)
        for e in g.parents(path):
            if e.parent in seen:
                continue
            seen.add(e.parent)
            if g.nodes[e.parent].kind in ("curated", "mix") or sample_parent(e.parent) is not None:
                (checked if has_signal(e.parent) else unchecked).append(Path(e.parent))
            else:
                todo.append(e.parent)
    return checked, unchecked


@groups.eval_.command("compare")
def eval_compare(
    reports: list[Path] = typer.Argument(..., help="Two or more report folders from `winnow eval run`."),
    force: bool = typer.Option(False, "--force", help="Compare even when fingerprints differ in data, few-shot, "
                                                      "limit or task config."),
    fmt: str = typer.Option("table", "--format", help="Output format: table, json or markdown."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of the paired differences (two reports)."),
    iters: int = typer.Option(10000, "--bootstrap-iters", help="Paired bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Seed of the paired bootstrap."),
) -> None:
    """Scores side by side; for two reports, McNemar's exact test and a paired bootstrap CI per benchmark."""
    from evaluation.compare import compare, plot_deltas, render

    if fmt not in ("table", "json", "markdown"):
        raise WinnowError(f"unknown --format {fmt}; use table, json or markdown")
    if plot is not None and len(reports) != 2:
        raise WinnowError("--plot needs exactly two reports")
    result = compare(list(reports), force=force, iters=iters, seed=seed)
    typer.echo(render(result, fmt))
    if plot is not None:
        written = plot_deltas(result, plot)
        typer.echo(f"plot: {written}", err=fmt == "json")


@groups.data.command("import")
def data_import(
    src: Path = typer.Argument(..., help="A folder with benchmark folders (arc_easy/, mmlu/, ...) or one of them."),
    only: str = typer.Option(None, "--only", help="Comma-separated folders to import (default: all found)."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Store to import into (default: <workspace>/benchmarks)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Copy benchmark JSONL files into the store and record their checksums."""
    from evaluation import store

    _, dest = _store(workspace, data_dir)
    folders = [x.strip() for x in only.split(",") if x.strip()] if only else None
    for rec in store.import_dir(src.expanduser(), dest, folders):
        typer.echo(f"{rec['folder']:<16} " + ", ".join(f"{k} {v}" for k, v in rec["files"].items())
                   + ("  (SYNTHETIC)" if rec["synthetic"] else ""))
    typer.echo(f"store: {dest}")


@groups.data.command("list")
def data_list(
    data_dir: Path = typer.Option(None, "--data-dir", help="Store to list (default: <workspace>/benchmarks)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Show which benchmark folders are in the store, with rows per split."""
    from evaluation import store

    _, root = _store(workspace, data_dir)
    rows = store.list_store(root)
    if as_json:
        typer.echo(json.dumps({"store": str(root), "synthetic": store.is_synthetic(root), "folders": rows},
                              indent=2))
        return
    typer.echo(f"store: {root}" + ("  (SYNTHETIC data)" if store.is_synthetic(root) else ""))
    for r in rows:
        if r["present"]:
            splits = ", ".join(f"{k} {v}" for k, v in r["splits"].items())
            flags = ("" if r["checksums"] else "  (no checksums.json)") + ("  SYNTHETIC" if r["synthetic"] else "")
            typer.echo(f"  {r['folder']:<16} present   {splits}{flags}")
        else:
            typer.echo(f"  {r['folder']:<16} missing   get it: {store.pull_command(r['folder'])}")


@groups.data.command("pull")
def data_pull(
    folders: list[str] = typer.Argument(..., help="Benchmark folders to download: arc_easy, arc_challenge, "
                                                  "hellaswag, mmlu, truthfulqa_mc, truthfulqa_gen."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Store to write (default: <workspace>/benchmarks)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Download benchmark datasets from the Hugging Face hub into the store (needs network)."""
    from evaluation import store

    ws, dest = _store(workspace, data_dir)
    store.check_pull(folders)  # unknown names and offline mode fail before a run is recorded
    with registered_run(ws, "data-pull", {"folders": folders, "store": str(dest)}, dest) as (reg, run_id):
        done = store.pull(folders, dest)
        reg.set_metrics(run_id, {r["folder"]: sum(r["files"].values()) for r in done})
    for rec in done:
        typer.echo(f"{rec['folder']:<16} " + ", ".join(f"{k} {v}" for k, v in rec["files"].items()))


def register(root: typer.Typer) -> None:
    """Commands attach to the shared `eval` and `data` groups above."""
