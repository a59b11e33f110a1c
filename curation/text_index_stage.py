"""The search index built as one task on the run's executor instead of in `mix`'s process.

On Ray the driver then holds none of the index's memory (~2 GB at 1M documents: every block key of the corpus
is sorted at once in `IndexBuilder.finish`), which is what keeps the driver's peak under 1 GB there.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datatrove.pipeline.base import PipelineStep

INDEX_MEMORY_GB = 3  # what the task asks of the scheduler: the build peaked at ~2 GB at 1M documents


class SearchIndexStage(PipelineStep):
    """One task: `build_index` of the run's docs files into `out` (built beside it and moved in whole)."""

    name = "search index"
    type = "index"

    def __init__(self, run: str, out: str) -> None:
        super().__init__()
        self.run_dir = run
        self.out = out

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
        from curation.text_index import build_index

        build_index(Path(self.run_dir), Path(self.out))
        return iter(())


def build_index_on(executor: str, run: Path, out: Path, logging_dir: Path) -> dict[str, Any]:
    """Build `run`'s search index into `out` as a task on `executor`; its metadata (`index.json`), as
    `IndexBuilder.finish` returns it. A local path must be one every node sees, as for the run's other stages."""
    from curation.executors import run_stage

    run_stage(executor, [SearchIndexStage(str(run), str(out))], tasks=1, workers=1, logging_dir=str(logging_dir),
              what="search index", mem_per_cpu_gb=INDEX_MEMORY_GB)
    return json.loads((out / "index.json").read_text(encoding="utf-8"))


class IndexTask:
    """`mix`'s index build on the executor, running while mix writes the kept documents.

    It builds into `<out>/.index-<pid>-<token>` (not mix's temporary folder, which a failed mix removes at once;
    a name of its own, so a failed mix's task still running in a long-lived process never writes into the next
    one's) and logs to `<out>/logs/search_index/<token>`. Its thread is a daemon: a mix that fails does not wait
    minutes for the index (on Ray the task dies with the command); the next mix removes the folder it leaves."""

    def __init__(self, executor: str, run: Path, out: Path) -> None:
        token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dir = Path(out) / f".index-{token}"
        shutil.rmtree(Path(out) / "logs" / "search_index", ignore_errors=True)  # earlier mixes' index logs
        self.logs = Path(out) / "logs" / "search_index" / token
        self._outcome: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._build, args=(executor, Path(run)), name="winnow-index",
                                        daemon=True)
        self._thread.start()

    def _build(self, executor: str, run: Path) -> None:
        try:
            self._outcome["meta"] = build_index_on(executor, run, self.dir / "search", self.logs)
        except BaseException as e:  # noqa: BLE001 - raised in the caller's thread by `finish`
            self._outcome["error"] = e

    def finish(self, dest: Path) -> dict[str, Any]:
        """Wait for the index, move it to `dest` and return its metadata (or raise the task's error)."""
        self._thread.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        os.replace(self.dir / "search", dest)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self._outcome["meta"]
