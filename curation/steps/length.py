"""Basic size signals: characters, words, lines. Cheap, and the first thing a person filters on."""

from __future__ import annotations

import polars as pl

from curation.steps.base import SignalStep, register_step


@register_step
class LengthStep(SignalStep):
    """`n_chars`, `n_words` (whitespace-separated), `n_lines` (non-empty) and `mean_line_chars`."""

    name = "length"
    columns = ("n_chars", "n_words", "n_lines", "mean_line_chars")

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        t = pl.col("text")
        return batch.select(
            "id",
            n_chars=t.str.len_chars(),
            n_words=t.str.count_matches(r"\S+"),
            n_lines=t.str.count_matches(r"(?m)^.*\S.*$"),
        ).with_columns(mean_line_chars=(pl.col("n_chars") / pl.col("n_lines").clip(lower_bound=1)))
