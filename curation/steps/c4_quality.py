"""`c4_quality`: the statistics behind datatrove's C4QualityFilter (split on lines, as C4 does).

Columns: `lines`, `kept_lines` (lines C4 keeps), `sentences` (spaCy sentences in the kept lines: the
min-sentences rule as datatrove counts), `sentences_paper` (the same count when lines ending in a closing
curly quote are kept too, as the C4 paper's "end quotation mark" does), `lorem_ipsum` and `curly_bracket`
(a line that survived the line rules holds "lorem ipsum" / "{": C4 drops the whole document), and
per-reason counts of removed lines
(`javascript_lines`, `policy_lines`, `no_terminal_punct_lines`, `few_words_lines`, `long_word_lines`).
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl
from pydantic import Field

from curation.steps.base import SignalStep, StepConfig, register_step


class C4QualityConfig(StepConfig):
    """C4's line rules (datatrove's defaults); they decide which lines count, so they shape the statistics."""

    remove_citations: bool = Field(True, description="remove [1], [edit], [citation needed] before checks")
    filter_no_terminal_punct: bool = Field(True, description="drop lines not ending in . ? ! \" '")
    min_words_per_line: int = Field(3, description="drop lines with fewer words (-1: off)")
    max_word_length: int = Field(1000, description="drop lines with a longer word (-1: off)")
    filter_lorem_ipsum: bool = Field(True, description="flag documents with 'lorem ipsum'")
    filter_javascript: bool = Field(True, description="drop lines mentioning javascript")
    filter_curly_bracket: bool = Field(True, description="flag documents with '{'")
    filter_policy: bool = Field(True, description="drop lines with cookie / terms-of-use phrases")

    def params(self):  # -> C4Params (imported lazily)
        from curation.heuristics.c4 import C4Params

        return C4Params(**self.model_dump())


@register_step
class C4QualityStep(SignalStep):
    name: ClassVar[str] = "c4_quality"
    Config: ClassVar[type[StepConfig]] = C4QualityConfig
    columns: ClassVar[tuple[str, ...]] = (
        "lines", "kept_lines", "lorem_ipsum", "curly_bracket", "sentences", "sentences_paper", "javascript_lines",
        "policy_lines", "no_terminal_punct_lines", "few_words_lines", "long_word_lines")
    preload = ("curation.heuristics.signals",)

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        from curation.heuristics.signals import analyse, c4_quality

        cfg = self.config
        assert isinstance(cfg, C4QualityConfig)
        return pl.concat([batch.select("id"), c4_quality(analyse(batch), cfg.params())], how="horizontal")
