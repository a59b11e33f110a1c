"""Output data leakage: the answer gives back what it must not.

Three checks, any of which scores 1:
* PII echo: personal data found in the prompt (curation's PII engine, as the `pii` input scanner finds and
  redacts it) reappears in the answer;
* protected corpus: the answer reproduces passages of documents the user names (salary tables, contracts),
  found with curation's decontamination n-gram index (`curation.decontam.ngrams.BenchmarkIndex`): at least
  `min_shared_ngrams` distinct word `ngram`-grams of one document, after the same word normalisation;
* canary: a canary string planted in the system prompt appears in the answer, also spaced out, with
  zero-width characters or homoglyphs, or encoded (matched on the normalised forms).

Sanitized text: echoed PII values and canaries replaced by placeholders (a reproduced passage is reported,
not cut).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import Field

from curation.errors import WinnowError
from guardrails.base import Scanner, ScannerConfig, Span, Verdict, redact
from guardrails.normalize import canonical, normalize


class LeakageConfig(ScannerConfig):
    pii_echo: bool = Field(True, description="flag PII of the prompt repeated in the answer")
    protected: list[str] = Field(default_factory=list,
                                 description="files or folders (.txt, .md: one document each; .jsonl: a `text` "
                                             "per line) whose passages must not be reproduced")
    ngram: int = Field(8, ge=3, le=50, description="words per n-gram for the protected-corpus index")
    min_shared_ngrams: int = Field(2, ge=1, description="distinct shared n-grams of one document that flag")
    canaries: list[str] = Field(default_factory=list, description="canary strings that must never be output")
    system_prompt: str | None = Field(None, description="a system prompt whose passages must not be output")


def read_protected(paths: list[str]) -> list[tuple[str, str]]:
    """(name, text) of every protected document under the given files and folders."""
    from curation.jsonl import iter_jsonl_objects

    docs: list[tuple[str, str]] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            raise WinnowError(f"leakage: protected corpus not found: {p}")
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            if f.name.endswith((".jsonl", ".jsonl.gz")):
                for line, obj in iter_jsonl_objects(f):
                    if isinstance(obj.get("text"), str):
                        docs.append((f"{f.name}:{line}", obj["text"]))
            elif f.suffix in (".txt", ".md", ".csv", ".tsv"):
                docs.append((f.name, f.read_text(encoding="utf-8", errors="replace")))
    return docs


class Leakage(Scanner):
    """Flags answers that repeat the prompt's PII, a protected document's passages or a canary."""

    name: ClassVar[str] = "leakage"
    kind: ClassVar[str] = "output"
    Config: ClassVar[type[ScannerConfig]] = LeakageConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg: LeakageConfig = self.config  # type: ignore[assignment]
        self._pii = None
        if cfg.pii_echo:
            from guardrails.scanners.pii import Pii

            self._pii = Pii()
        docs = read_protected(cfg.protected)
        if cfg.system_prompt:
            docs.append(("system prompt", cfg.system_prompt))
        self._docs = docs
        self._index = None
        if docs:
            from curation.decontam.benchmarks import Item
            from curation.decontam.ngrams import BenchmarkIndex

            items = [Item("protected", "corpus", name, text) for name, text in docs]
            self._index = BenchmarkIndex.build(items, n=cfg.ngram, min_item_words=cfg.ngram)
        self._canaries = [(c, canonical(c)) for c in cfg.canaries if c.strip()]

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        cfg: LeakageConfig = self.config  # type: ignore[assignment]
        spans: list[Span] = []
        reasons: list[str] = []
        if self._pii is not None and prompt:
            low = text.lower()
            for ent, s, e, _ in self._pii.find(prompt):
                value = prompt[s:e]
                at = low.find(value.lower())
                while at >= 0 and len(value) >= 4:
                    spans.append(Span(at, at + len(value), ent, 1.0, text[at:at + len(value)]))
                    at = low.find(value.lower(), at + len(value))
            if spans:
                reasons.append(f"PII from the prompt repeated: {', '.join(sorted({s.label for s in spans}))}")
        if self._index is not None and text.strip():
            hits = self._index.match(pl.Series([text[:200_000]], dtype=pl.String))
            hits = hits.filter(pl.col("shared") >= cfg.min_shared_ngrams) if hits.height else hits
            for item, shared in zip(hits["item"].to_list(), hits["shared"].to_list(), strict=True):
                reasons.append(f"reproduces protected document {self._docs[item][0]!r} ({shared} shared "
                               f"{cfg.ngram}-word n-grams)")
        if self._canaries:
            low = text.lower()
            forms = None
            for raw, canon in self._canaries:
                at = low.find(raw.lower())
                if at >= 0:
                    spans.append(Span(at, at + len(raw), "CANARY", 1.0, text[at:at + len(raw)]))
                    reasons.append("canary string in the output")
                    continue
                forms = forms or normalize(text).variants
                if any(canon and canon in f for f in forms):
                    reasons.append("canary string in the output (disguised)")
        if not reasons:
            return self.verdict(text, 0.0)
        return self.verdict(text, 1.0, sanitized=redact(text, spans), spans=spans, reasons=reasons)
