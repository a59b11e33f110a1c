"""Text normalisation shared by deduplication and the sample corpus labels.

Dedup words: NFKC, lowercase, every run of non-word characters becomes a space, split on whitespace.
The same rule is written as a Polars expression (`dedup_words_expr`) for the vectorised paths; both must
agree (tests/curation/test_text.py).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import polars as pl


def utf8_buffers(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes and int64 offsets of a string Series (null rows: empty), zero-copy where Arrow allows:
    what the kernels (MinHash signatures, exact-dedup keys, word counts, the search index) read."""
    import pyarrow as pa

    arr = texts.to_arrow(compat_level=pl.CompatLevel.oldest())  # large_string, not a string view
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    _, off_buf, data_buf = arr.buffers()
    offs = np.frombuffer(off_buf, dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    return data, offs

def word_counts(texts: pl.Series) -> pl.Series:
    """Whitespace-separated words of each text (the regex `\\S+`, Unicode whitespace), as UInt32: the
    manifest's word totals. A big batch counts with a kernel, ~6x faster than the regex, where the compiled
    kernels are built or numba's are loaded (a dedup worker); the numbers are the same (tests/curation/test_text.py)."""
    import sys

    from curation.dedup.signatures import NUMBA_FROM_DOCS, _kernels  # (here: signatures imports this module)
    from curation.imports import c_kernels

    if len(texts) >= NUMBA_FROM_DOCS and (c_kernels() is not None or "curation.dedup.kernels" in sys.modules):
        data, offs = utf8_buffers(texts)
        out = np.zeros(len(texts), dtype=np.uint32)
        _kernels().word_count_kernel(data, offs, out)
        return pl.Series(texts.name, out, dtype=pl.UInt32)
    return texts.str.count_matches(r"\S+").cast(pl.UInt32)


_NON_WORD = re.compile(r"[^\w]+")


def dedup_words(text: str) -> list[str]:
    """Words used for exact and near-duplicate detection."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).split()


def dedup_words_expr(col: str = "text") -> pl.Expr:
    """Polars twin of `dedup_words` (no NFKC: callers normalise once beforehand when they need it)."""
    return (pl.col(col).str.to_lowercase().str.replace_all(r"[^\w]+", " ").str.strip_chars()
            .str.split(" "))


def word_ngrams(words: list[str], n: int = 5) -> set[str]:
    """Word n-grams joined by spaces; a text shorter than n words yields one n-gram of all its words."""
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def ngram_jaccard(a: str, b: str, n: int = 5) -> float:
    """Jaccard similarity of the word n-gram sets of two texts (the ground truth for near-duplicates)."""
    sa, sb = word_ngrams(dedup_words(a), n), word_ngrams(dedup_words(b), n)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)
