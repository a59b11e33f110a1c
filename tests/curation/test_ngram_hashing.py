"""The n-gram hasher, compiled and numba alike, gives scikit-learn's HashingVectorizer counts, whitespace and UTF-8
included."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest

from curation.classifiers.ngram_hashing import hashed_counts


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numba"])
def test_hashed_counts_equal_scikit_learns_hashing_vectorizer(compiled: bool) -> None:
    from sklearn.feature_extraction.text import HashingVectorizer

    from curation.imports import c_kernels, numba_available

    if compiled and c_kernels() is None:
        pytest.skip("the compiled kernels were not built (no C compiler at install)")
    if not compiled and not numba_available():
        pytest.skip("numba not installed")

    rng = random.Random(0)
    words = ["a", "ab", "abc", "abcd", "abcde", "Über", "naïve", "東京都", "emoji🙂x", "x" * 37, "the", "the",
             "ΟΔΟΣ", "İstanbul"]  # lowercased as Python does: a final sigma, a dotted I
    spaces = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2009", "\x1c", "\u0085", "\u200b"]
    texts = ["", "   ", "one", "Repeat repeat REPEAT", None]
    texts += ["".join(rng.choice(words) + rng.choice(spaces) for _ in range(rng.randint(1, 40))) for _ in range(60)]
    n_features = 1 << 20
    indptr, slots, counts = hashed_counts(pl.Series("t", texts), n_features, compiled=compiled)
    hv = HashingVectorizer(n_features=n_features, alternate_sign=False, norm=None, token_pattern=r"\S+",
                           ngram_range=(1, 2))
    x = hv.transform([t or "" for t in texts]).tocsr()
    x.sort_indices()
    np.testing.assert_array_equal(indptr, x.indptr)
    np.testing.assert_array_equal(slots, x.indices)
    np.testing.assert_array_equal(counts, x.data.astype(np.int64))
    # a small table wraps: every slot stays inside it
    _, small, _ = hashed_counts(pl.Series("t", texts), 7, compiled=compiled)
    assert small.min() >= 0 and small.max() < 7


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numba"])
def test_a_token_hashing_to_int32_min_gets_scikit_learns_slot(compiled: bool) -> None:
    """abs(-2**31) does not fit in int32: scikit-learn gives that hash the slot (2**31 - 1 - (n - 1)) % n. With
    2**20 slots every rule gives 0, so the check needs a table size that is not a power of two."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.utils import murmurhash3_32

    from curation.imports import c_kernels, numba_available

    if compiled and c_kernels() is None:
        pytest.skip("the compiled kernels were not built (no C compiler at install)")
    if not compiled and not numba_available():
        pytest.skip("numba not installed")
    token = "ad1u66pi"  # found by inverting MurmurHash3 for an 8-byte lowercase key
    assert murmurhash3_32(token.encode(), seed=0) == -2**31
    texts = [token, f"x {token} {token}"]
    for n_features in (7, 1000):
        indptr, slots, counts = hashed_counts(pl.Series("t", texts), n_features, compiled=compiled)
        x = HashingVectorizer(n_features=n_features, alternate_sign=False, norm=None, token_pattern=r"\S+",
                              ngram_range=(1, 2)).transform(texts).tocsr()
        x.sort_indices()
        np.testing.assert_array_equal(indptr, x.indptr)
        np.testing.assert_array_equal(slots, x.indices)
        np.testing.assert_array_equal(counts, x.data.astype(np.int64))
