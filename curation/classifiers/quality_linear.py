"""A linear quality model: logistic regression over TF-IDF of hashed word and line-shape n-grams.

Why beside fastText: on the 318 human-labelled tuning documents of issue 11, an L2-regularised logistic
regression over sublinear TF-IDF (unigrams and bigrams seen in at least two documents) ranks documents as well
as the shipped fastText model or better, and the mean of the two probabilities better than either (5-fold CV,
three fold seeds: `python bench/curation_quality.py --data-dir ../shared/data --only tune-models`). fastText
overfits so few documents; the TF-IDF weighting and the L2 penalty do not.

The features are hashed (scikit-learn's `HashingVectorizer`, stateless), so the shipped file holds only the
hash slots of the n-grams seen in training, their IDF and their weight (a few hundred KB), and scoring is one
sparse product per batch. The text it reads is the same as the fastText model's: line-shape tokens
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


def _vectorizer():  # noqa: ANN202 - sklearn type
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=N_FEATURES, alternate_sign=False, norm=None, token_pattern=r"\S+",
                             ngram_range=NGRAMS, lowercase=True, dtype=np.float64)


def _counts(texts: pl.Series):  # noqa: ANN202 - scipy sparse matrix
    return _vectorizer().transform(with_line_shapes(texts).to_list()).tocsr()


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
        """P(high quality) of each text."""
        slot_idf = np.zeros(N_FEATURES)
        slot_idf[self.slots] = self.idf
        w = np.zeros(N_FEATURES)
        w[self.slots] = self.coef
        z = _weighted(_counts(texts), slot_idf) @ w + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path) -> None:
        with open(path, "wb") as f:  # np.savez_compressed would append .npz to a str path without it
            np.savez_compressed(f, slots=self.slots, idf=self.idf, coef=self.coef,
                                intercept=np.array([self.intercept]), n_features=np.array([N_FEATURES]))

    @classmethod
    def load(cls, path: Path) -> LinearQualityModel:
        try:
            z = np.load(path)
            if int(z["n_features"][0]) != N_FEATURES:
                raise WinnowError(f"{path}: hashed into {int(z['n_features'][0])} slots, this Winnow uses "
                                  f"{N_FEATURES}: rebuild it with `python -m curation.classifiers.quality_model`")
            return cls(z["slots"], z["idf"], z["coef"], float(z["intercept"][0]))
        except (OSError, KeyError, ValueError) as e:
            raise WinnowError(f"{path} is not a linear quality model ({e})") from e
