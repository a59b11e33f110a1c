"""Finding benchmark items in documents, in the layouts pages use, vectorised where the data is large.

* Words: the dedup normalisation (`curation.text.dedup_words_expr`: lowercase, runs of non-word characters
  are spaces), so "Paris," and "paris" are the same word, and option letters ("A)", "(b)", "C.") are
  words of their own that never join an option's words.
* Word hashes: Polars' `hash(seed=...)` (64-bit, fixed seeds: the same in every process and worker of a
  Polars version; the index is built in the same run that matches against it, never stored).
* n-gram hash: a polynomial over the word hashes, `h = h * P + w` (mod 2^64), built for k = 1..n in n
  vectorised passes over the batch's concatenated words, then finalised with splitmix64 together with k
  so n-grams of different lengths never share a key. A window that crosses two documents is dropped.

Matching has two stages. (1) Every document's word windows are hashed and joined (one Polars hash join)
against the items' QUESTION n-grams: an item's n-grams when its question has at least n words, else its
whole question as one window (questions under `MIN_QUESTION_WORDS` words are not indexed). (2) Only for
the rare (document, item) pairs found, the words right after the question are checked for the item's
options (every option's words, in any order, with any lettering between them) and for its answer. The
layout reported is the most specific one found:

* `question+options`: the question, then all of its options (at least two);
* `question+answer`: the question, then its correct answer within a few words ("Answer: Paris");
* `question`: the question alone, which counts only for questions of `min_item_words` words or more:
  a shorter question ("Which is a mammal?") is too common to call a page contaminated by itself.

`BenchmarkIndex.match(texts)` returns one row per matched (document, item): `shared` (distinct question
n-grams found), `overlap` (their fraction of the question's) and `layout`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from curation.decontam.benchmarks import Item
from curation.text import dedup_words_expr

_P = np.uint64(0x100000001B3)
_K = np.uint64(0x9E3779B97F4A7C15)
_SEED = 0x5EED
MIN_QUESTION_WORDS = 3
ANSWER_SLACK = 8  # words allowed between a question and its answer ("the correct answer is option b")
OPTION_SLACK = 4  # per option: its letter, "or", a bullet, a stray word
LAYOUTS = ("question+options", "question+answer", "question")
MAX_ENDS = 8  # question occurrences after which options or an answer are looked for, per (document, item)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _K
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def word_hashes(texts: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(word hashes uint64, document index int64, words per document) for a column of texts."""
    df = pl.DataFrame({"text": texts.fill_null("")}).with_row_index("doc")
    words = df.select("doc", dedup_words_expr("text").alias("w")).explode("w").filter(
        pl.col("w").is_not_null() & (pl.col("w") != ""))
    tok = words.get_column("w").hash(seed=_SEED).to_numpy().astype(np.uint64, copy=False)
    doc = words.get_column("doc").to_numpy().astype(np.int64, copy=False)
    counts = np.bincount(doc, minlength=df.height) if len(doc) else np.zeros(df.height, dtype=np.int64)
    return tok, doc, counts


def ngram_keys(tok: np.ndarray, doc: np.ndarray, lengths: set[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For each k in `lengths`: (keys of every k-word window inside one document, that window's document)."""
    return {k: (keys, d) for k, (keys, d, _) in ngram_windows(tok, doc, lengths).items()}


def ngram_windows(tok: np.ndarray, doc: np.ndarray,
                  lengths: set[int]) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each k in `lengths`: (window keys, window document, window start in `tok`), one document each."""
    out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    empty = (np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if not lengths or len(tok) == 0:
        return {k: empty for k in lengths}
    h = np.zeros(len(tok), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(1, max(lengths) + 1):
            m = len(tok) - k + 1
            if m <= 0:
                break
            h = h[:m] * _P + tok[k - 1:k - 1 + m]
            if k in lengths:
                valid = doc[:m] == doc[k - 1:k - 1 + m]
                out[k] = (_splitmix(h[valid] ^ (np.uint64(k) * _K)), doc[:m][valid], np.flatnonzero(valid))
    for k in lengths:
        out.setdefault(k, empty)
    return out


def _find(seq: list[int], pat: tuple[int, ...], lo: int, hi: int) -> int:
    """Start of the first occurrence of `pat` in seq[lo:hi], or -1."""
    m = len(pat)
    first = pat[0]
    i = lo
    while i <= hi - m:
        try:
            i = seq.index(first, i, hi - m + 1)
        except ValueError:
            return -1
        if tuple(seq[i:i + m]) == pat:
            return i
        i += 1
    return -1


def _phrase_hashes(texts: list[str]) -> list[tuple[int, ...]]:
    """Each text's word hashes (as Python ints), with the same normalisation and seed as documents."""
    if not texts:
        return []
    tok, doc, counts = word_hashes(pl.Series(texts, dtype=pl.String))
    bounds = np.r_[0, np.cumsum(counts)]
    vals = tok.tolist()
    return [tuple(vals[bounds[i]:bounds[i + 1]]) for i in range(len(texts))]


@dataclass
class BenchmarkIndex:
    """Hashed question n-grams of benchmark items (`table`: key, item, k) and each item's options and answer
    as word-hash tuples for the second stage."""

    items: list[Item]
    n: int
    min_item_words: int
    table: pl.DataFrame  # key: u64, item: i64 (distinct pairs)
    item_ngrams: np.ndarray  # distinct question n-grams per item (0 = not indexed)
    question_words: np.ndarray
    lengths: set[int]  # window lengths to compute on documents
    skipped_short: int  # items whose question has fewer than MIN_QUESTION_WORDS words
    answers: list[tuple[int, ...]] = field(default_factory=list)
    options: list[list[tuple[int, ...]]] = field(default_factory=list)

    @classmethod
    def build(cls, items: list[Item], n: int = 13, min_item_words: int = 8) -> BenchmarkIndex:
        tok, doc, counts = word_hashes(pl.Series([it.question for it in items], dtype=pl.String))
        usable = counts >= MIN_QUESTION_WORDS
        short_lengths = {int(c) for c in np.unique(counts[usable & (counts < n)])}
        lengths = ({n} if (counts >= n).any() else set()) | short_lengths
        frames = []
        for k, (keys, owner) in ngram_keys(tok, doc, lengths).items():
            keep = counts[owner] >= n if k == n else counts[owner] == k  # short questions: their full window
            keep &= usable[owner]
            frames.append(pl.DataFrame({"key": keys[keep], "item": owner[keep]}))
        table = (pl.concat(frames) if frames else pl.DataFrame(schema={"key": pl.UInt64, "item": pl.Int64})).unique()
        per_item = table.group_by("item").len()
        item_ngrams = np.zeros(len(items), dtype=np.int64)
        item_ngrams[per_item.get_column("item").to_numpy()] = per_item.get_column("len").to_numpy()
        answers = _phrase_hashes([it.answer for it in items])
        flat = [o for it in items for o in it.options]
        hashed = _phrase_hashes(flat)
        options, at = [], 0
        for it in items:
            opts = [h for h in hashed[at:at + len(it.options)] if h]
            at += len(it.options)
            options.append(list(dict.fromkeys(opts)))  # duplicate options need one occurrence
        return cls(items, n, min_item_words, table, item_ngrams, counts.astype(np.int64), lengths,
                   int((~usable).sum()), answers, options)

    def _layout(self, words: list[int], item: int, q_end: int, doc_end: int) -> str | None:
        """The most specific layout item `item` shows after a question ending at `q_end`, or None."""
        opts = self.options[item]
        if len(opts) >= 2:
            hi = min(doc_end, q_end + sum(len(o) + OPTION_SLACK for o in opts) + OPTION_SLACK)
            if all(_find(words, o, q_end, hi) >= 0 for o in opts):
                return "question+options"
        ans = self.answers[item]
        if ans and _find(words, ans, q_end, min(doc_end, q_end + len(ans) + ANSWER_SLACK)) >= 0:
            return "question+answer"
        if self.question_words[item] >= self.min_item_words:
            return "question"
        return None

    def _best_layout(self, words: list[int], item: int, ends: list[int], doc_end: int) -> str | None:
        """The most specific layout after any place the question's n-grams end (options often repeat the
        question's words, so its last n-gram in the document may lie inside the options)."""
        have = set(ends)
        run_ends = [e for e in ends if e + 1 not in have][:MAX_ENDS]  # where each run of n-grams stops
        found = [self._layout(words, item, e, doc_end) for e in run_ends]
        return next((lay for lay in LAYOUTS if lay in found), None)

    def match(self, texts: pl.Series) -> pl.DataFrame:
        """`doc` (row in `texts`), `item`, `shared`, `overlap` (fraction of the question's n-grams), `layout`."""
        empty = pl.DataFrame(schema={"doc": pl.Int64, "item": pl.Int64, "shared": pl.UInt32,
                                     "overlap": pl.Float64, "layout": pl.String})
        if self.table.height == 0 or len(texts) == 0:
            return empty
        tok, doc, counts = word_hashes(texts)
        windows = ngram_windows(tok, doc, self.lengths)
        if sum(len(w[0]) for w in windows.values()) == 0:
            return empty
        grams = pl.DataFrame({"doc": np.concatenate([w[1] for w in windows.values()]),
                              "key": np.concatenate([w[0] for w in windows.values()]),
                              "end": np.concatenate([w[2] + k for k, w in windows.items()])})
        # stage 1: one hash join against the question index, then per (document, item) the distinct
        # n-grams and where the question ends (the last window found)
        pairs = (grams.join(self.table, on="key", how="inner")
                 .group_by("doc", "item").agg(pl.col("key").n_unique().alias("shared"),
                                              pl.col("end").unique().sort()))
        if pairs.height == 0:
            return empty
        # stage 2 (rare pairs only): options or answer after the question
        doc_end = np.cumsum(counts)
        words = tok.tolist()
        layouts = [self._best_layout(words, it, ends, int(doc_end[d])) for d, it, ends in
                   zip(pairs["doc"].to_list(), pairs["item"].to_list(), pairs["end"].to_list(), strict=True)]
        totals = pl.DataFrame({"item": np.arange(len(self.item_ngrams), dtype=np.int64), "total": self.item_ngrams})
        return (pairs.with_columns(pl.Series("layout", layouts, dtype=pl.String))
                .filter(pl.col("layout").is_not_null()).join(totals, on="item")
                .select("doc", "item", pl.col("shared").cast(pl.UInt32),
                        (pl.col("shared") / pl.col("total")).alias("overlap"), "layout")
                .sort("doc", "item"))
