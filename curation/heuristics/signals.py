"""The statistics behind datatrove's four heuristic filters, computed for a whole batch.

One `Analysis` per batch holds what the filters share (words, n-gram hashes, C4's line outcome), so the
four steps that a pipeline scores one after another on the same batch tokenize it once.
Every ratio is the same float64 division datatrove does; a ratio whose denominator is zero is null
(datatrove would have dropped the document earlier or raised ZeroDivisionError).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from curation.heuristics.c4 import C4Lines, C4Params, c4_lines, kept_text
from curation.heuristics.chars import PY_WHITESPACE
from curation.heuristics.lines import duplicate_stats, exploded, gopher_lines, gopher_paragraphs, splitlines_stats
from curation.heuristics.ngrams import NgramIndex
from curation.heuristics.words import Tokens, WordCache, word_cache


def _ratio(num: np.ndarray | pl.Series, den: np.ndarray | pl.Series) -> pl.Series:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den
    return pl.Series(r, dtype=pl.Float64).fill_nan(None)


def _nullify(s: pl.Series, bad: np.ndarray) -> pl.Series:
    return pl.Series(s.name, np.where(bad, np.nan, s.to_numpy())).fill_nan(None)


@dataclass
class Analysis:
    """Lazily computed, shared per-batch results."""

    texts: pl.Series
    cache: WordCache = field(default_factory=word_cache)
    _tokens: Tokens | None = None
    _ngrams: NgramIndex | None = None
    _c4: dict[C4Params, C4Lines] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.texts)

    @property
    def tokens(self) -> Tokens:
        if self._tokens is None:
            self._tokens = self.cache.tokenize(self.texts)
        return self._tokens

    @property
    def ngrams(self) -> NgramIndex:
        if self._ngrams is None:
            self._ngrams = NgramIndex(self.tokens, self.cache)
        return self._ngrams

    def c4(self, params: C4Params) -> C4Lines:
        if params not in self._c4:
            self._c4[params] = c4_lines(self.texts, self.tokens, self.cache, params)
        return self._c4[params]

    def words_per_doc(self) -> np.ndarray:
        return np.diff(self.tokens.doc_start)


_LAST: tuple[Any, Analysis] | None = None


def analyse(batch: pl.DataFrame) -> Analysis:
    """The batch's `Analysis`, reused when the same frame object is scored again by another step."""
    global _LAST
    if _LAST is not None and _LAST[0] is batch:
        return _LAST[1]
    a = Analysis(texts=batch["text"].cast(pl.String).fill_null(""))
    _LAST = (batch, a)
    return a


# ---------------------------------------------------------------------------------------- Gopher quality
STOP_WORDS = WordCache.STOP_WORDS


def paper_alpha_words(tk: Tokens, c: WordCache, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(words with a letter, words) per document, words as the Gopher paper counts them: whitespace-separated
    chunks (`str.split()`). A chunk holds a letter iff one of its spaCy words does (they cover it)."""
    counts = tk.chunk_tokens
    if counts is None or not len(counts):
        return np.zeros(n), np.zeros(n)
    chunk_doc = tk.line_doc[tk.chunk_line]
    alpha_tok = c.p_alpha[tk.tok].astype(np.int64)
    starts = np.cumsum(counts) - counts
    has = np.zeros(len(counts), dtype=np.int64)
    nz = counts > 0
    if alpha_tok.size:
        has[nz] = np.add.reduceat(alpha_tok, starts[nz]) > 0
    return (np.bincount(chunk_doc, weights=has, minlength=n), np.bincount(chunk_doc, minlength=n).astype(np.float64))


def gopher_quality(a: Analysis) -> pl.DataFrame:
    """GopherQualityFilter's statistics (default stop words: the, be, to, of, and, that, have, with)."""
    tk, c = a.tokens, a.cache
    n = a.n
    words = np.diff(tk.doc_start)
    nonsym = c.p_nonsym[tk.tok]
    n_nonsym = np.bincount(tk.doc, weights=nonsym, minlength=n)
    len_nonsym = np.bincount(tk.doc, weights=c.p_len[tk.tok] * nonsym, minlength=n)
    alpha = np.bincount(tk.doc, weights=c.p_alpha[tk.tok], minlength=n)
    stop = c.p_stop[tk.tok]
    bits = np.zeros(n, dtype=np.int64)
    has = stop >= 0
    if has.any():
        np.bitwise_or.at(bits, tk.doc[has], (1 << stop[has].astype(np.int64)))
    n_stop = np.zeros(n, dtype=np.int64)
    for b in range(len(STOP_WORDS)):
        n_stop += (bits >> b) & 1
    t = a.texts
    frame = pl.DataFrame({"text": t})
    sym = frame.select(hash=pl.col("text").str.count_matches("#", literal=True),
                       ell=pl.col("text").str.count_matches("...", literal=True)
                       + pl.col("text").str.count_matches("…", literal=True))
    ls = splitlines_stats(t)
    return pl.DataFrame({
        "words": words.astype(np.int64),
        "non_symbol_words": n_nonsym.astype(np.int64),
        "avg_word_length": _ratio(len_nonsym, n_nonsym),
        "hash_ratio": _ratio(sym["hash"].to_numpy(), words),
        "ellipsis_ratio": _ratio(sym["ell"].to_numpy(), words),
        "bullet_lines_ratio": _ratio(ls["bullet_lines"].to_numpy(), ls["lines"].to_numpy()),
        "ellipsis_lines_ratio": _ratio(ls["ellipsis_lines"].to_numpy(), ls["lines"].to_numpy()),
        "alpha_words_ratio": _ratio(alpha, words),
        "alpha_words_ratio_paper": _ratio(*paper_alpha_words(tk, c, n)),
        "stop_words": n_stop,
    })


# ------------------------------------------------------------------------------------- Gopher repetition
def gopher_repetition(a: Analysis, top_n: list[int], dup_n: list[int]) -> pl.DataFrame:
    """GopherRepetitionFilter's statistics; fractions of characters are over len(text)."""
    t = a.texts
    chars = t.str.len_chars().cast(pl.Int64).to_numpy()
    paras = gopher_paragraphs(t)
    lns = gopher_lines(t)
    cols: dict[str, Any] = {
        "empty": chars == 0,
        "dup_para_frac": _ratio(paras["dup"].to_numpy(), paras["n"].to_numpy()),
        "dup_para_char_frac": _ratio(paras["dup_chars"].to_numpy(), chars),
        "dup_line_frac": _ratio(lns["dup"].to_numpy(), lns["n"].to_numpy()),
        "dup_line_char_frac": _ratio(lns["dup_chars"].to_numpy(), chars),
    }
    ng = a.ngrams
    for n in top_n:
        cols[f"top_{n}_gram_char_frac"] = _ratio(ng.top_ngram_chars(n), chars)
    for n in dup_n:
        cols[f"dup_{n}_gram_char_frac"] = _ratio(ng.dup_ngram_chars(n), chars)
    return pl.DataFrame(cols)


# ---------------------------------------------------------------------------------------------- C4
def c4_quality(a: Analysis, params: C4Params) -> pl.DataFrame:
    """C4QualityFilter's statistics: document-level flags and the kept lines' sentence count."""
    return a.c4(params).docs.drop("doc")


# ------------------------------------------------------------------------------------------ FineWeb
def _end_regex(stop_chars: tuple[str, ...]) -> str:
    alts = sorted({"".join(f"\\x{{{ord(ch):x}}}" for ch in s) for s in stop_chars if s}, key=len, reverse=True)
    return "(?:" + "|".join(alts) + ")$" if alts else "$^"


def fineweb_stats(texts: pl.Series, words: np.ndarray, stop_chars: tuple[str, ...], short_line_length: int,
                  exclude_zero: bool) -> pl.DataFrame:
    """FineWebQualityFilter's statistics of `texts` whose word counts are `words`."""
    n = len(texts)
    pieces = pl.col("text").str.split("\n")
    df = exploded(texts, pieces, "line").filter(pl.col("line").str.strip_chars(PY_WHITESPACE) != "")
    # "" in stop_chars would make every line end with punctuation (str.endswith(""))
    end = pl.lit(True) if "" in stop_chars else pl.col("line").str.contains(_end_regex(stop_chars))
    flags = df.select("doc", p=end, s=pl.col("line").str.len_chars() <= short_line_length)
    doc = flags["doc"].to_numpy()
    n_punct = np.bincount(doc, weights=flags["p"].to_numpy(), minlength=n)
    n_short = np.bincount(doc, weights=flags["s"].to_numpy(), minlength=n)
    dup = duplicate_stats(df.rename({"line": "piece"}), n)
    lines = dup["n"].to_numpy()
    nl = texts.str.count_matches("\n", literal=True).cast(pl.Int64).to_numpy()
    chars_no_nl = texts.str.len_chars().cast(pl.Int64).to_numpy() - nl
    empty = lines == 0
    punct = _ratio(n_punct, lines)
    if exclude_zero:
        punct = _nullify(punct, n_punct == 0)
    return pl.DataFrame({
        "empty": empty,
        "lines": lines.astype(np.int64),
        "line_punct_ratio": punct,
        "short_line_ratio": _ratio(n_short, lines),
        "char_dup_ratio": _nullify(_ratio(dup["dup_chars"].to_numpy(), chars_no_nl), empty),
        "list_ratio": _nullify(_ratio(nl, words), empty),
    })


def fineweb_quality(a: Analysis, stop_chars: tuple[str, ...], short_line_length: int, exclude_zero: bool,
                    c4: C4Params | None) -> pl.DataFrame:
    """FineWeb statistics of the raw text (`c4=None`) or of the text C4's line filter passes on."""
    if c4 is None:
        return fineweb_stats(a.texts, a.words_per_doc(), stop_chars, short_line_length, exclude_zero)
    lines = a.c4(c4)
    kl = lines.lines.filter(pl.col("kept"))
    words = np.bincount(kl["doc"].to_numpy(), weights=kl["n_tokens"].to_numpy(), minlength=a.n).astype(np.int64)
    return fineweb_stats(kept_text(lines, a.n), words, stop_chars, short_line_length, exclude_zero)
