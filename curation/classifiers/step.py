"""A signal step around a binary fastText model: one batched predict per batch, no per-document Python.

Quality and toxicity steps subclass `FastTextSignalStep`, naming their default model file in the
workspace's models folder, their output column and the `classifier train` kind that makes the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import Field

from curation.classifiers.fasttext_model import POSITIVE
from curation.steps.base import SignalStep, StepConfig


class FastTextStepConfig(StepConfig):
    model: str | None = Field(None, description="fastText .bin; default <workspace>/models/<kind>.bin")
    positive_label: str = Field(POSITIVE, description="label whose probability the step reports")


class FastTextSignalStep(SignalStep):
    Config: ClassVar[type[StepConfig]] = FastTextStepConfig
    kind: ClassVar[str]  # `winnow classifier train <kind>`
    column: ClassVar[str]
    train_hint: ClassVar[str]  # example arguments for the train command

    def model_path(self) -> Path:
        cfg: FastTextStepConfig = self.config  # type: ignore[assignment]
        if cfg.model:
            return Path(cfg.model).expanduser()
        base = self.context.get("models_dir") or Path("winnow-workspace") / "models"
        return Path(base) / f"{self.kind}.bin"

    def skip_reason(self) -> str | None:
        p = self.model_path()
        if not p.is_file():
            return (f"no {self.kind} model at {p}: train one with "
                    f"`winnow classifier train {self.kind} {self.train_hint} --out {p}`")
        return None

    def output_columns(self) -> list[str] | None:
        return [self.column]

    def setup(self) -> None:
        from curation.classifiers.fasttext_model import BinaryClassifier

        cfg: FastTextStepConfig = self.config  # type: ignore[assignment]
        self._clf = BinaryClassifier(self.model_path(), cfg.positive_label)

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        if getattr(self, "_clf", None) is None:
            self.setup()
        prob = self._clf.predict_proba(batch.get_column("text"))
        return pl.DataFrame({"id": batch.get_column("id"), self.column: prob})

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        p = self.model_path()
        if p.is_file():
            from curation.classifiers.fasttext_model import file_sha256

            d.update({"model": str(p), "sha256": file_sha256(p)})
        else:
            d.update({"model": str(p), "sha256": None})
        return d
