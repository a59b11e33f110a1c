"""The numba kernel of the search index (curation/text_index.py), in its own module so that numba is imported
only when an index is built (~0.6 s a process to import numba and load the compiled kernel)."""

from __future__ import annotations

import numba as nb
import numpy as np

from curation.text_index import _FNV_OFFSET, _FNV_PRIME, HASH_SHIFT, N_BUCKETS


@nb.njit(cache=True, nogil=True, inline="always")
def _insert(table: np.ndarray, h40: np.uint64, gen: np.uint64) -> bool:  # pragma: no cover - compiled
    """Add a key to a block's set of seen keys; whether it was new. Slots hold (hash << 24 | block
    generation), so a new block needs no clearing."""
    mask = np.uint64(len(table) - 1)
    shift = np.uint64(HASH_SHIFT)
    gmask = np.uint64((1 << HASH_SHIFT) - 1)
    tag = (h40 << shift) | gen
    slot = ((h40 * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while True:
        v = table[slot]
        if v == tag:
            return False  # already seen in this block
        if (v & gmask) != gen:  # a free slot (or one of an earlier block): a new key
            table[slot] = tag
            return True
        slot = (slot + np.uint64(1)) & mask


@nb.njit(cache=True, nogil=True)
def block_keys_nb(buf: np.ndarray, offs: np.ndarray, block: int, out: np.ndarray, table: np.ndarray,
                  word: np.ndarray, trigrams: bool) -> int:  # pragma: no cover - compiled
    """(key hash << 24 | block within the file) for each distinct word of each block, and (`trigrams`) each
    distinct 3-byte run inside a word (hashed after a 0x01 byte, which no word holds): one pass over the
    bytes, a block's keys kept in an open-addressing set."""
    shift = np.uint64(HASH_SHIFT)
    prime = np.uint64(_FNV_PRIME)
    tri0 = (np.uint64(_FNV_OFFSET) ^ np.uint64(1)) * prime
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
                start = i
                while i < end and word[buf[i]]:
                    h = (h ^ np.uint64(buf[i])) * prime
                    if trigrams and i - start >= 2:
                        t = (tri0 ^ np.uint64(buf[i - 2])) * prime
                        t = (t ^ np.uint64(buf[i - 1])) * prime
                        t = (t ^ np.uint64(buf[i])) * prime
                        if _insert(table, t >> shift, gen):
                            out[k] = ((t >> shift) << shift) | np.uint64(b)
                            k += 1
                            fill += 1
                            if fill * 2 > len(table):  # a long word fills the set too: never let it get full
                                gen += np.uint64(1)
                                fill = 0
                    i += 1
                h40 = h >> shift
                if _insert(table, h40, gen):
                    out[k] = (h40 << shift) | np.uint64(b)
                    k += 1
                    fill += 1
                if fill * 2 > len(table):  # a huge block: start a new set (repeats are removed at the merge)
                    gen += np.uint64(1)
                    fill = 0
            else:
                i += 1
    return k


@nb.njit(cache=True, nogil=True)
def word_ids_nb(buf: np.ndarray, offs: np.ndarray, word: np.ndarray, ids: np.ndarray, per_doc: np.ndarray,
                table: np.ndarray, table_id: np.ndarray, uniq: np.ndarray) -> tuple:  # pragma: no cover - compiled
    """Each word of the text, in order, as a local id (first seen first; once the table is half full, a new
    word is -1 - its bucket instead: see `bucket_of`), the number of words per document, and the distinct
    words' hashes. Returns (words, distinct words)."""
    mask = np.uint64(len(table) - 1)
    shift = np.uint64(HASH_SHIFT)
    prime = np.uint64(_FNV_PRIME)
    k = 0
    n_uniq = 0
    for d in range(len(offs) - 1):
        i = offs[d]
        end = offs[d + 1]
        start_k = k
        while i < end:
            if word[buf[i]]:
                h = np.uint64(_FNV_OFFSET)
                while i < end and word[buf[i]]:
                    h = (h ^ np.uint64(buf[i])) * prime
                    i += 1
                h40 = h >> shift
                tag = h40 + np.uint64(1)  # 0 marks a free slot
                slot = ((h40 * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
                got = -1
                while True:
                    v = table[slot]
                    if v == tag:
                        got = table_id[slot]
                        break
                    if v == 0:
                        if n_uniq * 2 < len(table):
                            table[slot] = tag
                            table_id[slot] = n_uniq
                            uniq[n_uniq] = h40
                            got = n_uniq
                            n_uniq += 1
                        else:
                            got = -1 - np.int64((((h40 * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(56))
                                                 * np.uint64(N_BUCKETS)) >> np.uint64(8))
                        break
                    slot = (slot + np.uint64(1)) & mask
                ids[k] = got
                k += 1
            else:
                i += 1
        per_doc[d] = k - start_k
    return k, n_uniq

