"""Text normalisation shared by deduplication and the sample corpus labels.

Dedup words: NFKC, lowercase, every run of non-word characters becomes a space, split on whitespace.
The same rule is written as a Polars expression (`dedup_words_expr`) for the vectorised paths; both must
agree (tests/curation/test_text.py).
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

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
