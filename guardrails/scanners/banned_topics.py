"""Banned topics: a topic is a name, keywords and example sentences, matched without any model call.

Two signals, the stronger deciding (score in [0, 1]):
* keywords: distinct keywords of the topic found as whole words (plural -s/-es allowed) in the normalised
  text, a weak keyword (a word with an everyday meaning too, like "function" or "area") counting half;
  `min_keywords` of them score `keyword_score` (fewer score proportionally less);
* examples: TF-IDF (scikit-learn, word 1-2-grams, fitted on the configured topics' examples and a shipped
  set of background sentences on everyday subjects) cosine similarity to the topic's nearest example,
  minus the similarity to the nearest background sentence, divided by `similarity_scale` (a margin of
  `similarity_scale` or more scores 1): "near a coding example" only counts when it is not as near to
  an ordinary request.

Topics ship in `guardrails/topics/*.yaml` (coding, math, politics: written by hand, none taken from
MT-Bench or Vicuna, which measure them) and may be given inline in a policy. The verdict names the topic.
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
    similarity_scale: float = Field(0.3, gt=0, le=1,
                                    description="TF-IDF cosine margin over the background that scores 1")


class BannedTopics(Scanner):
    """Flags text about a banned topic (keywords and nearest-example similarity, no LLM)."""

    name: ClassVar[str] = "banned_topics"
    kind: ClassVar[str] = "both"
    Config: ClassVar[type[ScannerConfig]] = BannedTopicsConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg: BannedTopicsConfig = self.config  # type: ignore[assignment]
        self.topics = [load_topic(t) if isinstance(t, str) else t for t in cfg.topics]
        self._keywords = [self._keyword_regex(t.keywords) for t in self.topics]
        self._weak = [self._keyword_regex(t.weak_keywords) for t in self.topics]
        examples = [(i, canonical(e)) for i, t in enumerate(self.topics) for e in t.examples]
        examples += [(-1, canonical(b)) for b in background_sentences()]
        self._vec = None
        if any(i >= 0 for i, _ in examples):
            from sklearn.feature_extraction.text import TfidfVectorizer

            texts = [e for _, e in examples]
            self._vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts)
            self._examples = self._vec.transform(texts)
            self._owner = np.array([i for i, _ in examples])

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
        sims, background = None, 0.0
        if self._vec is not None:
            sims = (self._vec.transform(forms) @ self._examples.T).toarray().max(axis=0)  # per example, best form
            background = float(sims[self._owner == -1].max()) if (self._owner == -1).any() else 0.0
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
            sim = float(sims[self._owner == i].max()) if sims is not None and (self._owner == i).any() else 0.0
            ex = min(1.0, max(0.0, sim - background) / cfg.similarity_scale) if sims is not None else 0.0
            why = (f"{topic.name}: keywords {sorted(found)[:6]}, nearest example similarity {sim:.2f} "
                   f"(background {background:.2f})" if sims is not None else f"{topic.name}: keywords {sorted(found)}")
            out.append((max(kw, ex), why))
        return out

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        if not self.topics or not text.strip():
            return self.verdict(text, 0.0)
        scores = self.topic_scores(text)
        best = max(s for s, _ in scores)
        reasons = [why for s, why in scores if s >= self.threshold]
        return self.verdict(text, best, reasons=reasons)
