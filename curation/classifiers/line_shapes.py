"""Line-shape tokens: what a page's layout looks like, in words fastText can weigh beside the page's own words.

Low-quality web pages (navigation, product grids, lists of headlines) differ from prose less in their words
than in their lines: many short lines that do not end a sentence. A bag of words cannot see that, so the
quality model reads, before the text, one token per non-empty line, `_l<b><p|n>_` (b = floor(log2(words in
the line)), capped at 6; p = the line ends like a sentence, n = it does not), and a document-length token
`_w<floor(log2(words))>_` twice. Computed column-wise with Polars (one explode, one group-by per batch).
"""

from __future__ import annotations

import polars as pl

FEATURES = "line_shapes+text"  # the `features` a model card names when the model reads these tokens
SENTENCE_END = r"[.!?\"'”’)]$"


def with_line_shapes(texts: pl.Series) -> pl.Series:
    """Each text preceded by its line-shape tokens (same length and order as `texts`)."""
    text = texts.cast(pl.String).fill_null("")
    df = pl.DataFrame({"text": text}).with_row_index("i")
    lines = (df.select("i", pl.col("text").str.split("\n").alias("line")).explode("line")
             .with_columns(pl.col("line").str.strip_chars())
             .filter(pl.col("line").str.len_chars() > 0))
    lines = lines.with_columns(pl.col("line").str.count_matches(r"\S+").alias("words"))
    bucket = pl.col("words").clip(1).cast(pl.Float64).log(2).floor().clip(0, 6).cast(pl.Int32)
    end = pl.when(pl.col("line").str.contains(SENTENCE_END)).then(pl.lit("p")).otherwise(pl.lit("n"))
    # a document's words are its lines' words (`\S+` never spans a newline): no second regex pass over the text
    shapes = lines.group_by("i", maintain_order=True).agg(
        pl.format("_l{}{}_", bucket, end).str.join(" ").alias("shapes"), pl.col("words").sum().alias("doc_words"))
    doc_words = pl.col("doc_words").fill_null(0).clip(1).cast(pl.Float64).log(2).floor().cast(pl.Int32)
    out = (df.join(shapes, on="i", how="left")
           .sort("i")
           .select(pl.format("_w{}_ _w{}_ {} {}", doc_words, doc_words, pl.col("shapes").fill_null(""),
                             pl.col("text")).alias(texts.name)))
    return out.to_series()
