"""MinHash signatures that equal datasketch's `MinHash(num_perm, seed, hashfunc=xxh32)` (scheme "affine32").

A shingle is a word n-gram of the dedup words of `curation.text` (lowercase, runs of non-word characters
are one separator) joined by single spaces, hashed with xxh32 (seed 0) of its UTF-8 bytes; a document with
fewer than n words is one shingle of all its words. datasketch's affine32 scheme then pre-mixes each
32-bit hash with the MurmurHash3 finalizer and applies `a_k * h + b_k mod 2^32`; the signature keeps the
minimum per permutation. We generate `a, b` exactly as datasketch does from `seed`, so signatures are
bit-for-bit equal (tests/curation/test_minhash.py checks it).

The hot path is one kernel over the batch's UTF-8 buffer (in C where the package's extension was built,
`_ckernels.c`; else the numba twin in `kernels.py`): it normalises each document in a scratch
buffer, hashes every shingle with xxh32 and updates the 128 minima, all without Python objects per word.
Rows with non-ASCII characters are first normalised by Polars (NFKC, Unicode lowercase, non-word runs ->
space) so the kernel only has to handle ASCII separators. Without either kernel a slower reference path
(per-document Python shingling + numpy permutations) gives the same numbers.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curation.imports import c_kernels, numba_available
from curation.text import dedup_words, utf8_buffers, word_ngrams

NUMBA_FROM_DOCS = 200  # smaller batches use the numpy path unless numba is loaded already (same results)
def use_kernels(n_docs: int) -> bool:
    """Whether a batch of `n_docs` should go through the kernels: always with the compiled ones; with numba's,
    once numba is loaded in this process or when the batch is big enough to pay for loading it."""
    import sys

    return (c_kernels() is not None or "curation.dedup.kernels" in sys.modules
            or (n_docs >= NUMBA_FROM_DOCS and numba_available()))


def _kernels():  # noqa: ANN202 - the kernels module
    """The compiled kernels (`curation/_ckernels.c`) where built, else numba's (same arguments, same results)."""
    compiled = c_kernels()
    if compiled is not None:
        return compiled
    from curation.dedup import kernels

    return kernels


EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's "no value" sentinel for affine32


def permutations(num_perm: int = 128, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) uint32 arrays of datasketch's affine32 scheme for `seed` (same RandomState draws)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch pre-mixes every input hash with it)."""
    h = h.astype(np.uint32, copy=True)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def shingles(text: str, ngram: int = 5) -> set[str]:
    """The shingle set of one text (reference semantics; the kernel computes the same set)."""
    return word_ngrams(dedup_words(text), ngram)


# Non-ASCII characters that are word separators whatever the normalisation (not word characters, NFKC and
# lowercase leave them alone or make separators of them, and no combining mark composes with them): web
# text's usual non-ASCII bytes. Replacing them by a space first leaves most rows plain ASCII, for the kernel.
SEPARATORS = ("\u00a0", "\u2018", "\u2019", "\u201c", "\u201d", "\u2013", "\u2014", "\u2026", "\u2022", "\u00b7",
              "\u00a9", "\u00ae", "\u00b0", "\u20ac", "\u00a3", "\u00ab", "\u00bb", "\u2192", "\u25a0", "\u00bf")


def _non_ascii(texts: pl.Series) -> pl.Series:
    return (texts.str.len_bytes() != texts.str.len_chars()).arg_true()


def kernel_ready_texts(texts: pl.Series) -> pl.Series:
    """Rows with non-ASCII characters are normalised in Polars (NFKC, lower, non-word runs -> space).

    ASCII rows are passed through untouched: the kernel lowercases A-Z and splits on ASCII non-word bytes,
    which is exactly `dedup_words` for ASCII text. Common separators (curly quotes, dashes...) become spaces
    first; only rows still non-ASCII pay for the Unicode regex, and only rows not already in NFKC for NFKC.
    """
    import unicodedata

    texts = texts.cast(pl.Utf8).fill_null("").rechunk()
    idx = _non_ascii(texts)
    if len(idx) == 0:
        return texts
    sub = texts.gather(idx).str.replace_many(list(SEPARATORS), [" "] * len(SEPARATORS))
    texts = texts.scatter(idx, sub)
    idx = idx.gather(_non_ascii(sub))
    if len(idx) == 0:
        return texts.rechunk()
    sub = texts.gather(idx)
    todo = pl.Series([not unicodedata.is_normalized("NFKC", t) for t in sub.to_list()], dtype=pl.Boolean)
    if todo.any():  # when/then would compute both branches: NFKC only the rows that change
        sub = sub.scatter(todo.arg_true(), sub.filter(todo).str.normalize("NFKC"))
    sub = sub.str.to_lowercase().str.replace_all(r"[^\w]+", " ")
    return texts.scatter(idx, sub).rechunk()


def _tables() -> tuple[np.ndarray, np.ndarray]:
    word = np.zeros(256, dtype=np.bool_)
    for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
        word[c] = True
    word[0x80:] = True  # bytes of non-ASCII characters: only in rows Polars already normalised
    lower = np.arange(256, dtype=np.uint8)
    lower[ord("A"): ord("Z") + 1] += 32
    return word, lower


_WORD, _LOWER = _tables()


def normalised_bytes(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(buffer, offsets) of the UTF-8 of `" ".join(dedup_words(t))` for every text (needs a kernel)."""
    ready = kernel_ready_texts(texts)
    data, offs = utf8_buffers(ready)
    out = np.empty(max(1, int(offs[-1] - offs[0]) if len(offs) else 1), dtype=np.uint8)
    out_offs = np.zeros(len(ready) + 1, dtype=np.int64)
    if len(ready):
        _kernels().normalise_kernel(data, offs, _WORD, _LOWER, out, out_offs)
    return out, out_offs


def warm_kernels() -> None:
    """Load the kernels now (numba's: their machine code from numba's on-disk cache, ~0.4 s, for the argument
    types the batches pass, read-only Arrow buffers), and without Polars: `curation.dedup.kernels_warm` calls
    this in the forkserver before it forks the workers, where a started Polars thread pool would hang them."""
    k = _kernels()
    data = np.frombuffer(b"Warm up, the kernels!", dtype=np.uint8)
    offs = np.frombuffer(np.array([0, len(data)], dtype=np.int64).tobytes(), dtype=np.int64)
    a, b = permutations(2, 1)
    k.signature_kernel(data, offs, _WORD, _LOWER, 5, a, b, np.empty((1, 2), dtype=np.uint32),
                       np.zeros(1, dtype=np.uint32))
    k.normalise_kernel(data, offs, _WORD, _LOWER, np.empty(len(data), dtype=np.uint8), np.zeros(2, dtype=np.int64))
    k.word_count_kernel(data, offs, np.zeros(1, dtype=np.uint32))


def _reference_signatures(texts: list[str], ngram: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-document Python shingling + vectorised numpy permutations (used when no kernel is)."""
    import xxhash

    sig = np.full((len(texts), len(a)), EMPTY, dtype=np.uint32)
    counts = np.zeros(len(texts), dtype=np.uint32)
    for d, text in enumerate(texts):
        words = dedup_words(text or "")
        if not words:
            continue
        grams = [" ".join(words)] if len(words) < ngram else [" ".join(words[i:i + ngram])
                                                                for i in range(len(words) - ngram + 1)]
        counts[d] = len(grams)
        hv = fmix32(np.fromiter((xxhash.xxh32_intdigest(g.encode("utf-8")) for g in grams), np.uint32, len(grams)))
        sig[d] = (hv[:, None] * a[None, :] + b[None, :]).min(axis=0)
    return sig, counts


def signatures(texts: pl.Series | list[str], *, ngram: int = 5, num_perm: int = 128, seed: int = 1,
               use_numba: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (uint32, shape (n_docs, num_perm)) and shingle counts (0 = no words) of `texts`."""
    if not isinstance(texts, pl.Series):
        texts = pl.Series("text", texts, dtype=pl.Utf8)
    a, b = permutations(num_perm, seed)
    if use_numba is None:
        use_numba = use_kernels(len(texts))
    if not use_numba:
        return _reference_signatures(texts.fill_null("").to_list(), ngram, a, b)
    ready = kernel_ready_texts(texts)
    data, offs = utf8_buffers(ready)
    sig = np.empty((len(ready), num_perm), dtype=np.uint32)
    counts = np.zeros(len(ready), dtype=np.uint32)
    if len(ready):
        _kernels().signature_kernel(data, offs, _WORD, _LOWER, int(ngram), a, b, sig, counts)
    return sig, counts

