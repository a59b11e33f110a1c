"""Word n-gram repetition statistics of GopherRepetitionFilter, over a whole batch at once.

Every n-gram is reduced to a 64-bit polynomial hash with prefix sums (one multiply per word, whatever n):

* top n-grams (n = 2, 3, 4) compare n-grams as tuples of words (datatrove joins them with " "; words
  hold no whitespace, so string equality is tuple equality). The statistic is the character length of
  the most frequent n-gram times its count; among equally frequent n-grams the one seen FIRST wins
  (`Counter.most_common(1)` returns the first maximum in insertion order).
* duplicated n-grams (n = 5..10) compare n-grams by their words joined with "" (so "ab c" equals
  "a bc"): the hash is of the concatenated characters. datatrove scans left to right, and after a
  repeated n-gram it jumps n words ahead without remembering the skipped n-grams; that jump makes the
  scan sequential. Only n-grams that occur at least twice can ever count, so the scan runs in Python
  over those candidates only (a small fraction of positions in real text).

The document index is mixed into every hash, so one sort groups all documents of the batch at once.
"""

from __future__ import annotations

import numpy as np

from curation.heuristics.words import Tokens, WordCache
from curation.imports import numba_available

_M64 = (1 << 64) - 1
_GOLD = np.uint64(0x9E3779B97F4A7C15)


class _Powers:
    """base**k and base**-k (mod 2**64) for k < size, grown on demand."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.inv = pow(base, -1, 1 << 64)
        self.pow = np.ones(1, dtype=np.uint64)
        self.ipow = np.ones(1, dtype=np.uint64)

    def ensure(self, size: int) -> None:
        if size <= len(self.pow):
            return
        size = max(size, 2 * len(self.pow))
        with np.errstate(over="ignore"):
            self.pow = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, self.base, dtype=np.uint64)],
                                  dtype=np.uint64)
            self.ipow = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, self.inv, dtype=np.uint64)],
                                   dtype=np.uint64)


_POWERS: dict[int, _Powers] = {}


def _powers(base: int, size: int) -> _Powers:
    p = _POWERS.setdefault(base, _Powers(base))
    p.ensure(size)
    return p


def _maybe_repeated(key: np.ndarray) -> np.ndarray:
    """Indices of keys that MAY occur twice (a superset: two independent hash-bucket counts).

    Most n-grams of real text are unique; sorting only these candidates is the cheap part.
    """
    if key.size < 2:
        return np.zeros(0, dtype=np.int64)
    bits = max(12, int(np.ceil(np.log2(key.size * 2))))
    mask = np.uint64((1 << bits) - 1)
    b = (key & mask).astype(np.int64)
    idx = np.flatnonzero(np.bincount(b, minlength=1 << bits)[b] >= 2)
    b = ((key[idx] >> np.uint64(64 - bits)) & mask).astype(np.int64)
    return idx[np.bincount(b, minlength=1 << bits)[b] >= 2]


class NgramIndex:
    """Per-batch arrays shared by all n: word positions, character offsets and prefix hashes."""

    def __init__(self, tk: Tokens, cache: WordCache) -> None:
        self.tk = tk
        self.n_docs = len(tk.doc_start) - 1
        tok = tk.tok
        self.T = len(tok)
        self.doc = tk.doc
        self.pos = np.arange(self.T, dtype=np.int64) - tk.doc_start[tk.doc]  # word index within document
        self.doc_len = np.diff(tk.doc_start)
        wlen = cache.p_len[tok]
        self.cum_chars = np.zeros(self.T + 1, dtype=np.int64)
        np.cumsum(wlen, out=self.cum_chars[1:])
        cpos = self.cum_chars[:-1] - self.cum_chars[tk.doc_start[:-1]][tk.doc]  # char offset in document
        base = cache.base
        pw = _powers(base, int(self.pos.max(initial=0)) + 1)
        cp = _powers(base, int(cpos.max(initial=0)) + 1)
        with np.errstate(over="ignore"):
            self.word_prefix = np.zeros(self.T + 1, dtype=np.uint64)
            np.cumsum(cache.p_rand[tok] * pw.pow[self.pos], out=self.word_prefix[1:])
            self.char_prefix = np.zeros(self.T + 1, dtype=np.uint64)
            np.cumsum(cache.p_chash[tok] * cp.pow[cpos], out=self.char_prefix[1:])
        self._wipow = pw.ipow
        self._cipow = cp.ipow
        self._cpos = cpos

    def _starts(self, n: int) -> np.ndarray:
        """Global word positions where an n-gram starts (it ends inside the same document)."""
        return np.flatnonzero(self.pos <= self.doc_len[self.doc] - n)

    def _key_starts(self, n: int) -> np.ndarray:
        """Offsets of each document's n-grams in the `_starts(n)` order (n_docs + 1)."""
        out = np.zeros(self.n_docs + 1, dtype=np.int64)
        np.cumsum(np.maximum(self.doc_len - n + 1, 0), out=out[1:])
        return out

    def top_ngram_chars(self, n: int, kernel: bool | None = None) -> np.ndarray:
        """Per document: len(" ".join(top n-gram)) * its count (0.0 when the document has < n words).

        `kernel`: use the numba kernel (None: for large batches, when numba is installed)."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        vi = self._starts(n)
        if not vi.size:
            return out
        with np.errstate(over="ignore"):
            key = (self.word_prefix[vi + n] - self.word_prefix[vi]) * self._wipow[self.pos[vi]]
            key += self.doc[vi].astype(np.uint64) * _GOLD
        length = self.cum_chars[vi + n] - self.cum_chars[vi] + (n - 1)
        nb = _kernels(vi.size, kernel)
        if nb is not None:
            best, where = nb.top_counts(key, self._key_starts(n))
            has = np.flatnonzero(best)
            out[has] = best[has].astype(np.float64) * length[where[has]]
            return out
        docs = self.doc[vi]
        # default: every n-gram is unique -> the first one, count 1
        first_of_doc = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
        out[docs[first_of_doc]] = length[first_of_doc]
        cand = _maybe_repeated(key)
        order = cand[np.argsort(key[cand])]
        sk = key[order]
        starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
        counts = np.diff(np.r_[starts, sk.size])
        multi = counts >= 2
        if multi.any():
            first = np.minimum.reduceat(order, starts)[multi]  # earliest occurrence (index into vi)
            cnt = counts[multi].astype(np.uint64)
            gdoc = docs[first]
            score = (cnt << np.uint64(32)) | (np.uint64(0xFFFFFFFF) - first.astype(np.uint64))
            best = np.zeros(self.n_docs, dtype=np.uint64)
            np.maximum.at(best, gdoc, score)
            has = np.flatnonzero(best)
            b = best[has]
            win = (np.uint64(0xFFFFFFFF) - (b & np.uint64(0xFFFFFFFF))).astype(np.int64)
            out[has] = (b >> np.uint64(32)).astype(np.float64) * length[win]
        return out

    def dup_ngram_chars(self, n: int, kernel: bool | None = None) -> np.ndarray:
        """Per document: characters in repeated n-grams, as datatrove's `find_all_duplicate` counts them.

        `kernel`: use the numba kernel (None: for large batches, when numba is installed)."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        vi = self._starts(n)
        if not vi.size:
            return out
        with np.errstate(over="ignore"):
            key = (self.char_prefix[vi + n] - self.char_prefix[vi]) * self._cipow[self._cpos[vi]]
            key += self.doc[vi].astype(np.uint64) * _GOLD
        nb = _kernels(vi.size, kernel)
        if nb is not None:
            pos = vi[nb.dup_scan(key, self._key_starts(n), n)]
            lens = (self.cum_chars[pos + n] - self.cum_chars[pos]).astype(np.float64)
            return np.bincount(self.doc[pos], weights=lens, minlength=self.n_docs)
        cand = _maybe_repeated(key)
        order = cand[np.argsort(key[cand])]
        sk = key[order]
        same = sk[1:] == sk[:-1]
        if not same.any():
            return out
        rep = np.zeros(sk.size, dtype=bool)
        rep[1:] |= same
        rep[:-1] |= same
        sel = order[rep]  # indices into vi of repeated n-grams, grouped by key
        rk = sk[rep]
        gid_by_key = np.cumsum(np.r_[True, rk[1:] != rk[:-1]]) - 1
        perm = np.argsort(sel, kind="stable")
        cand = sel[perm]  # in text order
        gid = gid_by_key[perm]
        pos = vi[cand]
        hit = _scan(pos, gid, n, int(gid_by_key[-1]) + 1)
        lens = (self.cum_chars[pos + n] - self.cum_chars[pos]).astype(np.float64)
        return np.bincount(self.doc[pos[hit]], weights=lens[hit], minlength=self.n_docs)


_NB_MIN_KEYS = 200_000  # n-grams in a batch from which the numba kernels repay importing numba (~0.6 s)


def _kernels(size: int, want: bool | None) -> object | None:
    """`curation.heuristics.ngram_kernels` when it should run, else None: when asked, or (`want` None) once it is
    loaded in this process or the batch has `_NB_MIN_KEYS` n-grams or more (the rule of
    `curation.dedup.signatures.use_kernels`)."""
    import sys

    if want is False:
        return None
    if want or "curation.heuristics.ngram_kernels" in sys.modules or (size >= _NB_MIN_KEYS and numba_available()):
        from curation.heuristics import ngram_kernels

        return ngram_kernels
    return None


def _scan_py(pos: np.ndarray, gid: np.ndarray, n: int, n_groups: int) -> np.ndarray:
    seen = [False] * n_groups
    hit = [False] * pos.size
    nxt = -1
    for i, (p, g) in enumerate(zip(pos.tolist(), gid.tolist(), strict=True)):
        if p < nxt:
            continue
        if seen[g]:
            hit[i] = True
            nxt = p + n
        else:
            seen[g] = True
    return np.array(hit, dtype=bool)


def _scan(pos: np.ndarray, gid: np.ndarray, n: int, n_groups: int) -> np.ndarray:
    """datatrove's left-to-right scan restricted to repeated n-grams; True where a candidate is a hit.

    `gid` numbers equal n-grams. An n-gram is in datatrove's `seen` set exactly when an earlier
    occurrence was visited (not skipped), so a flag per group replaces the set. N-grams that occur once
    are never hits and only ever enter `seen`, so leaving them out is exact. Groups already separate
    documents, and a hit's jump (p + n) never leaves its document, so one pass serves the whole batch.
    Batches big enough for numba take `ngram_kernels.dup_scan` instead (`_kernels`), so this runs in Python.
    """
    return _scan_py(pos, gid, n, n_groups)


