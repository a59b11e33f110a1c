"""The numba kernels behind MinHash signatures and exact-dedup keys, compiled once and cached on disk.

Imported only when a batch is large enough to pay numba's start-up (importing numba and loading the cached
machine code costs ~0.6 s per process): `curation.dedup.signatures` decides.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from curation.imports import absent

with absent("scipy.linalg"):  # numba's array support would load SciPy's BLAS (np.dot): unused here
    import numba.np.arraymath  # noqa: F401



@nb.njit(cache=True, inline="always")
def _rotl(x: int, r: int) -> int:
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & np.uint64(0xFFFFFFFF)

@nb.njit(cache=True)
def _xxh32(buf: np.ndarray, start: int, end: int) -> int:
    """xxh32 with seed 0 of buf[start:end] (the reference algorithm, 32-bit arithmetic in uint64)."""
    m = np.uint64(0xFFFFFFFF)
    p1 = np.uint64(2654435761)
    p2 = np.uint64(2246822519)
    p3 = np.uint64(3266489917)
    p4 = np.uint64(668265263)
    p5 = np.uint64(374761393)
    n = end - start
    i = start
    if n >= 16:
        v1 = (p1 + p2) & m
        v2 = p2
        v3 = np.uint64(0)
        v4 = (np.uint64(0x100000000) - p1) & m
        limit = end - 16
        while i <= limit:
            for lane in range(4):
                j = i + 4 * lane
                inp = (np.uint64(buf[j]) | (np.uint64(buf[j + 1]) << np.uint64(8))
                       | (np.uint64(buf[j + 2]) << np.uint64(16)) | (np.uint64(buf[j + 3]) << np.uint64(24)))
                if lane == 0:
                    v1 = (_rotl((v1 + inp * p2) & m, 13) * p1) & m
                elif lane == 1:
                    v2 = (_rotl((v2 + inp * p2) & m, 13) * p1) & m
                elif lane == 2:
                    v3 = (_rotl((v3 + inp * p2) & m, 13) * p1) & m
                else:
                    v4 = (_rotl((v4 + inp * p2) & m, 13) * p1) & m
            i += 16
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & m
    else:
        h = p5
    h = (h + np.uint64(n)) & m
    while i + 4 <= end:
        inp = (np.uint64(buf[i]) | (np.uint64(buf[i + 1]) << np.uint64(8))
               | (np.uint64(buf[i + 2]) << np.uint64(16)) | (np.uint64(buf[i + 3]) << np.uint64(24)))
        h = (_rotl((h + inp * p3) & m, 17) * p4) & m
        i += 4
    while i < end:
        h = (_rotl((h + np.uint64(buf[i]) * p5) & m, 11) * p1) & m
        i += 1
    h ^= h >> np.uint64(15)
    h = (h * p2) & m
    h ^= h >> np.uint64(13)
    h = (h * p3) & m
    h ^= h >> np.uint64(16)
    return h

@nb.njit(cache=True)
def signature_kernel(data: np.ndarray, offs: np.ndarray, word: np.ndarray, lower: np.ndarray,
                      ngram: int, a: np.ndarray, b: np.ndarray, sig: np.ndarray,
                      counts: np.ndarray) -> None:
    nd = len(offs) - 1
    k = len(a)
    maxlen = 1
    for d in range(nd):
        maxlen = max(maxlen, offs[d + 1] - offs[d])
    norm = np.empty(maxlen + 1, np.uint8)
    wstart = np.empty(maxlen + 1, np.int64)
    wend = np.empty(maxlen + 1, np.int64)
    row = np.empty(k, np.uint32)
    m1 = np.uint64(0x85EBCA6B)
    m2 = np.uint64(0xC2B2AE35)
    mask = np.uint64(0xFFFFFFFF)
    for d in range(nd):
        ln = 0
        nw = 0
        inword = False
        for i in range(offs[d], offs[d + 1]):
            c = data[i]
            if word[c]:
                if not inword:
                    if nw > 0:
                        norm[ln] = 32
                        ln += 1
                    wstart[nw] = ln
                    nw += 1
                    inword = True
                norm[ln] = lower[c]
                ln += 1
            elif inword:
                wend[nw - 1] = ln
                inword = False
        if inword:
            wend[nw - 1] = ln
        for j in range(k):
            row[j] = np.uint32(0xFFFFFFFF)
        if nw == 0:
            counts[d] = 0
            sig[d, :] = row
            continue
        nsh = 1 if nw < ngram else nw - ngram + 1
        counts[d] = nsh
        for s in range(nsh):
            if nw < ngram:
                h = _xxh32(norm, 0, ln)
            else:
                h = _xxh32(norm, wstart[s], wend[s + ngram - 1])
            h ^= h >> np.uint64(16)
            h = (h * m1) & mask
            h ^= h >> np.uint64(13)
            h = (h * m2) & mask
            h ^= h >> np.uint64(16)
            h32 = np.uint32(h)
            for j in range(k):
                row[j] = min(row[j], np.uint32(a[j] * h32 + b[j]))
        sig[d, :] = row



@nb.njit(cache=True)
def normalise_kernel(data: np.ndarray, offs: np.ndarray, word: np.ndarray, lower: np.ndarray,
                      out: np.ndarray, out_offs: np.ndarray) -> None:
    """Write each document's dedup words joined by single spaces into `out` (out_offs: its bounds)."""
    ln = 0
    for d in range(len(offs) - 1):
        out_offs[d] = ln
        start = ln
        inword = False
        for i in range(offs[d], offs[d + 1]):
            c = data[i]
            if word[c]:
                if not inword:
                    if ln > start:
                        out[ln] = 32
                        ln += 1
                    inword = True
                out[ln] = lower[c]
                ln += 1
            else:
                inword = False
    out_offs[len(offs) - 1] = ln


@nb.njit(cache=True)
def word_count_kernel(data: np.ndarray, offs: np.ndarray, out: np.ndarray) -> None:
    """Runs of non-whitespace per document, whitespace being Unicode's White_Space (what the regex `\\S+`
    counts): the ASCII tab..CR and space, and the UTF-8 forms of U+0085, U+00A0, U+1680, U+2000-200A,
    U+2028, U+2029, U+202F, U+205F and U+3000."""
    for d in range(len(offs) - 1):
        n = 0
        prev_space = True
        i = offs[d]
        e = offs[d + 1]
        while i < e:
            c = data[i]
            w = 1
            space = False
            if c < 0x80:
                space = c == 32 or (c >= 9 and c <= 13)
            elif c == 0xC2 and i + 1 < e:
                space = data[i + 1] == 0x85 or data[i + 1] == 0xA0
                w = 2 if space else 1
            elif c >= 0xE1 and c <= 0xE3 and i + 2 < e:
                c1 = data[i + 1]
                c2 = data[i + 2]
                if c == 0xE1:
                    space = c1 == 0x9A and c2 == 0x80
                elif c == 0xE2:
                    space = (c1 == 0x80 and (c2 <= 0x8A or c2 == 0xA8 or c2 == 0xA9 or c2 == 0xAF)) or (
                        c1 == 0x81 and c2 == 0x9F)
                else:
                    space = c1 == 0x80 and c2 == 0x80
                w = 3 if space else 1
            if not space and prev_space:
                n += 1
            prev_space = space
            i += w
        out[d] = n
