"""Quality signal: P(high quality) from a fastText classifier or Winnow's linear quality model.

The model is the recipe's (`model:`), else the workspace's (`<workspace>/models/quality.bin`, from `winnow
classifier train quality`), else the one Winnow ships (`curation/models/quality.npz`, a TF-IDF logistic
regression trained on human quality labels by `python -m curation.classifiers.quality_model`:
`curation/classifiers/quality_linear.py`), so a fresh install scores quality out of the box. A `.npz` model is
read as a linear quality model, anything else as fastText. A fastText model whose card (`<model>.json` beside
it) names `features: line_shapes+text` reads line-shape tokens before the words
(`curation/classifiers/line_shapes.py`), the way it was trained.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from curation.classifiers.step import FastTextSignalStep
from curation.steps.base import register_step


def shipped_quality_model() -> Path | None:
    p = Path(__file__).resolve().parents[1] / "models" / "quality.npz"
    return p if p.is_file() else None


def model_features(path: Path) -> str:
    """The `features` named by the model's card (`quality.json` or `quality.bin.json` beside it), else text."""
    for card in (path.with_suffix(".json"), path.with_name(path.name + ".json")):
        try:
            return str(json.loads(card.read_text(encoding="utf-8")).get("features") or "text")
        except (OSError, ValueError, AttributeError):
            continue
    return "text"


@register_step
class QualityClassifier(FastTextSignalStep):
    """`quality_prob`: probability that a document is high quality."""

    name = "quality_classifier"
    kind = "quality"
    column = "quality_prob"
    train_hint = "--positive GOOD.jsonl --negative WEB.jsonl"

    def model_path(self) -> Path:
        path = super().model_path()
        if self.config.model or path.is_file():  # type: ignore[attr-defined]
            return path
        shipped = shipped_quality_model()
        return shipped if shipped is not None else path

    def setup(self) -> None:
        path = self.model_path()
        if path.suffix == ".npz":
            from curation.classifiers.quality_linear import LinearQualityModel

            self._clf = LinearQualityModel.load(path)  # reads the line-shape tokens itself
            self._line_shapes = False
            return
        super().setup()
        self._line_shapes = model_features(path) == "line_shapes+text"

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        if getattr(self, "_clf", None) is None:
            self.setup()
        texts = batch.get_column("text")
        if self._line_shapes:
            from curation.classifiers.line_shapes import with_line_shapes

            texts = with_line_shapes(texts)
        prob: np.ndarray = self._clf.predict_proba(texts)
        return pl.DataFrame({"id": batch.get_column("id"), self.column: prob})
