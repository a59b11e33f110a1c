"""The search index built as one task on the run's executor instead of in `mix`'s process.

On Ray the driver then holds none of the index's memory (~2 GB at 1M documents: every block key of the corpus
is sorted at once in `IndexBuilder.finish`), which is what keeps the driver's peak under 1 GB there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datatrove.pipeline.base import PipelineStep


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
              what="search index")
    return json.loads((out / "index.json").read_text(encoding="utf-8"))
