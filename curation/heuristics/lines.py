"""Line and paragraph statistics with Polars, using each filter's own way of splitting a text.

datatrove splits lines three ways, and the differences change results:
* GopherQualityFilter and C4QualityFilter: `str.splitlines()` (\\n, \\r, \\r\\n, \\v, \\f, \\x1c-\\x1e, \\x85,
  \\u2028, \\u2029; no empty last line after a final break);
* GopherRepetitionFilter: paragraphs `re.split(r"\\n{2,}", text.strip())`, lines `re.split("\\n+", text)`
  (empty first/last pieces kept, and counted as duplicates of each other);
* FineWebQualityFilter: `text.split("\\n")` without blank lines.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curation.heuristics.chars import PY_WHITESPACE, SPLITLINES_RE, WS_NOT_NL

_GOLD = 0x9E3779B97F4A7C15


def exploded(texts: pl.Series, pieces: pl.Expr, name: str = "piece") -> pl.DataFrame:
    """One row per piece: `doc` (row of `texts`) and the piece, in text order."""
    return (pl.DataFrame({"text": texts}).with_row_index("doc")
            .select(pl.col("doc").cast(pl.Int64), pieces.alias(name)).explode(name))


def duplicate_stats(df: pl.DataFrame, n_docs: int, col: str = "piece") -> pl.DataFrame:
    """datatrove's `find_duplicates` per document: pieces, repeated pieces and their characters.

    A piece is a duplicate when an equal piece came earlier in the same document.
    """
    key = (pl.col(col).hash() ^ (pl.col("doc").cast(pl.UInt64) * pl.lit(_GOLD, pl.UInt64)))
    f = df.select("doc", dup=~key.is_first_distinct(), chars=pl.col(col).str.len_chars())
    doc = f["doc"].to_numpy()
    dup = f["dup"].to_numpy()
    chars = f["chars"].to_numpy().astype(np.float64)
    return pl.DataFrame({
        "doc": np.arange(n_docs, dtype=np.int64),
        "n": np.bincount(doc, minlength=n_docs).astype(np.int64),
        "dup": np.bincount(doc, weights=dup, minlength=n_docs).astype(np.int64),
        "dup_chars": np.bincount(doc, weights=chars * dup, minlength=n_docs).astype(np.int64),
        "chars": np.bincount(doc, weights=chars, minlength=n_docs).astype(np.int64),
    })


def gopher_paragraphs(texts: pl.Series) -> pl.DataFrame:
    """Paragraph duplicates as GopherRepetitionFilter sees them (`n` is at least 1, like `[""]`)."""
    pieces = pl.col("text").str.strip_chars(PY_WHITESPACE).str.extract_all(r"[^\n]+(?:\n[^\n]+)*")
    out = duplicate_stats(exploded(texts, pieces).drop_nulls("piece"), len(texts))
    return out.with_columns(n=pl.max_horizontal("n", pl.lit(1, pl.Int64)))


def gopher_lines(texts: pl.Series) -> pl.DataFrame:
    """Line duplicates as GopherRepetitionFilter sees them: `re.split("\\n+", text)`."""
    pieces = pl.col("text").str.replace_all(r"\n+", "\n").str.split("\n")
    return duplicate_stats(exploded(texts, pieces), len(texts))


def splitlines_stats(texts: pl.Series) -> pl.DataFrame:
    """`str.splitlines()` counts for GopherQualityFilter: lines, bullet lines, ellipsis lines."""
    t = pl.col("text")
    norm = t.str.replace_all(SPLITLINES_RE, "\n")
    breaks = t.str.count_matches(SPLITLINES_RE)
    ends_with_break = t.str.contains(f"(?:{SPLITLINES_RE})$")
    lines = breaks + pl.when((t.str.len_chars() > 0) & ~ends_with_break).then(1).otherwise(0)
    return pl.DataFrame({"text": texts}).select(
        lines=lines.cast(pl.Int64),
        bullet_lines=norm.str.count_matches(f"(?m)^{WS_NOT_NL}*[•\\-]").cast(pl.Int64),
        ellipsis_lines=norm.str.count_matches(f"(?m)(?:\\.\\.\\.|…){WS_NOT_NL}*$").cast(pl.Int64),
    )
