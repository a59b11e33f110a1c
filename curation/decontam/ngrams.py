"""Word n-gram hashing and matching for decontamination, vectorised (Polars for words, numpy for n-grams).

* Words: the dedup normalisation (`curation.text.dedup_words_expr`: lowercase, runs of non-word characters
  are spaces), so "Paris," and "paris" are the same word.
* Word hashes: Polars' `hash(seed=...)` (64-bit, fixed seeds: the same in every process and worker of a
  Polars version; the index is built in the same run that matches against it, never stored).
* n-gram hash: a polynomial over the word hashes, `h = h * P + w` (mod 2^64), built for k = 1..n in n
  vectorised passes over the batch's concatenated words, then finalised with splitmix64 together with k
  so n-grams of different lengths never share a key. A window that crosses two documents is dropped.
* An item shorter than n words is one n-gram of its own length (all its words), matched against the
  document's windows of that length; items shorter than `min_item_words` are skipped (too common).

`BenchmarkIndex.match(texts)` returns, per (document, item) pair that shares at least one n-gram, the
number of the item's distinct n-grams found in the document.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curation.decontam.benchmarks import Item
from curation.text import dedup_words_expr

_P = np.uint64(0x100000001B3)
_K = np.uint64(0x9E3779B97F4A7C15)
_SEED = 0x5EED


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
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if not lengths or len(tok) == 0:
        return {k: (np.zeros(0, np.uint64), np.zeros(0, np.int64)) for k in lengths}
    h = np.zeros(len(tok), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(1, max(lengths) + 1):
            m = len(tok) - k + 1
            if m <= 0:
                break
            h = h[:m] * _P + tok[k - 1:k - 1 + m]
            if k in lengths:
                valid = doc[:m] == doc[k - 1:k - 1 + m]
                out[k] = (_splitmix(h[valid] ^ (np.uint64(k) * _K)), doc[:m][valid])
    for k in lengths:
        out.setdefault(k, (np.zeros(0, np.uint64), np.zeros(0, np.int64)))
    return out


@dataclass
class BenchmarkIndex:
    """Hashed n-grams of benchmark items: `table` (key, item) and per-item n-gram counts."""

    items: list[Item]
    n: int
    table: pl.DataFrame  # key: u64, item: i64 (distinct pairs)
    item_ngrams: np.ndarray  # distinct n-grams per item (0 = skipped)
    lengths: set[int]  # window lengths to compute on documents
    skipped_short: int

    @classmethod
    def build(cls, items: list[Item], n: int = 13, min_item_words: int = 8) -> BenchmarkIndex:
        tok, doc, counts = word_hashes(pl.Series([it.text for it in items], dtype=pl.String))
        usable = counts >= min_item_words
        short_lengths = {int(c) for c in np.unique(counts[usable & (counts < n)])}
        lengths = ({n} if (counts >= n).any() else set()) | short_lengths
        frames = []
        for k, (keys, owner) in ngram_keys(tok, doc, lengths).items():
            keep = counts[owner] >= n if k == n else counts[owner] == k  # short items: only their full window
            keep &= usable[owner]
            frames.append(pl.DataFrame({"key": keys[keep], "item": owner[keep]}))
        table = (pl.concat(frames) if frames else pl.DataFrame(schema={"key": pl.UInt64, "item": pl.Int64})).unique()
        per_item = table.group_by("item").len()
        item_ngrams = np.zeros(len(items), dtype=np.int64)
        item_ngrams[per_item.get_column("item").to_numpy()] = per_item.get_column("len").to_numpy()
        return cls(items, n, table, item_ngrams, lengths, int((~usable).sum()))

    def match(self, texts: pl.Series) -> pl.DataFrame:
        """`doc` (row in `texts`), `item`, `shared` (distinct item n-grams in the doc), `overlap` (fraction)."""
        empty = pl.DataFrame(schema={"doc": pl.Int64, "item": pl.Int64, "shared": pl.UInt32, "overlap": pl.Float64})
        if self.table.height == 0 or len(texts) == 0:
            return empty
        tok, doc, _ = word_hashes(texts)
        windows = list(ngram_keys(tok, doc, self.lengths).values())
        if sum(len(k) for k, _ in windows) == 0:
            return empty
        grams = pl.DataFrame({"doc": np.concatenate([d for _, d in windows]),
                              "key": np.concatenate([k for k, _ in windows])})
        # one hash join against the index (Polars), then distinct n-grams per (document, item)
        pairs = (grams.join(self.table, on="key", how="inner").unique(["doc", "key", "item"])
                 .group_by("doc", "item").agg(pl.len().alias("shared")))
        if pairs.height == 0:
            return empty
        totals = pl.DataFrame({"item": np.arange(len(self.item_ngrams), dtype=np.int64), "total": self.item_ngrams})
        return (pairs.join(totals, on="item").select("doc", "item", "shared",
                                                     (pl.col("shared") / pl.col("total")).alias("overlap"))
                .sort("doc", "item"))
