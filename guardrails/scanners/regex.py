"""Regex: the user's own named patterns (LLM Guard's Regex scanner), to block or redact what they match.

Each pattern has a name (the span label and the redaction placeholder's `{label}`); a bare string in a policy
is named `pattern_1`, `pattern_2`, ... by position. `mode: block` flags a text where any pattern matches
(`match: search`) or where one matches the whole text (`match: fullmatch`); `mode: allow` inverts that: the
text must match one of them (an allow-list, e.g. "answers are a JSON object"). Every match is a span and is
replaced in the sanitized text, so a policy's `action: redact` removes it and `action: block` refuses the text.

Patterns are compiled with `regex` (Python `re` syntax; a literal prefix is found by a fast scan, ~10x `re`
on keyword-led patterns), validated when the policy loads: a pattern that does not compile is an error that
names it. In `search` mode an RE2 set (`regex_prefilter`) first says, in one pass, which patterns can match the
text (ASCII or not: non-ASCII text is asked of a wider set); only those run (most prompts match none, and then
no pattern runs at all).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import regex
from pydantic import BaseModel, ConfigDict, Field

from curation.errors import WinnowError
from curation.regex_prefilter import Prefilter
from guardrails.base import CHUNK_CHARS, Scanner, ScannerConfig, Span, Verdict, chunks, redact


class NamedPattern(BaseModel):
    """One pattern and the name its findings carry."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="label of its spans (and of the placeholder)")
    pattern: str = Field(min_length=1, description="a Python regular expression")


class RegexConfig(ScannerConfig):
    patterns: list[NamedPattern | str] = Field(default_factory=list, description="named patterns or bare strings")
    mode: Literal["block", "allow"] = Field("block", description="block: a match is a finding; allow: no match is")
    match: Literal["search", "fullmatch"] = Field("search", description="anywhere, or the whole text")
    placeholder: str = Field("[REDACTED:{label}]", description="what a match is replaced with")


class Regex(Scanner):
    """Flags (and redacts) what the configured patterns match, or what none of them matches in `allow` mode."""

    name: ClassVar[str] = "regex"
    kind: ClassVar[str] = "both"
    Config: ClassVar[type[ScannerConfig]] = RegexConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg: RegexConfig = self.config  # type: ignore[assignment]
        self._compiled: list[tuple[str, Any]] = []
        for i, p in enumerate(cfg.patterns, 1):
            named = p if isinstance(p, NamedPattern) else NamedPattern(name=f"pattern_{i}", pattern=p)
            try:
                self._compiled.append((named.name, regex.compile(named.pattern)))
            except regex.error as e:
                raise WinnowError(f"regex: pattern {named.name!r} ({named.pattern!r}) does not compile: {e}") from e
        self._prefilter = (Prefilter.build([rx.pattern for _, rx in self._compiled], unicode=True)
                           if cfg.match == "search" else None)
        if cfg.mode == "block" and self._prefilter is not None and not self._prefilter._always:
            self._nothing_in = self._no_match  # no pattern can match: clean, at once

    def _no_match(self, text: str) -> bool:
        """No pattern can match `text` (one RE2 pass; a text of one chunk, as `_scan` would read it)."""
        return len(text) <= CHUNK_CHARS and self._prefilter.rules_out_all(text)

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        cfg: RegexConfig = self.config  # type: ignore[assignment]
        spans: list[Span] = []
        if cfg.match == "fullmatch":
            for label, rx in self._compiled:
                if rx.fullmatch(text):
                    spans.append(Span(0, len(text), label, 1.0, text))
                    break
        else:
            for base, piece in chunks(text):
                todo = self._prefilter.candidates(piece) if self._prefilter is not None else None
                for label, rx in self._compiled if todo is None else [self._compiled[i] for i in todo]:
                    spans.extend(Span(base + m.start(), base + m.end(), label, 1.0, m.group())
                                 for m in rx.finditer(piece) if m.end() > m.start())
                if self.expired():
                    break
        if cfg.mode == "allow":
            if spans or not self._compiled:
                return self.verdict(text, 0.0)
            return self.verdict(text, 1.0, reasons=["no allowed pattern matches"])
        if not spans:
            return self.verdict(text, 0.0)
        labels = sorted({s.label for s in spans})
        return self.verdict(text, 1.0, sanitized=redact(text, spans, cfg.placeholder), spans=spans,
                            reasons=[f"{lab}: {sum(s.label == lab for s in spans)} match(es)" for lab in labels])
