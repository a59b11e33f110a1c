"""The typed reader of a training output folder (`winnow train sft|dpo --out OUT`).

OUT holds `metrics.jsonl` (one record per logging step: step, loss, learning_rate, eval_loss ...),
`progress.jsonl`, `manifest.json`, `loss.png` and the model. The trainer may still be writing: a torn
last line is skipped, never an error, so the app can follow a live run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from curation.progress import read_jsonl_records, read_progress

LOSS_SERIES = ("loss", "eval_loss")
LR_SERIES = ("learning_rate", "lr")
_NOT_SERIES = {"step", "epoch", "ts"}


class TrainingOutput:
    """Read what a training job wrote so far."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir)

    def metrics(self) -> list[dict[str, Any]]:
        return read_jsonl_records(self.path / "metrics.jsonl")

    def progress(self) -> dict[str, Any] | None:
        """The last progress record (stage, done, total, unit, msg), or None before the first."""
        recs = read_progress(self.path)
        return recs[-1] if recs else None

    def manifest(self) -> dict[str, Any] | None:
        p = self.path / "manifest.json"
        if not p.is_file():
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None  # still being written

    def loss_png(self) -> Path | None:
        p = self.path / "loss.png"
        return p if p.is_file() else None

    def series_names(self, recs: list[dict[str, Any]] | None = None) -> list[str]:
        recs = self.metrics() if recs is None else recs
        return sorted({k for r in recs for k, v in r.items()
                       if isinstance(v, int | float) and not isinstance(v, bool)} - _NOT_SERIES)

    def curves(self, names: list[str] | tuple[str, ...], recs: list[dict[str, Any]] | None = None,
               ) -> pl.DataFrame | None:
        """Long format (step, series, value), one row per logged value: a series logged only now and then
        (eval_loss) is a line through the points it has, never broken by the steps it lacks."""
        recs = self.metrics() if recs is None else recs
        return curves(recs, list(names))


def curves(recs: list[dict[str, Any]], names: list[str]) -> pl.DataFrame | None:
    rows = [{"step": float(r["step"]), "series": n, "value": float(r[n])} for r in recs
            if isinstance(r.get("step"), int | float) for n in names
            if isinstance(r.get(n), int | float) and not isinstance(r.get(n), bool)]
    if not rows:
        return None
    df = pl.DataFrame(rows, schema={"step": pl.Float64, "series": pl.String, "value": pl.Float64})
    # a step logged twice (resume) keeps its last value
    return df.group_by("series", "step", maintain_order=True).last().sort("series", "step")
