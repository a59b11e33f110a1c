"""`curate`: read inputs, compute the recipe's signals on datatrove's executor, finalize corpus-wide steps,
then mix. Rerunning the same command on the same output folder resumes where a killed run stopped.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from curation import faults
from curation.errors import WinnowError
from curation.executors import make_executor, task_count
from curation.fingerprint import file_fingerprint
from curation.lineage_record import package_versions
from curation.mix import mix
from curation.processes import set_parent_death_signal, stop_children_on_exit
from curation.progress import Progress
from curation.reader import InputFile, check_fields, discover_inputs, json_array_head, skipped_files_record
from curation.recipe import Recipe
from curation.run_folder import RunLock, clear_owned, prepare_run_dir
from curation.scoring import ScoreShard, build_steps, reopen_damaged_batches
from curation.steps import CorpusStep
from curation.store import part_files, source_dir, write_text_atomic
from curation.worker_server import stop_worker_server, worker_preload

# Bump when the reader's output for the same bytes changes (ids, text, what is quarantined or skipped).
READER_VERSION = 4  # 3: with at least as many files as tasks, a task reads whole files; 4: a .json array is
# read as records, a byte-order mark and a file named twice no longer cost documents (a run scored before rescores)


def _inputs_fingerprint(files: list[InputFile]) -> list[dict[str, Any]]:
    """Each input by content (cached by stat, so an unchanged corpus is not read again)."""
    return [{"path": str(f.path), "rel": f.rel, "size": f.path.stat().st_size,
             "fingerprint": file_fingerprint(f.path)} for f in files]


def _scoring_key(recipe: Recipe, inputs: list[dict[str, Any]], tasks: int, steps: list[str],
                 context: dict[str, Any], text_field: str, id_field: str | None) -> tuple[str, dict[str, Any]]:
    """Everything that decides the stored documents and signals, and its hash: a different key means the
    folder holds another run. Workers are not in it (more workers resume the same tasks)."""
    from curation.fingerprint import folder_fingerprint

    parts = {
        "inputs": [{"rel": i["rel"], "fingerprint": i["fingerprint"]} for i in inputs],
        "reader": {"text_field": text_field, "id_field": id_field, "reader_version": READER_VERSION},
        "tasks": tasks, "batch_size": recipe.batch_size,
        "signals": {k: _by_content(recipe.signals[k]) for k in steps},
        "against": [{"path": a, "fingerprint": folder_fingerprint(a)} for a in context.get("against", [])],
    }
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16], parts


def _by_content(value: Any) -> Any:
    """A signal setting with every existing file or folder it names replaced by its content fingerprint: a
    benchmark folder or word list is the same setting wherever it lies, and another one if edited."""
    from curation.fingerprint import fingerprint

    if isinstance(value, dict):
        return {k: _by_content(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_by_content(v) for v in value]
    # a value made of dots, slashes and tildes only (".", "/", "...") is punctuation a setting lists (stop
    # characters), never a file it names: hashing "." hashed the whole working folder, so any file written there
    # between a run and its resume made it "a different run"
    if isinstance(value, str) and ("/" in value or "." in value) and value.strip("./~") and len(value) < 4096:
        p = Path(value).expanduser()
        try:
            if p.exists():
                return "content:" + fingerprint(p)
        except OSError:
            pass
    return value


def _key_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What differs between the stored run's key parts and this command's, in words."""
    if not old:
        return "it was made by an older Winnow"
    diffs = []
    o_in = {i["rel"]: i.get("fingerprint") for i in old.get("inputs", [])}
    n_in = {i["rel"]: i.get("fingerprint") for i in new.get("inputs", [])}
    if set(o_in) != set(n_in):
        diffs.append(f"inputs ({', '.join(sorted(set(o_in) ^ set(n_in))[:3])} added or removed)")
    else:
        changed = [r for r in n_in if o_in[r] != n_in[r]]
        if changed:
            diffs.append(f"input content ({', '.join(changed[:3])} changed)")
    o_rd, n_rd = old.get("reader", {}), new.get("reader", {})
    for k in sorted(set(o_rd) | set(n_rd)):
        if o_rd.get(k) != n_rd.get(k):
            diffs.append(f"{k} ({o_rd.get(k)} -> {n_rd.get(k)})")
    for k, words in (("tasks", "number of tasks"), ("batch_size", "batch_size"), ("against", "--against runs")):
        if old.get(k) != new.get(k):
            diffs.append(f"{words} ({old.get(k)} -> {new.get(k)})")
    o_sig, n_sig = old.get("signals", {}), new.get("signals", {})
    if o_sig != n_sig:
        names = sorted(k for k in set(o_sig) | set(n_sig) if o_sig.get(k) != n_sig.get(k))
        diffs.append(f"signal settings ({', '.join(names)})")
    return "; ".join(diffs) or "its settings"


ARRAY_SAMPLE = 1000  # JSON array elements read to count (or estimate) a .json file's records


def _estimate_total(files: list[InputFile]) -> tuple[int | None, bool]:
    """Number of records when cheap to know (plain JSONL line counts, Parquet row counts, the elements of a
    JSON array of up to ARRAY_SAMPLE records or on one line), and whether it is exact. A longer pretty-printed
    array is not parsed here (the reader parses it): its count is estimated from the file's size and its first
    records' bytes."""
    import pyarrow.parquet as pq

    total, exact = 0, True
    for f in files:
        name = f.path.name.lower()
        if f.kind == "parquet":
            try:
                total += pq.ParquetFile(f.path).metadata.num_rows
            except Exception:  # noqa: BLE001 - the reader quarantines it
                pass
        elif f.kind == "jsonl" and not name.endswith(".gz"):
            head = json_array_head(f, ARRAY_SAMPLE)
            if head is None:  # JSON lines: a record a line
                with open(f.path, "rb") as fh:
                    total += sum(1 for line in fh if line.strip())
            elif head.count is not None or not head.records:
                # the whole array was decoded (complete, or on one line); a broken one is one quarantine entry
                total += max(1, head.count or 0)
            else:
                total += round(len(head.records) * f.path.stat().st_size / head.nbytes)
                exact = False
        else:
            return None, True
    return total, exact


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


@contextmanager
def _managers_die_with_us() -> Iterator[None]:
    """datatrove's local executor starts a `multiprocess` manager process; make the kernel stop it if this
    process is killed (SIGKILL leaves no chance to clean up), instead of leaving it running for ever."""
    import multiprocess
    from multiprocess.managers import SyncManager

    original = multiprocess.Manager

    def manager() -> SyncManager:
        m = SyncManager(ctx=multiprocess.get_context())
        m.start(initializer=set_parent_death_signal)
        return m

    multiprocess.Manager = manager
    try:
        yield
    finally:
        multiprocess.Manager = original


def _task_counts(run_dir: Path) -> dict[str, int]:
    done = 0
    for p in (run_dir / "state" / "tasks").glob("*.json"):
        try:
            c = json.loads(p.read_text())
            done += c["docs"] + c["quarantined"] + c.get("skipped", 0)
        except (json.JSONDecodeError, OSError, KeyError):
            continue
    return {"done": done}


def _run_scoring(executor: Any, run_dir: Path, tasks: int, total: int | None, exact: bool = True) -> None:
    """Run the executor in a thread while this thread draws one progress bar from the tasks' counters."""
    for p in (run_dir / "state" / "tasks").glob("*.error"):  # an earlier attempt's (killed, or a second
        p.unlink()                                           # failing task's): not this attempt's
    error: list[BaseException] = []

    def target() -> None:
        try:
            with _managers_die_with_us():
                executor.run()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(e)

    th = threading.Thread(target=target, name="winnow-executor", daemon=True)
    th.start()
    with Progress(run_dir, "score", total=total, unit="docs") as prog:
        if not exact:
            prog.message(f"the total ({total:,}) is an estimate from the size of a JSON array file")
        while th.is_alive():
            th.join(timeout=0.5)
            done = _task_counts(run_dir)["done"]
            if done > prog.done:
                prog.update(done - prog.done)
    for p in sorted((run_dir / "state" / "tasks").glob("*.error")):
        msg = p.read_text(encoding="utf-8")
        p.unlink()
        raise WinnowError(msg)
    if error:
        raise error[0]
    missing = [r for r in range(tasks) if not (run_dir / "logs" / "completions" / f"{r:05d}").exists()]
    if missing:
        raise WinnowError(f"scoring tasks {missing} did not complete; see {run_dir / 'logs'}")


def _parts_signature(parts: list[Path]) -> str:
    """Which per-batch parts a corpus step was finalized from: a rescored batch means finalize again."""
    h = hashlib.sha256()
    for p in parts:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _finalize(recipe: Recipe, steps: list[str], context: dict[str, Any], run_dir: Path) -> dict[str, float]:
    timings: dict[str, float] = {}
    for step in build_steps(recipe, steps, context):
        if not isinstance(step, CorpusStep):
            continue
        parts = part_files(run_dir, step.name)
        sig = _parts_signature(parts)
        marker = run_dir / "state" / "stages" / f"finalize_{step.name}"
        out = run_dir / "signals" / step.name
        try:
            if json.loads(marker.read_text()).get("parts") == sig and any(out.glob("*.parquet")):
                continue
        except (OSError, ValueError, AttributeError):
            pass
        t0 = time.perf_counter()
        faults.at("finalize.start")
        for stale in out.glob("*.parquet"):  # e.g. a Ray run's stage outputs (other names): never beside ours
            stale.unlink()
        with Progress(run_dir, f"finalize {step.name}", unit="docs") as prog:
            step.finalize(parts, out, prog)
        faults.at("finalize.after_step")
        timings[step.name] = time.perf_counter() - t0
        write_text_atomic(json.dumps({"seconds": timings[step.name], "parts": sig}), marker)
    return timings


def scoring_finished(run_dir: Path) -> str | None:
    """None when a run's scoring and finalize finished for its current key; otherwise what is missing."""
    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return "it is not a curation run"
    try:
        done = json.loads((run_dir / "state" / "scored.json").read_text())
    except (OSError, ValueError):
        if "key_parts" not in info and (run_dir / "manifest.json").is_file():
            return None  # a run made before completion was recorded, which did finish (it has a manifest)
        return "its scoring did not finish"
    if done.get("key") != info.get("key"):
        return "its scoring did not finish for the run's current settings"
    return None


def curate(inputs: list[str | Path], out_dir: str | Path, recipe: Recipe, *, executor: str = "local",
           workers: int = 1, tasks: int | None = None, against: list[str | Path] | None = None,
           workspace: str | Path | None = None, text_field: str = "text", id_field: str | None = None,
           overwrite: bool = False, command: list[str] | None = None,
           config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score `inputs` into `out_dir` with `recipe`, then mix; return the manifest.

    Everything is checked before any work: the output folder (never a file, never someone else's folder,
    never one holding an input), the text and id fields, the recipe's steps. The folder is locked while
    written; a rerun of the same command resumes; `overwrite` removes only what Winnow wrote there.
    """
    t_start = time.perf_counter()
    from curation.objstore import is_remote

    if any(is_remote(p) for p in [out_dir, *inputs, *(against or [])]):
        from curation.remote_run import curate_remote  # inputs, run folder or --against on an object store

        return curate_remote(inputs, out_dir, recipe, executor=executor, workers=workers, tasks=tasks,
                             against=against, workspace=workspace, text_field=text_field, id_field=id_field,
                             overwrite=overwrite, command=command, config=config)
    run_dir = Path(out_dir).absolute()
    unsupported: list[dict[str, str]] = []
    files = discover_inputs(inputs, unsupported)
    world = max(1, int(workers))
    # from the inputs' size unless given: ~128 MB a task, one per worker unless the input is small (executors.py)
    n_tasks = task_count([f.path.stat().st_size for f in files], world, tasks)
    ws = Path(workspace).absolute() if workspace else None
    against_dirs = [str(Path(a).absolute()) for a in (against or [])]
    for a in against_dirs:
        if not (source_dir(Path(a)) / "signals").is_dir():
            raise WinnowError(f"--against {a}: not a curation run folder (no signals/)")
    context = {"run_dir": str(run_dir), "workspace": str(ws) if ws else None,
               "models_dir": str(ws / "models") if ws else None,
               "benchmarks_dir": str(ws / "benchmarks") if ws else None, "against": against_dirs}
    read = [f.path for f in files] + [Path(p) for p in inputs]
    prepare_run_dir(run_dir, overwrite=False, inputs=read, create=False)
    check_fields(files, text_field, id_field)
    steps, skipped = plan_steps(recipe, context)  # its checks (a bad benchmark file) come before the folder is made
    prepare_run_dir(run_dir, overwrite=False, inputs=read)
    with RunLock(run_dir, "winnow curate"), stop_children_on_exit():
        if overwrite:
            clear_owned(run_dir)
        input_fps = _inputs_fingerprint(files)
        key, key_parts = _scoring_key(recipe, input_fps, n_tasks, steps, context, text_field, id_field)
        run_json = run_dir / "run.json"
        if run_json.exists():
            old = json.loads(run_json.read_text())
            if old.get("key") != key:
                what = _key_difference(old.get("key_parts", {}), key_parts)
                raise WinnowError(f"{run_dir} holds a different run (differs in {what}); use a new --out, or "
                                  "--overwrite to start again there")
        for name, why in skipped.items():
            print(f"note: skipping signal {name!r}: {why}")
        write_text_atomic(recipe.to_yaml(), run_dir / "recipe.yaml")
        info = {"key": key, "key_parts": key_parts, "inputs": input_fps, "world": world, "tasks": n_tasks,
                "executor": executor, "steps": steps, "skipped": skipped, "context": context,
                "text_field": text_field, "id_field": id_field,
                "command": list(command) if command is not None else None, "config": config,
                **skipped_files_record([], walked=unsupported)}
        write_text_atomic(json.dumps(info, indent=2), run_json)

        t0 = time.perf_counter()
        if (damaged := reopen_damaged_batches(run_dir, build_steps(recipe, steps, context))):
            print(f"note: {damaged} scored batches were damaged or missing; scoring them again")
        shard = ScoreShard(str(run_dir), files, recipe.model_dump_json(), steps, context, text_field,
                           id_field or "id")
        # the manifest's package versions (~0.2 s of metadata reads), read while this process waits on the
        # workers' server instead of after scoring
        threading.Thread(target=package_versions, name="winnow-versions", daemon=True).start()
        ex = make_executor(executor, [shard], tasks=n_tasks, workers=world, logging_dir=str(run_dir / "logs"),
                           preload=worker_preload(steps))
        _run_scoring(ex, run_dir, n_tasks, *_estimate_total(files))
        if executor == "local" and min(world, n_tasks) > 1:  # nothing forks from the server after scoring
            stop_worker_server()
        score_wall = time.perf_counter() - t0
        if executor == "ray":  # corpus-wide steps as stages on the cluster: the driver holds no signatures
            from curation.dedup.distributed import finalize_stages

            finalize_timings = finalize_stages(recipe, steps, context, str(run_dir), executor, n_tasks, world)
        else:
            finalize_timings = _finalize(recipe, steps, context, run_dir)
        write_text_atomic(json.dumps({"key": key, "at": time.time()}), run_dir / "state" / "scored.json")

        manifest = mix(run_dir, recipe, extra_timings={"score_wall": score_wall, "finalize": finalize_timings},
                       locked=True, command=command, config=config, started=t_start, executor=executor)
    if manifest["input"] == 0 or manifest["kept"] + manifest["removed"] == 0:
        print(f"warning: no documents were read from the input ({manifest['input']} records, "
              f"{manifest['quarantined']} quarantined, {manifest.get('skipped', 0)} skipped): the run is empty")
    return manifest
