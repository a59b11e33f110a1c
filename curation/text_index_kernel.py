"""The numba kernel of the search index (curation/text_index.py), in its own module so that numba is imported
only when an index is built (~0.6 s a process to import numba and load the compiled kernel)."""

from __future__ import annotations

import numba as nb
import numpy as np

from curation.text_index import _FNV_OFFSET, _FNV_PRIME, HASH_SHIFT


@nb.njit(cache=True, nogil=True)
def block_keys_nb(buf: np.ndarray, offs: np.ndarray, block: int, out: np.ndarray, table: np.ndarray,
                   word: np.ndarray) -> int:  # pragma: no cover - compiled
    """(word hash << 24 | block within the file) for each distinct word of each block: one pass over the
    bytes; a block's set of seen words is an open-addressing table whose slots hold (hash << 24 | block
    generation), so a new block needs no clearing."""
    mask = np.uint64(len(table) - 1)
    shift = np.uint64(HASH_SHIFT)
    gmask = np.uint64((1 << HASH_SHIFT) - 1)
    prime = np.uint64(_FNV_PRIME)
    k = 0
    gen = np.uint64(0)
    fill = 0
    cur = -1
    for d in range(len(offs) - 1):
        b = d // block
        if b != cur:
            cur = b
            gen += np.uint64(1)
            fill = 0
        i = offs[d]
        end = offs[d + 1]
        while i < end:
            if word[buf[i]]:
                h = np.uint64(_FNV_OFFSET)
                while i < end and word[buf[i]]:
                    h = (h ^ np.uint64(buf[i])) * prime
                    i += 1
                h40 = h >> shift
                tag = (h40 << shift) | gen
                slot = ((h40 * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
                while True:
                    v = table[slot]
                    if v == tag:
                        break  # already seen in this block
                    if (v & gmask) != gen:  # a free slot (or one of an earlier block): a new word
                        table[slot] = tag
                        out[k] = (h40 << shift) | np.uint64(b)
                        k += 1
                        fill += 1
                        if fill * 2 > len(table):  # a huge block: start a new set (repeats go later)
                            gen += np.uint64(1)
                            fill = 0
                        break
                    slot = (slot + np.uint64(1)) & mask
            else:
                i += 1
    return k
