"""A small linear text classifier: TF-IDF over hashed character and word n-grams, logistic regression, stored
in one compressed `.npz` of a few hundred KB (the shipped injection model, `guardrails/models/injection.npz`).

Why not fastText here: on the injection training data (deepset's train split plus benign prompts, 5-fold
cross-validation, no test data read) this kind of model scored a higher F1 than the quantized fastText model
with a fraction of its false positives on held-out benign prompts (numbers in the model card and
docs/guardrails.md). Character n-grams inside words (2-5, like scikit-learn's `char_wb`) carry German,
typos and leetspeak leftovers; word 1-2-grams carry phrasing. With `gloss` the word n-grams are taken from the
text read through `guardrails.gloss` (German instruction words as their English gloss), so an English phrasing
learnt also fires on its German form (in cross-validation on the training rows this raised F1, see train.py).

Features are computed with numpy over the whole text (no per-n-gram Python: scikit-learn's `char_wb`
analyzer took ~60 ms per 1 KB prompt, this takes well under 1 ms): the text's code points, a polynomial
rolling hash per n-gram length, 32-bit keys looked up in the model's sorted vocabulary. The vocabulary is
the keys seen in at least `min_df` training texts, the `max_*_features` most frequent of them. The file
holds keys, IDF weights and coefficients (float16) and the intercept: nothing is pickled. `threshold` is
folded into the intercept at training time, so P >= 0.5 is the decision chosen on held-out training data.
"""

from __future__ import annotations

import io
import json
import math
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import WinnowError
from guardrails.gloss import gloss as _gloss
from guardrails.normalize import canonical

_WORD = re.compile(r"\w+")
_P = np.uint64(0x100000001B3)  # FNV prime: the rolling hash's base
_SPACE = 32


@dataclass
class NgramParams:
    """The recipe (the model card records it)."""

    char_min: int = 2
    char_max: int = 5
    word_max: int = 2
    max_char_features: int = 30_000
    max_word_features: int = 10_000
    min_df: int = 2
    C: float = 16.0
    threshold: float = 0.4  # the decision P >= threshold, folded into the intercept (P >= 0.5 after)
    seed: int = 0
    gloss: bool = False  # word n-grams of the English gloss (`guardrails.gloss`); False in models made before it
    in_domain_weight: float = 1.0  # training only: weight of positives and in-domain negatives (train.py)


def char_keys(doc: str, lo: int, hi: int) -> np.ndarray:
    """32-bit keys of the character n-grams (lengths lo..hi) of each word padded with one space on each side
    (`char_wb`): n-grams may start or end at a space, never hold one inside."""
    s = " " + " ".join(doc.split()) + " "
    cp = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    space = (cp == _SPACE).astype(np.int32)
    inner = np.concatenate([[0], np.cumsum(space)])  # inner[j] - inner[i] = spaces in s[i:j]
    out = []
    m = len(cp)
    with np.errstate(over="ignore"):
        h = np.zeros(m, dtype=np.uint64)
        for n in range(1, hi + 1):
            if n > m:
                break
            h = h[: m - n + 1] * _P + cp[n - 1:]  # hash of s[i:i+n], rolling from s[i:i+n-1]
            if n < lo:
                continue
            i = np.arange(m - n + 1)
            ok = inner[i + n - 1] - inner[i + 1] == 0 if n > 2 else np.ones(m - n + 1, dtype=bool)
            key = (h[ok] ^ np.uint64(n)) * _P
            out.append((key >> np.uint64(32)).astype(np.uint32))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.uint32)


def word_keys(doc: str, hi: int) -> np.ndarray:
    """32-bit keys of the word 1..hi-grams (`\\w+` tokens; the key of a bigram mixes its two words' keys)."""
    toks = _WORD.findall(doc)
    if not toks:
        return np.zeros(0, dtype=np.uint32)
    w = np.array([zlib.crc32(t.encode("utf-8", "surrogatepass")) for t in toks], dtype=np.uint64)
    out = [w.astype(np.uint32)]
    with np.errstate(over="ignore"):
        acc = w.copy()
        for n in range(2, hi + 1):
            acc = acc[:-1] * _P + w[n - 1:]
            out.append(((acc * _P) >> np.uint64(32)).astype(np.uint32) ^ np.uint32(n))
    return np.concatenate(out)


class _Block:
    """One feature block (char or word): sorted vocabulary keys, IDF; sublinear TF-IDF, L2-normalised."""

    def __init__(self, vocab: np.ndarray, idf: np.ndarray) -> None:
        self.vocab, self.idf = vocab.astype(np.uint32), idf.astype(np.float32)

    @classmethod
    def fit(cls, keys: list[np.ndarray], min_df: int, max_features: int) -> _Block:
        uniq = [np.unique(k) for k in keys]
        allu, df = np.unique(np.concatenate(uniq), return_counts=True)
        allk, tf = np.unique(np.concatenate(keys), return_counts=True)  # same keys as allu
        keep = df >= min_df
        cand, cdf, ctf = allu[keep], df[keep], tf[keep]
        if len(cand) > max_features:
            top = np.sort(np.argsort(-ctf, kind="stable")[:max_features])
            cand, cdf = cand[top], cdf[top]
        n = len(keys)
        return cls(cand, np.log((1 + n) / (1 + cdf)) + 1)

    def rows(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns, L2-normalised TF-IDF values) of one text."""
        if not len(keys) or not len(self.vocab):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        u, c = np.unique(keys, return_counts=True)
        pos = np.searchsorted(self.vocab, u)
        pos[pos >= len(self.vocab)] = 0
        hit = self.vocab[pos] == u
        cols, cnt = pos[hit], c[hit]
        val = (1 + np.log(cnt)).astype(np.float32) * self.idf[cols]
        norm = float(np.sqrt((val * val).sum()))
        return cols, (val / norm if norm else val)


class NgramClassifier:
    """P(positive) of texts; the same `predict_proba`/`predict_proba_lines` as curation's BinaryClassifier."""

    def __init__(self, char: _Block, word: _Block, coef: np.ndarray, intercept: float, params: NgramParams) -> None:
        self.char, self.word, self.params = char, word, params
        self.coef = coef.astype(np.float32)
        self.intercept = float(intercept)

    def _keys(self, doc: str) -> tuple[np.ndarray, np.ndarray]:
        return self.keys_of(doc, self.params)

    @staticmethod
    def keys_of(doc: str, p: NgramParams) -> tuple[np.ndarray, np.ndarray]:
        """(character keys, word keys) of a canonical text."""
        return char_keys(doc, p.char_min, p.char_max), word_keys(_gloss(doc) if p.gloss else doc, p.word_max)

    @staticmethod
    def _matrix(char: _Block, word: _Block, keys: list[tuple[np.ndarray, np.ndarray]]) -> Any:
        from scipy.sparse import csr_matrix

        indptr, cols, vals = [0], [], []
        off = len(char.vocab)
        for ck, wk in keys:
            c1, v1 = char.rows(ck)
            c2, v2 = word.rows(wk)
            cols += [c1, c2 + off]
            vals += [v1, v2]
            indptr.append(indptr[-1] + len(c1) + len(c2))
        return csr_matrix((np.concatenate(vals) if vals else np.zeros(0, np.float32),
                           np.concatenate(cols) if cols else np.zeros(0, np.int64), indptr),
                          shape=(len(keys), off + len(word.vocab)))

    # -- training ------------------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: list[str], labels: Any, params: NgramParams, sample_weight: Any = None) -> NgramClassifier:
        from sklearn.linear_model import LogisticRegression

        p = params
        keys = [cls.keys_of(canonical(t), p) for t in texts]
        char = _Block.fit([k[0] for k in keys], p.min_df, p.max_char_features)
        word = _Block.fit([k[1] for k in keys], p.min_df if p.min_df > 1 else 1, p.max_word_features)
        x = cls._matrix(char, word, keys)
        lr = LogisticRegression(C=p.C, max_iter=5000, random_state=p.seed).fit(x, np.asarray(labels, dtype=int),
                                                                               sample_weight=sample_weight)
        t = p.threshold
        # P >= t under the fitted model  <=>  P >= 0.5 with the intercept moved by -logit(t)
        intercept = float(lr.intercept_[0]) - math.log(t / (1 - t))
        coef = lr.coef_[0].astype(np.float16)  # scored with the weights the file will hold
        return cls(char, word, coef, intercept, p)

    # -- scoring -------------------------------------------------------------------------------------------------
    def predict_proba(self, texts: Any) -> np.ndarray:
        """P(positive) of each text (normalised with `guardrails.normalize.canonical` first, as in training)."""
        docs = [canonical(t or "") for t in list(texts)]
        scored = {d: self._score(d) for d in dict.fromkeys(docs)}  # a scanner's forms often repeat (no leetspeak)
        z = np.array([scored[d] for d in docs], dtype=np.float64)
        return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)

    def _score(self, doc: str) -> float:
        ck, wk = self._keys(doc)
        c1, v1 = self.char.rows(ck)
        c2, v2 = self.word.rows(wk)
        return float(v1 @ self.coef[c1] + v2 @ self.coef[c2 + len(self.char.vocab)]) + self.intercept

    def predict_proba_lines(self, lines: list[str]) -> np.ndarray:
        """`predict_proba` of fastText-style lines (the forms `guardrails.classifier.score_forms` builds)."""
        return self.predict_proba([ln.rstrip("\n") for ln in lines])

    # -- file ----------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        buf = io.BytesIO()
        np.savez_compressed(buf, char_vocab=self.char.vocab, char_idf=self.char.idf.astype(np.float16),
                            word_vocab=self.word.vocab, word_idf=self.word.idf.astype(np.float16),
                            coef=self.coef.astype(np.float16), intercept=np.array([self.intercept]),
                            params=np.frombuffer(json.dumps(asdict(self.params)).encode("utf-8"), dtype=np.uint8))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> NgramClassifier:
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                params = NgramParams(**json.loads(z["params"].tobytes().decode("utf-8")))
                char = _Block(z["char_vocab"], z["char_idf"])
                word = _Block(z["word_vocab"], z["word_idf"])
                coef, intercept = z["coef"], float(z["intercept"][0])
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise WinnowError(f"{path} is not an n-gram model written by `winnow guard train` ({e})") from e
        if coef.shape[0] != len(char.vocab) + len(word.vocab):
            raise WinnowError(f"{path}: {coef.shape[0]} coefficients for {len(char.vocab) + len(word.vocab)} n-grams")
        return cls(char, word, coef, intercept, params)
