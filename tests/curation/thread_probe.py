"""A pipeline step that notes the size of the Polars thread pool in the process that runs it (executor tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datatrove.pipeline.base import PipelineStep


class PolarsThreads(PipelineStep):
    name = "polars threads"
    type = "test"

    def __init__(self, out: str) -> None:
        super().__init__()
        self.out = out

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> Any:
        import polars as pl

        Path(self.out, f"{rank}.txt").write_text(str(pl.thread_pool_size()))
        return iter(())
