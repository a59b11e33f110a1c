"""A linear quality model: logistic regression over TF-IDF of hashed word and line-shape n-grams.

Why instead of fastText: on the 318 human-labelled tuning documents of issue 11 (5-fold CV, fold seeds 0-2,
`python bench/curation_quality.py --data-dir ../shared/data --only tune`), an L2-regularised logistic
regression over sublinear TF-IDF (unigrams and bigrams seen in at least two documents) removed more low-quality
documents at the same loss of high-quality ones than the fastText model did: fastText overfits so few documents,
the TF-IDF weighting and the L2 penalty less so. (On the held-out agreement set it then did not: see
docs/benchmarks/quality.md.)

The features are hashed as scikit-learn's `HashingVectorizer` hashes them (`ngram_hashing.py`, one compiled
pass over the texts' bytes, numba where the C kernels were not built; stateless), so the shipped file holds
only the hash slots of the n-grams seen in training, their IDF and their weight (117 KB), and scoring is a few
numpy reductions per batch. The text it reads is the same as the fastText model's: line-shape tokens
(`line_shapes.py`) before the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from curation.classifiers.line_shapes import with_line_shapes
from curation.errors import WinnowError

N_FEATURES = 1 << 20
NGRAMS = (1, 2)
MIN_DF = 2
C = 4.0


def _counts(texts: pl.Series):  # noqa: ANN202 - scipy sparse matrix
    """Hashed unigram + bigram counts of the texts with their line-shape tokens, as a CSR matrix."""
    from scipy.sparse import csr_matrix

    from curation.classifiers.ngram_hashing import hashed_counts

    indptr, slots, counts = hashed_counts(with_line_shapes(texts), N_FEATURES)
    return csr_matrix((counts.astype(np.float64), slots, indptr), shape=(len(texts), N_FEATURES))


def _weighted(x, slot_idf: np.ndarray):  # noqa: ANN001, ANN202 - scipy sparse in and out
    """Sublinear tf x idf, L2-normalised per row; hash slots outside the model's vocabulary weigh 0."""
    x = x.copy()
    x.data = (1.0 + np.log(x.data)) * slot_idf[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    x.data /= np.repeat(norms, np.diff(x.indptr))
    return x


@dataclass
class LinearQualityModel:
    """Hash slots of the vocabulary, their IDF and logistic-regression weights, and the intercept."""

    slots: np.ndarray
    idf: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, texts: pl.Series, labels: np.ndarray, c: float = C) -> LinearQualityModel:
        from sklearn.linear_model import LogisticRegression

        x = _counts(texts)
        df = np.bincount(x.indices, minlength=N_FEATURES)
        slots = np.flatnonzero(df >= MIN_DF)
        n = x.shape[0]
        idf = np.log((1.0 + n) / (1.0 + df[slots])) + 1.0  # scikit-learn's smoothed IDF
        slot_idf = np.zeros(N_FEATURES)
        slot_idf[slots] = idf
        xw = _weighted(x, slot_idf)[:, slots]
        lr = LogisticRegression(C=c, max_iter=3000).fit(xw, np.asarray(labels, dtype=bool))
        return cls(slots.astype(np.int32), idf.astype(np.float32), lr.coef_[0].astype(np.float32),
                   float(lr.intercept_[0]))

    def predict_proba(self, texts: pl.Series) -> np.ndarray:
        """P(high quality) of each text (numpy only: no sparse matrices at prediction time)."""
        from curation.classifiers.ngram_hashing import hashed_counts

        indptr, slots, counts = hashed_counts(with_line_shapes(texts), N_FEATURES)
        n = len(texts)
        pos = np.minimum(np.searchsorted(self.slots, slots), max(len(self.slots) - 1, 0))
        known = self.slots[pos] == slots if len(self.slots) else np.zeros(len(slots), dtype=bool)
        v = np.where(known, (1.0 + np.log(counts)) * self.idf[pos].astype(np.float64), 0.0)
        doc = np.repeat(np.arange(n), np.diff(indptr))
        norm = np.sqrt(np.bincount(doc, weights=v * v, minlength=n))
        dot = np.bincount(doc, weights=v * self.coef[pos].astype(np.float64), minlength=n)
        z = dot / np.where(norm == 0, 1.0, norm) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path) -> None:
        with open(path, "wb") as f:  # np.savez_compressed would append .npz to a str path without it
            np.savez_compressed(f, slots=self.slots, idf=self.idf, coef=self.coef,
                                intercept=np.array([self.intercept]), n_features=np.array([N_FEATURES]))

    @classmethod
    def load(cls, path: Path) -> LinearQualityModel:
        try:
            with np.load(path) as z:  # an .npz holds its zip file open until closed
                if int(z["n_features"][0]) != N_FEATURES:
                    raise WinnowError(f"{path}: hashed into {int(z['n_features'][0])} slots, this Winnow uses "
                                      f"{N_FEATURES}: rebuild it with `python -m curation.classifiers.quality_model`")
                return cls(z["slots"], z["idf"], z["coef"], float(z["intercept"][0]))
        except (OSError, KeyError, ValueError) as e:
            raise WinnowError(f"{path} is not a linear quality model ({e})") from e
