"""The numba twin of the compiled `hash_counts_kernel` (curation/_ckernels.c), used where that was not built:
hashed word unigram + bigram counts of a batch of texts, in one pass over their UTF-8 bytes.

The linear quality model (`quality_linear.py`) reads what scikit-learn's `HashingVectorizer(token_pattern=r"\\S+",
ngram_range=(1, 2), alternate_sign=False, norm=None)` would give: tokens are runs of non-whitespace (Python's
`str.isspace` set), a bigram is the two tokens joined by one space, each hashed by MurmurHash3 (x86, 32-bit,
seed 0) to `abs(h) % n_features`. scikit-learn builds every n-gram as a Python string (0.4 s per 2,000 web
documents, plus ~2 s to import it); this reads Arrow's bytes directly. The test compares them.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from curation.imports import absent

with absent("scipy.linalg"):  # numba's array support would load SciPy's BLAS: unused here
    import numba.np.arraymath  # noqa: F401

_M32 = np.uint64(0xFFFFFFFF)


@nb.njit(cache=True, inline="always")
def _byte(buf: np.ndarray, s1: int, l1: int, s2: int, j: int) -> np.uint64:
    """Byte j of `buf[s1:s1+l1]`, or of that + b" " + `buf[s2:...]` when j >= l1 (a bigram)."""
    if j < l1:
        return np.uint64(buf[s1 + j])
    if j == l1:
        return np.uint64(32)
    return np.uint64(buf[s2 + j - l1 - 1])


@nb.njit(cache=True, inline="always")
def _rotl(x: np.uint64, r: int) -> np.uint64:
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & _M32


@nb.njit(cache=True)
def _murmur3(buf: np.ndarray, s1: int, l1: int, s2: int, length: int) -> int:
    """MurmurHash3_x86_32 (seed 0) of `length` bytes as `_byte` reads them, as a signed 32-bit int."""
    c1 = np.uint64(0xCC9E2D51)
    c2 = np.uint64(0x1B873593)
    h = np.uint64(0)
    nblocks = length // 4
    for b in range(nblocks):
        j = 4 * b
        k = (_byte(buf, s1, l1, s2, j) | (_byte(buf, s1, l1, s2, j + 1) << np.uint64(8))
             | (_byte(buf, s1, l1, s2, j + 2) << np.uint64(16)) | (_byte(buf, s1, l1, s2, j + 3) << np.uint64(24)))
        k = (k * c1) & _M32
        k = _rotl(k, 15)
        k = (k * c2) & _M32
        h ^= k
        h = _rotl(h, 13)
        h = (h * np.uint64(5) + np.uint64(0xE6546B64)) & _M32
    tail = length & 3
    j = 4 * nblocks
    k = np.uint64(0)
    if tail >= 3:
        k ^= _byte(buf, s1, l1, s2, j + 2) << np.uint64(16)
    if tail >= 2:
        k ^= _byte(buf, s1, l1, s2, j + 1) << np.uint64(8)
    if tail >= 1:
        k ^= _byte(buf, s1, l1, s2, j)
        k = (k * c1) & _M32
        k = _rotl(k, 15)
        k = (k * c2) & _M32
        h ^= k
    h ^= np.uint64(length)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    h ^= h >> np.uint64(16)
    v = int(h)
    return v - 4294967296 if v >= 2147483648 else v


@nb.njit(cache=True)
def _space_at(buf: np.ndarray, i: int) -> tuple[bool, int]:
    """(is the code point at byte i whitespace as `str.isspace` says, its length in bytes)."""
    b0 = buf[i]
    if b0 < 0x80:
        return (b0 == 32 or 9 <= b0 <= 13 or 28 <= b0 <= 31), 1
    if b0 >> 5 == 6:
        cp = ((b0 & 0x1F) << 6) | (buf[i + 1] & 0x3F)
        return cp == 0x85 or cp == 0xA0, 2
    if b0 >> 4 == 14:
        cp = ((b0 & 0x0F) << 12) | ((buf[i + 1] & 0x3F) << 6) | (buf[i + 2] & 0x3F)
        return (cp == 0x1680 or 0x2000 <= cp <= 0x200A or cp == 0x2028 or cp == 0x2029 or cp == 0x202F
                or cp == 0x205F or cp == 0x3000), 3
    return False, 4


@nb.njit(cache=True)
def _hash_counts(buf: np.ndarray, offsets: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, slots, counts): per document, its hash slots in ascending order and how often each occurs."""
    n = offsets.size - 1
    indptr = np.zeros(n + 1, dtype=np.int64)
    cap = 1024
    slots = np.empty(cap, dtype=np.int64)
    counts = np.empty(cap, dtype=np.int64)
    starts = np.empty(256, dtype=np.int64)
    ends = np.empty(256, dtype=np.int64)
    out = 0
    for d in range(n):
        i, end = offsets[d], offsets[d + 1]
        nt = 0
        while i < end:  # token spans
            sp, w = _space_at(buf, i)
            if sp:
                i += w
                continue
            s = i
            while i < end:
                sp, w = _space_at(buf, i)
                if sp:
                    break
                i += w
            if nt == starts.size:
                starts = np.concatenate((starts, np.empty(nt, dtype=np.int64)))
                ends = np.concatenate((ends, np.empty(nt, dtype=np.int64)))
            starts[nt] = s
            ends[nt] = i
            nt += 1
        m = 2 * nt - 1 if nt else 0
        h = np.empty(m, dtype=np.int64)
        for t in range(nt):
            length = ends[t] - starts[t]
            v = _murmur3(buf, starts[t], length, 0, length)
            h[t] = (2147483647 - (n_features - 1)) % n_features if v == -2147483648 else abs(v) % n_features
        for t in range(nt - 1):
            l1 = ends[t] - starts[t]
            v = _murmur3(buf, starts[t], l1, starts[t + 1], l1 + 1 + ends[t + 1] - starts[t + 1])
            h[nt + t] = (2147483647 - (n_features - 1)) % n_features if v == -2147483648 else abs(v) % n_features
        h.sort()
        if out + m > cap:
            while out + m > cap:
                cap *= 2
            slots = np.concatenate((slots[:out], np.empty(cap - out, dtype=np.int64)))
            counts = np.concatenate((counts[:out], np.empty(cap - out, dtype=np.int64)))
        j = 0
        while j < m:
            k = j
            while k < m and h[k] == h[j]:
                k += 1
            slots[out] = h[j]
            counts[out] = k - j
            out += 1
            j = k
        indptr[d + 1] = out
    return indptr, slots[:out].copy(), counts[:out].copy()
