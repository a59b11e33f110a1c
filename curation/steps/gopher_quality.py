"""`gopher_quality`: the statistics behind datatrove's GopherQualityFilter (thresholds live in the recipe).

Columns: `words` (datatrove's spaCy words), `non_symbol_words` (words with a non-punctuation character:
the count the min/max word rules use), `avg_word_length` (over non-symbol words), `hash_ratio` and
`ellipsis_ratio` ("#" and "..."/"…" per word), `bullet_lines_ratio`, `ellipsis_lines_ratio` (over
`str.splitlines()` lines), `alpha_words_ratio` (words with a letter), `alpha_words_ratio_paper` (the
Gopher paper's definition: whitespace-separated words with a letter; datatrove's spaCy words count every
comma and full stop as a non-alpha word, so normal prose scores ~0.8 there and ~0.95 here) and
`stop_words` (how many of the stop words occur).
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from curation.steps.base import SignalStep, StepConfig, register_step


class GopherQualityConfig(StepConfig):
    """No parameters change these statistics (datatrove's default English stop words are used)."""


@register_step
class GopherQualityStep(SignalStep):
    name: ClassVar[str] = "gopher_quality"
    Config: ClassVar[type[StepConfig]] = GopherQualityConfig
    columns: ClassVar[tuple[str, ...]] = (
        "words", "non_symbol_words", "avg_word_length", "hash_ratio", "ellipsis_ratio", "bullet_lines_ratio",
        "ellipsis_lines_ratio", "alpha_words_ratio", "alpha_words_ratio_paper", "stop_words")
    preload = ("curation.heuristics.signals",)

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        from curation.heuristics.signals import analyse, gopher_quality

        return pl.concat([batch.select("id"), gopher_quality(analyse(batch))], how="horizontal")
