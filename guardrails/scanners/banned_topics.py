"""Banned topics: a topic is a name, keywords and example sentences, matched without any model call.

The score of a topic (in [0, 1]) is the mean of two signals, so neither alone decides:
* keywords: distinct keywords of the topic found as whole words (plural -s/-es allowed) in the normalised
  text, a weak keyword (a word with an everyday meaning too, like "function" or "area") counting half;
  `min_keywords` of them score `keyword_score` (fewer score proportionally less);
* examples: a logistic regression (scikit-learn, fitted when the scanner is built, in ~0.2 s) over TF-IDF
  word 1-2-grams and character 2-5-grams, trained on the topic's example sentences against a shipped set of
  background sentences on everyday subjects and the other configured topics' examples: the probability
  that the text reads like the topic's examples rather than like an ordinary request.

A topic needs both to pass the default threshold (0.45): a keyword list alone flags "the area of my garden",
examples alone flag short requests that merely share phrasing. The design (mean rather than max or product of
the signals, C, the character n-grams, the threshold) was chosen on self-instruct's human-written
instructions labelled coding/math by hand; the categorised MT-Bench and Vicuna questions measure it.

Topics ship in `guardrails/topics/*.yaml` (coding, math, politics: written by hand, none taken from
MT-Bench or Vicuna) and may be given inline in a policy. The verdict names the topic.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, ClassVar

import numpy as np
import regex
import yaml
from pydantic import BaseModel, ConfigDict, Field

from curation.errors import WinnowError
from guardrails.base import Scanner, ScannerConfig, Verdict
from guardrails.normalize import canonical, normalize


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    keywords: list[str] = Field(default_factory=list)
    weak_keywords: list[str] = Field(default_factory=list, description="words with everyday meanings: count half")
    examples: list[str] = Field(default_factory=list)


def builtin_topics() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("guardrails.topics").iterdir() if p.name.endswith(".yaml"))


def background_sentences() -> list[str]:
    text = resources.files("guardrails.topics").joinpath("background.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def load_topic(name: str) -> Topic:
    """A topic shipped in guardrails/topics/<name>.yaml."""
    if name not in builtin_topics():
        raise WinnowError(f"unknown built-in topic {name!r}; built-in topics: {', '.join(builtin_topics())} "
                          f"(or give name, keywords and examples inline)")
    text = resources.files("guardrails.topics").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return Topic.model_validate(yaml.safe_load(text))


class BannedTopicsConfig(ScannerConfig):
    topics: list[str | Topic] = Field(default_factory=list, description="built-in topic names or inline topics")
    min_keywords: int = Field(2, ge=1, description="distinct keywords that give `keyword_score`")
    keyword_score: float = Field(0.9, ge=0, le=1)
    regularization: float = Field(4.0, gt=0, description="inverse regularisation (C) of the example classifier")


class BannedTopics(Scanner):
    """Flags text about a banned topic (keywords and nearest-example similarity, no LLM)."""

    name: ClassVar[str] = "banned_topics"
    kind: ClassVar[str] = "both"
    Config: ClassVar[type[ScannerConfig]] = BannedTopicsConfig
    default_threshold: ClassVar[float] = 0.45

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg: BannedTopicsConfig = self.config  # type: ignore[assignment]
        self.topics = [load_topic(t) if isinstance(t, str) else t for t in cfg.topics]
        self._keywords = [self._keyword_regex(t.keywords) for t in self.topics]
        self._weak = [self._keyword_regex(t.weak_keywords) for t in self.topics]
        examples = [(i, canonical(e)) for i, t in enumerate(self.topics) for e in t.examples]
        examples += [(-1, canonical(b)) for b in background_sentences()]
        self._features = None
        self._models: list[Any] = []
        if any(i >= 0 for i, _ in examples):
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import FeatureUnion

            texts = [e for _, e in examples]
            owner = np.array([i for i, _ in examples])
            self._features = FeatureUnion([
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
            ]).fit(texts)
            x = self._features.transform(texts)
            for i in range(len(self.topics)):
                y = owner == i
                model = LogisticRegression(C=cfg.regularization, class_weight="balanced", solver="liblinear")
                self._models.append(model.fit(x, y) if y.any() else None)
            self._compile_scoring()

    def _compile_scoring(self) -> None:
        """Per vectorizer: its analyzer and, per n-gram it knows, idf and every topic's weight, so a scan is one
        pass over the text's n-grams in plain Python (sklearn's transform + predict_proba cost ~4 ms a call)."""
        fitted = [m for m in self._models if m is not None]
        coef = np.vstack([m.coef_[0] for m in fitted])  # topics x features
        self._intercepts = np.array([m.intercept_[0] for m in fitted])
        self._parts = []
        offset = 0
        for _, vec in self._features.transformer_list:
            n = len(vec.vocabulary_)
            self._parts.append((vec.build_analyzer(), vec.vocabulary_, np.asarray(vec.idf_),
                                np.ascontiguousarray(coef[:, offset:offset + n])))
            offset += n

    def _probabilities(self, text: str) -> np.ndarray:
        """The fitted models' probabilities for `text` (topics with examples, in order): TF-IDF with sublinear tf
        and l2 norm per vectorizer, as `TfidfVectorizer` computes it, then the logistic function."""
        z = self._intercepts.copy()
        for analyzer, vocab, idf, coef in self._parts:
            counts: dict[int, int] = {}
            for g in analyzer(text):
                j = vocab.get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
            w = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[idx]
            z += coef[:, idx] @ w / np.sqrt(w @ w)
        return 1.0 / (1.0 + np.exp(-z))

    @staticmethod
    def _keyword_regex(keywords: list[str]) -> Any:
        words = sorted({canonical(k) for k in keywords if k.strip()}, key=len, reverse=True)
        if not words:
            return None
        alts = "|".join(regex.escape(w) + ("(?:e?s)?" if w[-1].isalpha() else "") for w in words)
        return regex.compile(rf"(?<!\w)(?:{alts})(?!\w)")

    def topic_scores(self, text: str) -> list[tuple[float, str]]:
        """(score, explanation) per topic, in the config's order."""
        cfg: BannedTopicsConfig = self.config  # type: ignore[assignment]
        norm = normalize(text[:20_000])
        forms = list(dict.fromkeys([norm.canonical, norm.folded, *(d for _, d in norm.decoded)]))
        out = []
        probs = np.max([self._probabilities(f) for f in forms], axis=0) if self._features is not None else None
        fitted = 0
        for i, topic in enumerate(self.topics):
            found: set[str] = set()
            weak: set[str] = set()
            for f in forms:
                if self._keywords[i] is not None:
                    found.update(m.group() for m in self._keywords[i].finditer(f))
                if self._weak[i] is not None:
                    weak.update(m.group() for m in self._weak[i].finditer(f))
            kw = cfg.keyword_score * min(1.0, (len(found) + 0.5 * len(weak - found)) / cfg.min_keywords)
            found |= weak
            model = self._models[i] if self._models else None
            if model is None:  # a topic without examples: its keywords alone decide
                out.append((kw, f"{topic.name}: keywords {sorted(found)[:6]}"))
                continue
            p = float(probs[fitted])  # the most topic-like form of the text
            fitted += 1
            out.append(((kw + p) / 2, f"{topic.name}: keywords {sorted(found)[:6]} (score {kw:.2f}), "
                                      f"examples classifier {p:.2f}"))
        return out

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        if not self.topics or not text.strip():
            return self.verdict(text, 0.0)
        scores = self.topic_scores(text)
        best = max(s for s, _ in scores)
        reasons = [why for s, why in scores if s >= self.threshold]
        return self.verdict(text, best, reasons=reasons)
