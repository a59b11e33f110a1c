"""Toxicity: curation's fastText toxicity detector (the shipped `guardrails/models/toxicity.bin`, which
curation's `toxicity` step also uses when the workspace has no model) plus an optional word list.

The classifier scores every normalised form of the text (leetspeak, spacing, homoglyphs and encoded
payloads read back), the riskiest deciding. The word list is a file the user names (one term per line,
e.g. LDNOOBW's English list; none ships with Winnow), matched exactly as curation's `toxic_words` step
does (`load_wordlist` / `wordlist_pattern`, whole words, on the normalised forms); a listed term found
scores `wordlist_score`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import polars as pl
from pydantic import Field

from guardrails.base import Scanner, ScannerConfig, Span, Verdict
from guardrails.classifier import load_classifier, score_forms
from guardrails.normalize import normalize


class ToxicityConfig(ScannerConfig):
    model: str | None = Field(None, description="fastText .bin (default: the shipped guardrails/models/toxicity.bin)")
    wordlist: str | None = Field(None, description="file with one listed term per line")
    wordlist_score: float = Field(0.9, ge=0, le=1, description="score when a listed term is found")


class Toxicity(Scanner):
    """Flags hateful or offensive text; scores the riskiest normalised form."""

    name: ClassVar[str] = "toxicity"
    kind: ClassVar[str] = "both"
    Config: ClassVar[type[ScannerConfig]] = ToxicityConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg: ToxicityConfig = self.config  # type: ignore[assignment]
        self.clf = load_classifier("toxicity", cfg.model)
        self._pattern: str | None = None
        if cfg.wordlist:
            from curation.steps.toxicity import load_wordlist, wordlist_pattern

            self._pattern = wordlist_pattern(load_wordlist(cfg.wordlist))
        score_forms(self.clf, "warm up: the first predict loads Arrow")

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        cfg: ToxicityConfig = self.config  # type: ignore[assignment]
        best = score_forms(self.clf, text, self.expired)
        score = best.prob
        reasons = [f"classifier {best.prob:.2f} on the {best.form} form"] if best.prob >= self.threshold else []
        spans: list[Span] = []
        if self._pattern is not None and text:
            terms = self.listed_terms(text)
            if terms:
                score = max(score, cfg.wordlist_score)
                reasons.append(f"listed terms: {', '.join(sorted(terms))}")
                low = text.lower()
                for term in terms:
                    at = low.find(term)
                    if at >= 0:
                        spans.append(Span(at, at + len(term), "LISTED_TERM", 1.0, text[at:at + len(term)]))
        return self.verdict(text, score, spans=spans, reasons=reasons)

    def listed_terms(self, text: str) -> set[str]:
        """Listed terms found in any normalised form of the text (one Polars regex pass over the forms)."""
        norm = normalize(text)
        found = pl.Series([f for f in norm.variants], dtype=pl.String).str.extract_all(self._pattern)
        return {" ".join(t.split()) for row in found.to_list() for t in (row or [])}
