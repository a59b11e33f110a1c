"""`fineweb_quality`: the statistics behind datatrove's FineWebQualityFilter.

In datatrove's usual chain (Gopher repetition, Gopher quality, C4, FineWeb) the C4 filter REPLACES a
passing document's text with its kept lines, so FineWeb judges that shorter text. By default
(`text: c4_cleaned`) this step reproduces it: it applies C4's line rules (`c4`, same fields as the
`c4_quality` step; keep them equal) and measures the kept text. A document C4 drops is dropped by the
C4 rules anyway, so the chained keep/drop decision is reproduced exactly. `text: raw` measures the
original text (FineWeb on its own).

Columns: `empty` (no non-blank line), `lines`, `line_punct_ratio`, `short_line_ratio`, `char_dup_ratio`,
`list_ratio` (newlines per word).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from curation.steps.base import SignalStep, StepConfig, register_step
from curation.steps.c4_quality import C4QualityConfig


class FineWebQualityConfig(StepConfig):
    text: Literal["c4_cleaned", "raw"] = Field("c4_cleaned", description="measure C4's output text or the raw text")
    c4: C4QualityConfig = Field(default_factory=C4QualityConfig, description="C4 line rules for c4_cleaned")
    stop_chars: list[str] | None = Field(None, description="line-ending punctuation (default: datatrove's set)")
    short_line_length: int = Field(30, description="a line of at most this many characters is short")
    line_punct_exclude_zero: bool = Field(False, description="null line_punct_ratio when no line ends in punctuation")


@register_step
class FineWebQualityStep(SignalStep):
    name: ClassVar[str] = "fineweb_quality"
    columns = ("empty", "lines", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio")
    preload = ("curation.heuristics.signals",)
    Config: ClassVar[type[StepConfig]] = FineWebQualityConfig

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        from datatrove.utils.text import TERMINAL_PUNCTUATION

        from curation.heuristics.signals import analyse, fineweb_quality

        cfg = self.config
        assert isinstance(cfg, FineWebQualityConfig)
        stop = tuple(cfg.stop_chars) if cfg.stop_chars is not None else tuple(TERMINAL_PUNCTUATION)
        c4 = cfg.c4.params() if cfg.text == "c4_cleaned" else None
        stats = fineweb_quality(analyse(batch), stop, cfg.short_line_length, cfg.line_punct_exclude_zero, c4)
        return pl.concat([batch.select("id"), stats], how="horizontal")
