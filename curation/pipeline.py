"""`curate`: read inputs, compute the recipe's signals on datatrove's executor, finalize corpus-wide steps,
then mix. Rerunning the same command on the same output folder resumes where a killed run stopped.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from curation.errors import WinnowError
from curation.mix import mix
from curation.progress import Progress
from curation.reader import InputFile, discover_inputs
from curation.recipe import Recipe
from curation.scoring import ScoreShard, build_steps
from curation.steps import CorpusStep
from curation.store import part_files, write_text_atomic


def _inputs_fingerprint(files: list[InputFile]) -> list[dict[str, Any]]:
    out = []
    for f in files:
        st = f.path.stat()
        out.append({"path": str(f.path), "rel": f.rel, "size": st.st_size, "mtime": int(st.st_mtime)})
    return out


def _scoring_key(recipe: Recipe, files: list[InputFile], world: int, steps: list[str],
                 context: dict[str, Any]) -> str:
    """What decides the stored signals: a different key means the folder holds another run."""
    data = {"inputs": _inputs_fingerprint(files), "world": world, "batch_size": recipe.batch_size,
            "signals": {k: recipe.signals[k] for k in steps}, "against": context.get("against", [])}
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _estimate_total(files: list[InputFile]) -> int | None:
    """Number of records when cheap to know (plain JSONL line counts, Parquet row counts)."""
    import pyarrow.parquet as pq

    total = 0
    for f in files:
        name = f.path.name.lower()
        if f.kind == "parquet":
            try:
                total += pq.ParquetFile(f.path).metadata.num_rows
            except Exception:  # noqa: BLE001 - the reader quarantines it
                pass
        elif f.kind == "jsonl" and not name.endswith(".gz"):
            with open(f.path, "rb") as fh:
                total += sum(1 for line in fh if line.strip())
        else:
            return None
    return total


def plan_steps(recipe: Recipe, context: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Steps that will run, and the optional ones skipped with the reason (a required one that cannot
    run is an error)."""
    run, skipped = [], {}
    for step in build_steps(recipe, list(recipe.signals), context):
        reason = step.skip_reason()
        if reason is None:
            run.append(step.name)
        elif step.name in recipe.optional:
            skipped[step.name] = reason
        else:
            raise WinnowError(f"signal {step.name!r} cannot run: {reason}")
    return run, skipped


def _make_executor(kind: str, pipeline: list, world: int, logs: Path) -> Any:
    if kind == "local":
        from datatrove.executor import LocalPipelineExecutor

        return LocalPipelineExecutor(pipeline=pipeline, tasks=world, workers=world, logging_dir=str(logs),
                                     skip_completed=True)
    if kind == "ray":
        try:
            import ray
        except ImportError:
            raise WinnowError("--executor ray needs ray: pip install 'winnow[ray]'") from None
        from datatrove.executor.ray import RayPipelineExecutor

        if not ray.is_initialized():
            # RAY_ADDRESS (env) joins an existing cluster; otherwise a local instance is started.
            ray.init(num_cpus=None if _ray_address() else world, include_dashboard=False,
                     log_to_driver=False, ignore_reinit_error=True)
        return RayPipelineExecutor(pipeline=pipeline, tasks=world, workers=world, logging_dir=str(logs),
                                   skip_completed=True, cpus_per_task=1, mem_per_cpu_gb=1)
    raise WinnowError(f"unknown executor {kind!r} (use local or ray)")


def _ray_address() -> str | None:
    import os

    return os.environ.get("RAY_ADDRESS")


def _run_scoring(executor: Any, run_dir: Path, world: int, total: int | None) -> None:
    """Run the executor in a thread while this thread draws one progress bar from the tasks' counters."""
    error: list[BaseException] = []

    def target() -> None:
        try:
            executor.run()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(e)

    th = threading.Thread(target=target, name="winnow-executor", daemon=True)
    th.start()
    tasks_dir = run_dir / "state" / "tasks"
    with Progress(run_dir, "score", total=total, unit="docs") as prog:
        while th.is_alive():
            th.join(timeout=0.5)
            done = 0
            for p in tasks_dir.glob("*.json"):
                try:
                    c = json.loads(p.read_text())
                    done += c["docs"] + c["quarantined"]
                except (json.JSONDecodeError, OSError, KeyError):
                    continue
            if done > prog.done:
                prog.update(done - prog.done)
    if error:
        raise error[0]
    missing = [r for r in range(world) if not (run_dir / "logs" / "completions" / f"{r:05d}").exists()]
    if missing:
        raise WinnowError(f"scoring tasks {missing} did not complete; see {run_dir / 'logs'}")


def curate(inputs: list[str | Path], out_dir: str | Path, recipe: Recipe, *, executor: str = "local",
           workers: int = 1, against: list[str | Path] | None = None, workspace: str | Path | None = None,
           text_field: str = "text", id_field: str = "id", overwrite: bool = False) -> dict[str, Any]:
    """Score `inputs` into `out_dir` with `recipe`, then mix; return the manifest."""
    t_start = time.perf_counter()
    run_dir = Path(out_dir).absolute()
    files = discover_inputs(inputs)
    world = max(1, int(workers))
    ws = Path(workspace).absolute() if workspace else None
    against_dirs = [str(Path(a).absolute()) for a in (against or [])]
    for a in against_dirs:
        if not (Path(a) / "signals").is_dir():
            raise WinnowError(f"--against {a}: not a curation run folder (no signals/)")
    context = {"run_dir": str(run_dir), "workspace": str(ws) if ws else None,
               "models_dir": str(ws / "models") if ws else None,
               "benchmarks_dir": str(ws / "benchmarks") if ws else None, "against": against_dirs}
    steps, skipped = plan_steps(recipe, context)
    for name, why in skipped.items():
        print(f"note: skipping signal {name!r}: {why}")
    key = _scoring_key(recipe, files, world, steps, context)
    run_json = run_dir / "run.json"
    if run_json.exists() and not overwrite:
        old = json.loads(run_json.read_text())
        if old.get("key") != key:
            raise WinnowError(f"{run_dir} holds a different run (other inputs, workers or signal settings); "
                              "use a new --out, or --overwrite to start again")
    elif overwrite and run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(recipe.to_yaml(), run_dir / "recipe.yaml")
    info = {"key": key, "inputs": _inputs_fingerprint(files), "world": world, "executor": executor,
            "steps": steps, "skipped": skipped, "context": context, "text_field": text_field,
            "id_field": id_field}
    write_text_atomic(json.dumps(info, indent=2), run_json)

    t0 = time.perf_counter()
    shard = ScoreShard(str(run_dir), files, recipe.model_dump_json(), steps, context, text_field, id_field)
    ex = _make_executor(executor, [shard], world, run_dir / "logs")
    _run_scoring(ex, run_dir, world, _estimate_total(files))
    score_wall = time.perf_counter() - t0

    finalize_timings: dict[str, float] = {}
    for step in build_steps(recipe, steps, context):
        if not isinstance(step, CorpusStep):
            continue
        marker = run_dir / "state" / "stages" / f"finalize_{step.name}"
        if marker.exists():
            continue
        t0 = time.perf_counter()
        with Progress(run_dir, f"finalize {step.name}", unit="docs") as prog:
            step.finalize(part_files(run_dir, step.name), run_dir / "signals" / step.name, prog)
        finalize_timings[step.name] = time.perf_counter() - t0
        write_text_atomic(json.dumps({"seconds": finalize_timings[step.name]}), marker)

    manifest = mix(run_dir, recipe, extra_timings={"score_wall": score_wall, "finalize": finalize_timings})
    manifest["timings"]["curate_wall"] = time.perf_counter() - t_start
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return manifest
