"""numba kernels for GopherRepetitionFilter's n-gram statistics, one pass per n over a whole batch.

`curation.heuristics.ngrams` hashes every n-gram to a 64-bit key (numpy, prefix sums); these kernels then do
what datatrove does with the strings, document by document, with a small open-addressing table per
document (a few hundred words: it stays in cache) instead of sorting the batch:
* `top_counts`: `Counter(ngrams).most_common(1)` -> count of the most frequent n-gram and its first
  position (the first maximum in insertion order, as `Counter` returns it);
* `dup_scan`: `find_all_duplicate`'s left-to-right scan (a repeated n-gram adds its characters and jumps
  n words ahead).
Imported only for large batches (importing numba and loading the cached machine code costs ~0.6 s).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from curation.imports import absent

with absent("scipy.linalg"):  # numba's array support would load SciPy's BLAS (np.dot): unused here
    import numba.np.arraymath  # noqa: F401


@nb.njit(cache=True, inline="always")
def _slot(keys: np.ndarray, used: np.ndarray, mask: int, k: np.uint64) -> int:
    """The slot of `k` in the table (its own, or the empty one where it goes)."""
    h = int((k * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while used[h] and keys[h] != k:
        h = (h + 1) & mask
    return h


@nb.njit(cache=True)
def _table_size(doc_start: np.ndarray) -> int:
    most = 1
    for d in range(doc_start.size - 1):
        most = max(most, doc_start[d + 1] - doc_start[d])
    size = 16
    while size < 2 * most:
        size *= 2
    return size


@nb.njit(cache=True)
def top_counts(key: np.ndarray, doc_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per document (its n-grams are key[doc_start[d]:doc_start[d+1]]): the top count and the index into
    `key` of the first n-gram whose group has that count; (0, -1) for a document without n-grams."""
    n_docs = doc_start.size - 1
    best = np.zeros(n_docs, dtype=np.int64)
    where = np.full(n_docs, -1, dtype=np.int64)
    size = _table_size(doc_start)
    mask = size - 1
    keys = np.zeros(size, dtype=np.uint64)
    used = np.zeros(size, dtype=np.bool_)
    cnt = np.zeros(size, dtype=np.int64)
    touched = np.zeros(size, dtype=np.int64)
    for d in range(n_docs):
        nt = 0
        b = 0
        w = -1
        for i in range(doc_start[d], doc_start[d + 1]):
            h = _slot(keys, used, mask, key[i])
            if not used[h]:
                used[h] = True
                keys[h] = key[i]
                cnt[h] = 0
                touched[nt] = h
                nt += 1
            cnt[h] += 1
            b = max(b, cnt[h])
        # Counter keeps insertion order: the winner is the max-count n-gram that occurs FIRST
        for i in range(doc_start[d], doc_start[d + 1]):
            if cnt[_slot(keys, used, mask, key[i])] == b:
                w = i
                break
        best[d] = b
        where[d] = w
        for j in range(nt):
            used[touched[j]] = False
    return best, where


@nb.njit(cache=True)
def dup_scan(key: np.ndarray, doc_start: np.ndarray, n: int) -> np.ndarray:
    """True where datatrove's scan finds a repeated n-gram (key[i] is the n-gram at the i-th start; the
    starts of a document are consecutive word positions, so jumping n words is jumping n keys)."""
    hit = np.zeros(key.size, dtype=np.bool_)
    size = _table_size(doc_start)
    mask = size - 1
    keys = np.zeros(size, dtype=np.uint64)
    used = np.zeros(size, dtype=np.bool_)
    touched = np.zeros(size, dtype=np.int64)
    for d in range(doc_start.size - 1):
        nt = 0
        i = doc_start[d]
        end = doc_start[d + 1]
        while i < end:
            h = _slot(keys, used, mask, key[i])
            if used[h]:
                hit[i] = True
                i += n
            else:
                used[h] = True
                keys[h] = key[i]
                touched[nt] = h
                nt += 1
                i += 1
        for j in range(nt):
            used[touched[j]] = False
    return hit


def warm_kernels() -> None:
    """Load the kernels' machine code (numba's on-disk cache) for the argument types the batches pass, with no
    Polars: `curation.heuristics.ngram_kernels_warm` calls it in the workers' server before it forks them."""
    key = np.array([1, 2, 1], dtype=np.uint64)
    starts = np.array([0, 3], dtype=np.int64)
    top_counts(key, starts)
    dup_scan(key, starts, 1)
