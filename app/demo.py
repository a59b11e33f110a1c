"""The demo: the main job end to end on data the project makes itself.

sample data -> curate (dedup, quality, PII, decontamination) -> tiny base model -> SFT -> DPO -> evaluate
base and tuned models -> compare. Each step runs the CLI as a subprocess and is a registered run; a step
whose area is not installed or not built yet is reported as skipped.
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import typer

from app.launcher import last_error_line, log_path, log_tail, run_job


@dataclass
class Step:
    kind: str
    title: str
    args: list[str]
    needs: list[str] = field(default_factory=list)  # files that must exist (made by earlier steps)
    optional: bool = False


def _find_command(path: list[str]) -> object | None:
    """The click command at `path` (e.g. ["train", "sft"]), or None when that area is not built."""
    import typer as _t

    from app.cli import root

    cmd = _t.main.get_command(root)
    for name in path:
        sub = getattr(cmd, "commands", {}).get(name)
        if sub is None:
            return None
        cmd = sub
    return cmd


def _real_benchmarks(ws: Path, data_dir: Path | None) -> Path | None:
    for d in (data_dir, ws / "benchmarks"):
        if d is not None and (d / "arc_easy" / "test.jsonl").is_file() and not (d / "SYNTHETIC.txt").exists():
            return d
    return None


def plan(ws: Path, data_dir: Path | None, docs: int) -> tuple[list[Step], dict[str, Path]]:
    d = ws / "demo"
    p = {
        "corpus": d / "data" / "corpus.jsonl", "sft": d / "data" / "sft.jsonl", "dpo": d / "data" / "dpo.jsonl",
        "bench": d / "data" / "synthetic_bench", "curated": d / "curated", "base": ws / "models" / "demo-tiny",
        "sft_model": d / "sft", "dpo_model": d / "dpo", "eval_base": d / "eval-base", "eval_dpo": d / "eval-dpo",
    }
    real = _real_benchmarks(ws, data_dir)
    bench_dir = real if real is not None else p["bench"]
    eval_args = ["--benchmarks", "arc_easy", "--data-dir", str(bench_dir), "--limit", "100", "--batch-size", "16"]
    steps = [
        Step("data-sample", f"sample corpus ({docs} web-like documents with planted problems)",
             ["data", "sample", "--docs", str(docs), "--out", str(p["corpus"]), "--seed", "0"]),
        Step("data-sample", "synthetic multiple-choice benchmark (ARC schema)",
             ["data", "sample", "--kind", "bench", "--docs", "300", "--out", str(p["bench"]), "--seed", "0"]),
        Step("data-sample", "instruction pairs for SFT",
             ["data", "sample", "--kind", "sft", "--docs", "2000", "--out", str(p["sft"]), "--seed", "0"]),
        Step("data-sample", "preference pairs for DPO",
             ["data", "sample", "--kind", "dpo", "--docs", "1200", "--out", str(p["dpo"]), "--seed", "0"]),
        # spaCy NER (when installed) is ~100x slower than Presidio's patterns: off here to keep the demo short
        Step("curate", "curate the corpus (heuristics, dedup, language, PII patterns, decontamination)",
             ["curate", str(p["corpus"]), "--out", str(p["curated"]), "--workers", "2",
              "--decontaminate", str(bench_dir), "--set", "signals.pii.ner=off"], needs=[p["corpus"]]),
        Step("model-tiny", "tiny local base model (BPE tokenizer + 2-layer Llama)",
             ["model", "tiny", "--corpus", str(p["sft"]), "--corpus", str(p["dpo"]), "--out", str(p["base"])],
             needs=[p["sft"]]),
        Step("train-sft", "SFT on the instruction pairs",
             ["train", "sft", "--model", str(p["base"]), "--data", str(p["sft"]), "--out", str(p["sft_model"]),
              "--max-steps", "150", "--lr", "1e-3", "--val-split", "100", "--logging-steps", "10"], needs=[p["base"]]),
        Step("train-dpo", "DPO on the preference pairs",
             ["train", "dpo", "--model", str(p["sft_model"]), "--data", str(p["dpo"]), "--out", str(p["dpo_model"]),
              "--max-steps", "40", "--val-split", "200", "--logging-steps", "5"], needs=[p["sft_model"]]),
        Step("eval", "evaluate the base model", ["eval", "run", "--model", str(p["base"]), *eval_args,
                                                 "--out", str(p["eval_base"])], needs=[p["base"]]),
        Step("eval", "evaluate the tuned model", ["eval", "run", "--model", str(p["dpo_model"]), *eval_args,
                                                  "--out", str(p["eval_dpo"])], needs=[p["dpo_model"]]),
        Step("eval-compare", "compare base and tuned, sample by sample",
             ["eval", "compare", str(p["eval_base"]), str(p["eval_dpo"]), "--format", "markdown"],
             needs=[p["eval_base"], p["eval_dpo"]]),
    ]
    steps += _ablation_steps(ws, p)
    return steps, p


# The demo's ablation: small enough to keep the whole demo under 10 minutes on 2 cores (measured in
# docs/benchmarks/experiment_loop.md); `bench/ablation.py` runs the full-size one (3 seeds, more steps).
ABLATION = {"heldout_docs": 200, "seeds": 1, "steps": 30, "max_length": 128}


def _ablation_steps(ws: Path, p: dict[str, Path]) -> list[Step]:
    """The experiment loop's last word: did the default recipe beat keeping everything? Same signals (the
    demo's own curated run: scored once, mixed per recipe), same token budget, the tiny base model trained once
    per arm on short sequences (the demo's time goes here, so it stays small), bits per byte on held-out clean
    text (a fresh sample corpus's clean documents) with a confidence interval over those documents."""
    d = ws / "demo"
    p["heldout"], p["ablation"] = d / "data" / "heldout.jsonl", d / "ablation"
    return [
        Step("data-sample", "held-out corpus (its clean documents are the ablation's test text)",
             ["data", "sample", "--docs", str(ABLATION["heldout_docs"]), "--out", str(p["heldout"]), "--seed", "1"]),
        Step("ablate", f"ablation: default recipe vs keep-everything ({ABLATION['seeds']} seed per arm, "
                       f"{ABLATION['steps']} steps, bits per byte on held-out text)",
             ["ablate", str(p["corpus"]), "--recipes", "default", "keep-everything", "--scored", str(p["curated"]),
              "--model", str(p["base"]), "--heldout-clean", str(p["heldout"]), "--seeds", str(ABLATION["seeds"]),
              "--max-steps", str(ABLATION["steps"]), "--max-length", str(ABLATION["max_length"]),
              "--out", str(p["ablation"])], needs=[p["curated"], p["base"], p["heldout"]]),
    ]


def _cli_path(args: list[str]) -> list[str]:
    path = []
    for a in args:
        if a.startswith("-") or "/" in a:
            break
        path.append(a)
    return path[:2]


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def step_env() -> dict[str, str]:
    """One math thread per step unless the user chose: the demo's models are tiny, and on a busy 2-core
    machine torch's two threads wait on each other (a tiny-model training step measured ~40x more CPU and
    far more wall with 2 threads than with 1 at load 25; docs/benchmarks/experiment_loop.md)."""
    return {k: os.environ.get(k, "1") for k in THREAD_VARS}


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (each step's process tree, once reaped)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_demo(ws: Path, data_dir: Path | None = None, docs: int = 5000) -> int:
    steps, paths = plan(ws, data_dir, docs)
    results: list[tuple[Step, str, float, float, str]] = []
    t_all, cpu_all = time.time(), _children_cpu()
    for i, step in enumerate(steps, 1):
        head = f"[{i}/{len(steps)}] {step.title}"
        cli = _cli_path(step.args)
        command = _find_command(cli)
        if command is None:
            typer.echo(f"{head}: skipped (`winnow {' '.join(cli)}` is not built yet)")
            results.append((step, "skipped", 0.0, 0.0, "not built yet"))
            continue
        missing = [str(n) for n in step.needs if not Path(n).exists()]
        if missing:
            typer.echo(f"{head}: skipped (needs {', '.join(missing)} from an earlier step)")
            results.append((step, "skipped", 0.0, 0.0, "earlier step missing"))
            continue
        takes_ws = any(p.name == "workspace" for p in getattr(command, "params", []))
        args = [*step.args, "--workspace", str(ws)] if takes_ws else list(step.args)
        typer.echo(f"{head}\n    $ winnow {' '.join(args)}")
        t0, c0 = time.time(), _children_cpu()
        run, rc = run_job(ws, args, kind=step.kind, config={"demo": True}, env=step_env())  # the app's runner
        dt, cpu = time.time() - t0, _children_cpu() - c0
        for line in (log_tail(ws, run.id, 12) or "").splitlines():
            typer.echo(f"    {line}")
        if rc != 0:
            err = run.error or last_error_line(log_path(ws, run.id))
            typer.echo(f"    FAILED (exit {rc}): {err}", err=True)
            results.append((step, "failed", dt, cpu, err))
            if not step.optional:
                break
        else:
            results.append((step, "done", dt, cpu, ""))
    total, total_cpu = time.time() - t_all, _children_cpu() - cpu_all
    typer.echo("\nWinnow demo summary (wall, CPU of the step's processes)")
    for step, status, dt, cpu, why in results:
        typer.echo(f"  {status:<8} {dt:6.1f}s {cpu:6.1f}s  {step.title}{'  (' + why + ')' if why else ''}")
    man = paths["curated"] / "manifest.json"
    if man.exists():
        m = json.loads(man.read_text())
        typer.echo(f"\n  curated corpus: {m['kept']} kept, {m['removed']} removed, {m['quarantined']} quarantined "
                   f"of {m['input']}  ->  {paths['curated'] / 'kept'}")
        typer.echo("  removals by rule: " + (", ".join(f"{k} {v}" for k, v in m["by_rule"].items()) or "none"))
    for key in ("dpo_model", "eval_dpo"):
        if paths[key].exists():
            typer.echo(f"  {key.replace('_', ' ')}: {paths[key]}")
    abl = paths.get("ablation")
    if abl is not None and (abl / "ablation.json").exists():
        from app.ablate import summary_lines

        typer.echo("")
        for line in summary_lines(json.loads((abl / "ablation.json").read_text())):
            typer.echo(f"  {line}")
    typer.echo(f"\n  all runs: winnow runs --workspace {ws}")
    typer.echo(f"  open the app: winnow app --workspace {ws}")
    typer.echo(f"  total {total:.0f}s wall, {total_cpu:.0f}s CPU")
    failed = [r for r in results if r[1] == "failed" and not r[0].optional]
    return 1 if failed else 0
