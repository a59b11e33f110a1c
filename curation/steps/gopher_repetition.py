"""`gopher_repetition`: the statistics behind datatrove's GopherRepetitionFilter.

Columns: `empty`, `dup_para_frac`, `dup_para_char_frac`, `dup_line_frac`, `dup_line_char_frac`,
`top_{n}_gram_char_frac` for each n in `top_n_grams`, `dup_{n}_gram_char_frac` for each n in
`dup_n_grams`. Character fractions are over `len(text)`, as in datatrove.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl
from pydantic import Field

from curation.steps.base import SignalStep, StepConfig, register_step


class GopherRepetitionConfig(StepConfig):
    top_n_grams: list[int] = Field([2, 3, 4], description="n of the top n-gram character fractions")
    dup_n_grams: list[int] = Field([5, 6, 7, 8, 9, 10], description="n of the duplicated n-gram fractions")


@register_step
class GopherRepetitionStep(SignalStep):
    name: ClassVar[str] = "gopher_repetition"
    columns = ("empty", "dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac")
    preload = ("curation.heuristics.signals", "curation.heuristics.ngram_kernels_warm")  # numba: ~0.6 s a worker

    def output_columns(self) -> list[str] | None:
        c: GopherRepetitionConfig = self.config  # type: ignore[assignment]
        return [*self.columns, *(f"top_{n}_gram_char_frac" for n in c.top_n_grams),
                *(f"dup_{n}_gram_char_frac" for n in c.dup_n_grams)]

    Config: ClassVar[type[StepConfig]] = GopherRepetitionConfig

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        from curation.heuristics.signals import analyse, gopher_repetition

        cfg = self.config
        assert isinstance(cfg, GopherRepetitionConfig)
        stats = gopher_repetition(analyse(batch), cfg.top_n_grams, cfg.dup_n_grams)
        return pl.concat([batch.select("id"), stats], how="horizontal")
