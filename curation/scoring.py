"""The per-task scoring step that datatrove's executors run: read a share of the input, score it in
batches with every signal step of the recipe, and store documents, signals and quarantine entries.

A batch is complete when its marker `state/batches/<rank>_<batch>` exists; markers are written last, so a
rerun after a kill skips finished batches and redoes only the one in flight (its partial files are
overwritten atomically).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
from datatrove.pipeline.base import PipelineStep

import curation.datatrove_logs  # noqa: F401 - keeps datatrove logs in files, also in workers
from curation import faults
from curation.errors import WinnowError
from curation.processes import parent_gone, watch_driver, watch_parent
from curation.reader import Doc, InputFile, Quarantined, Skipped, iter_records
from curation.recipe import Recipe
from curation.steps import CorpusStep, SignalStep, get_step
from curation.store import batch_name, write_parquet_atomic, write_text_atomic
from curation.text import word_counts


def build_steps(recipe: Recipe, names: list[str], context: dict[str, Any]) -> list[SignalStep]:
    steps = []
    for name in names:
        cls = get_step(name)
        steps.append(cls(recipe.step_config(name), context=context))
    return steps


def _batches(records: Iterator[Doc | Quarantined | Skipped], size: int
             ) -> Iterator[tuple[list[Doc], list[Quarantined | Skipped]]]:
    docs: list[Doc] = []
    quar: list[Quarantined | Skipped] = []
    for rec in records:
        if isinstance(rec, Doc):
            docs.append(rec)
            if len(docs) >= size:
                yield docs, quar
                docs, quar = [], []
        else:
            quar.append(rec)
    if docs or quar:
        yield docs, quar


def _check_rule_columns(recipe: Recipe, step: str, columns: list[str]) -> None:
    """On a task's first batch: a rule reading a column its step does not write stops the run now, not after
    all scoring (for steps that do not declare their columns, which the recipe checks when it loads)."""
    for c in sorted(recipe.rule_columns().get(step, set())):
        if c not in columns:
            rule = next(r.name for r in recipe.rules if r.signal == step and c in
                        (r.column, r.value_column, r.detail_column, r.kept_id_column))
            raise WinnowError(f"rule {rule!r}: signal {step!r} has no column {c!r} (its columns: "
                              f"{', '.join(x for x in columns if x not in ('id', 'order'))})")


def batch_intact(run: Path, name: str, steps: list[SignalStep]) -> bool:
    """A finished batch's files are all there and readable (a deleted or truncated one is scored again)."""
    import pyarrow.parquet as pq

    paths = [run / "docs" / f"{name}.parquet"] + [
        run / "signals" / (f"{s.name}.parts" if isinstance(s, CorpusStep) else s.name) / f"{name}.parquet"
        for s in steps]
    try:
        rows = {pq.read_metadata(p).num_rows for p in paths}
    except Exception:  # noqa: BLE001 - missing, truncated or not Parquet
        return False
    return len(rows) == 1 and (run / "quarantine" / f"{name}.jsonl").is_file()


def reopen_damaged_batches(run: Path, steps: list[SignalStep]) -> int:
    """Before a resume: a finished batch whose files are damaged loses its marker, and its task loses its
    completion record, so the executor runs that task again and the task scores the batch again."""
    n = 0
    for marker in sorted((run / "state" / "batches").glob("*")):
        if marker.name.startswith(".") or batch_intact(run, marker.name, steps):
            continue
        marker.unlink()
        (run / "logs" / "completions" / marker.name.split("_")[0]).unlink(missing_ok=True)
        n += 1
    return n


DOC_SCHEMA = {"id": pl.Utf8, "text": pl.Utf8, "order": pl.Int64, "source": pl.Utf8, "metadata": pl.Utf8}


class ScoreShard(PipelineStep):
    """datatrove step: everything one task does in the scoring stage."""

    name = "winnow score"
    type = "scorer"

    def __init__(self, run_dir: str, files: list[InputFile], recipe_json: str, step_names: list[str],
                 context: dict[str, Any], text_field: str = "text", id_field: str = "id") -> None:
        super().__init__()
        self.run_dir = run_dir
        self.files = files
        self.recipe_json = recipe_json
        self.step_names = step_names
        self.context = context
        self.text_field = text_field
        self.id_field = id_field
        self.driver_pid = os.getpid()  # a task running in another process of this machine watches this one
        self.driver_host = socket.gethostname()
        self.on_batch: Callable[[str], None] | None = None  # called with a batch's name once its marker is written

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
        try:
            return self._run(rank, world_size)
        except WinnowError as e:  # a user error: the command that started this task prints it
            write_text_atomic(str(e), Path(self.run_dir) / "state" / "tasks" / f"{rank:05d}.error")
            raise

    def _run(self, rank: int, world_size: int) -> Iterator[Any]:
        run = Path(self.run_dir)
        if os.getpid() != self.driver_pid and socket.gethostname() == self.driver_host:
            # a worker process: die with the command that started it, never orphaned (on Ray, Ray does it)
            watch_parent()
            watch_driver(self.driver_pid)
        recipe = Recipe.model_validate_json(self.recipe_json)
        steps = build_steps(recipe, self.step_names, self.context)
        for s in steps:
            s.setup()
        state = run / "state"
        timings: dict[str, float] = {s.name: 0.0 for s in steps}
        counts = {"docs": 0, "quarantined": 0, "skipped": 0, "batches": 0, "skipped_batches": 0,
                  "rescored_batches": 0}
        records = iter_records(self.files, rank, world_size, self.text_field, self.id_field)
        for b, (docs, quar) in enumerate(_batches(records, recipe.batch_size)):
            if parent_gone():
                raise SystemExit(f"task {rank}: the curate command that started it is gone; stopping")
            name = batch_name(rank, b)
            n_skipped = sum(isinstance(q, Skipped) for q in quar)
            counts["docs"] += len(docs)
            counts["quarantined"] += len(quar) - n_skipped
            counts["skipped"] += n_skipped
            marker = state / "batches" / name
            faults.at("score.batch_start")
            if marker.exists() and batch_intact(run, name, steps):
                counts["skipped_batches"] += 1
            else:
                if marker.exists():
                    counts["rescored_batches"] += 1
                    marker.unlink()
                self._score_batch(run, name, docs, quar, steps, timings, recipe if b == 0 else None)
                faults.at("score.after_signals")
                write_text_atomic("", marker)
                faults.at("score.after_marker")
                if self.on_batch is not None:
                    self.on_batch(name)
            counts["batches"] += 1
            self.stat_update("documents", value=len(docs))
            self.stat_update("quarantined", value=len(quar) - n_skipped)
            write_text_atomic(json.dumps({**counts, "done": False}), state / "tasks" / f"{rank:05d}.json")
        write_text_atomic(json.dumps({**counts, "done": True, "timings": timings}),
                          state / "tasks" / f"{rank:05d}.json")
        return iter(())

    def _score_batch(self, run: Path, name: str, docs: list[Doc], quar: list[Quarantined | Skipped],
                     steps: list[SignalStep], timings: dict[str, float], check: Recipe | None = None) -> None:
        df = pl.DataFrame({"id": [d.id for d in docs], "text": [d.text for d in docs],
                           "order": [d.order for d in docs], "source": [d.source for d in docs],
                           "metadata": [d.metadata for d in docs]}, schema=DOC_SCHEMA)
        # sizes for the manifest, computed here where the text is in memory, so mix never scans the text
        sized = df.with_columns(n_chars=pl.col("text").str.len_chars(), n_words=word_counts(df["text"]))
        write_parquet_atomic(sized, run / "docs" / f"{name}.parquet")
        batch = df.select("id", "text", "order")
        for step in steps:
            t0 = time.process_time()  # CPU of this worker process (the manifest's steps_cpu), not wall time
            out = step.score(batch)
            timings[step.name] += time.process_time() - t0
            if out.height != batch.height or (out.height and not out["id"].equals(batch["id"])):
                raise RuntimeError(f"signal step {step.name!r} returned {out.height} rows for {batch.height} "
                                   "documents (or changed their order)")
            folder = f"{step.name}.parts" if isinstance(step, CorpusStep) else step.name
            if check is not None and not isinstance(step, CorpusStep):
                _check_rule_columns(check, step.name, out.columns)
            if "order" not in out.columns:  # the row key: ids may repeat, input positions never do
                out = out.with_columns(order=batch["order"])
            write_parquet_atomic(out, run / "signals" / folder / f"{name}.parquet")
        lines = "".join(json.dumps({"file": q.file, "line": q.line, "reason": q.reason}
                                   | ({"skipped": True} if isinstance(q, Skipped) else {})) + "\n" for q in quar)
        write_text_atomic(lines, run / "quarantine" / f"{name}.jsonl")
