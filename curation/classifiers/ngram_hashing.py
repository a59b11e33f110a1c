"""Hashed word unigram + bigram counts of a batch of texts (the linear quality model's features).

The counts are what scikit-learn's `HashingVectorizer(token_pattern=r"\\S+", ngram_range=(1, 2),
alternate_sign=False, norm=None)` gives: tokens are runs of non-whitespace (Python's `str.isspace` set), a bigram
is the two tokens joined by one space, each hashed by MurmurHash3 (x86, 32-bit, seed 0) to `abs(h) % n_features`.
scikit-learn builds every n-gram as a Python string (0.4 s per 2,000 web documents, plus ~2 s to import it);
here one kernel reads Arrow's lowercased UTF-8 bytes: the compiled `hash_counts_kernel` (curation/_ckernels.c)
where it was built, which loads in a millisecond, else its numba twin (`ngram_kernels.py`, ~0.5 s to load a
process). tests/curation/test_ngram_hashing.py compares both with scikit-learn.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curation.imports import c_kernels
from curation.text import utf8_buffers


def utf8_lower(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, int64 offsets) of the texts lowercased as Python's `str.lower` does, which is what
    scikit-learn lowercases with (Polars agrees on a final sigma and a dotted capital I; Arrow's `utf8_lower`
    does not); nulls as ""."""
    return utf8_buffers(texts.cast(pl.String).fill_null("").str.to_lowercase())


def hashed_counts(texts: pl.Series, n_features: int,
                  compiled: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR parts (indptr, slots, counts; int64) of the lowercased texts' hashed unigram + bigram counts.
    `compiled`: the C kernel (default: where built) or the numba one (False)."""
    buf, offsets = utf8_lower(texts)
    ck = c_kernels() if compiled is not False else None
    if compiled and ck is None:
        raise RuntimeError("the compiled kernels were not built")
    if ck is not None:
        indptr, slots, counts = ck.hash_counts_kernel(buf, offsets, int(n_features))
        return tuple(np.frombuffer(b, dtype=np.int64) for b in (indptr, slots, counts))  # type: ignore[return-value]
    from curation.classifiers.ngram_kernels import _hash_counts

    return _hash_counts(buf, offsets, n_features)
