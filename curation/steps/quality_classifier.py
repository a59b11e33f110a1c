"""Quality signal: P(high quality) from a fastText classifier trained the DCLM way (reference text vs web)."""

from __future__ import annotations

from curation.classifiers.step import FastTextSignalStep
from curation.steps.base import register_step


@register_step
class QualityClassifier(FastTextSignalStep):
    """`quality_prob`: probability that a document looks like the high-quality reference text."""

    name = "quality_classifier"
    kind = "quality"
    column = "quality_prob"
    train_hint = "--positive GOOD.jsonl --negative WEB.jsonl"
