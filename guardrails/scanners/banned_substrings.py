"""Banned substrings: a configurable list of strings or whole words that must not appear.

Each entry is matched on the text and on its normalised forms (`guardrails.normalize`: NFKC, zero-width
characters removed, homoglyphs, leetspeak and spaced letters read back, decoded payloads), so
`p4ssw0rd`, `p a s s w o r d` and a Cyrillic `раssword` all match `password`. Matching is case-insensitive
unless `case_sensitive`. Matches found in the text itself are spans and are redacted in the sanitized text;
a match found only in a normalised form is reported with the form it was found in.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import regex
from pydantic import Field

from curation.errors import WinnowError
from curation.regex_prefilter import LiteralSet, Prefilter
from guardrails.base import Scanner, ScannerConfig, Span, Verdict, redact
from guardrails.normalize import canonical, normalize


class BannedSubstringsConfig(ScannerConfig):
    substrings: list[str] = Field(default_factory=list, description="strings that must not appear")
    match: Literal["substring", "word"] = Field("substring", description="anywhere, or as whole words only")
    case_sensitive: bool = False
    normalize: bool = Field(True, description="also match on the normalised forms (defeats evasion)")
    placeholder: str = Field("[REDACTED]", description="what a match is replaced with in the sanitized text")


class BannedSubstrings(Scanner):
    """Flags any listed substring (or word), also when it is disguised."""

    name: ClassVar[str] = "banned_substrings"
    kind: ClassVar[str] = "both"
    Config: ClassVar[type[ScannerConfig]] = BannedSubstringsConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg: BannedSubstringsConfig = self.config  # type: ignore[assignment]
        terms = [t for t in cfg.substrings if t.strip()]
        if len(terms) != len(cfg.substrings):
            raise WinnowError("banned_substrings: substrings must not be empty or blank")
        self._raw = self._compile(terms, cfg.case_sensitive)
        # the raw terms behind each folded one: where spans need the regex, it is compiled for the terms present
        # only (a 20-term IGNORECASE alternation costs ~1 ms on 1 KB of non-ASCII text, one term ~10 us)
        self._raw_of: dict[str, list[str]] = {}
        for t in terms:
            self._raw_of.setdefault(t if cfg.case_sensitive else t.casefold(), []).append(t)
        self._narrow: dict[tuple[str, ...], Any] = {}
        # a plain `in` per term (C memmem) over the text folded once rules out almost every prompt (`casefold`
        # folds at least what the regex's IGNORECASE folds, so it never rules out a real match). On ASCII text
        # (where lowercasing keeps every offset) substring spans come from `str.find` of the terms present; the
        # regex runs only for whole-word matching and non-ASCII text that holds a term.
        self._plain = tuple(dict.fromkeys(terms if cfg.case_sensitive else (t.casefold() for t in terms)))
        # on ASCII text one RE2 pass says which terms occur (`regex_prefilter`: ~5x faster than one `in` per term)
        self._pre = Prefilter.build([regex.escape(t) for t in self._plain], 0 if cfg.case_sensitive else regex.I)
        # other text: the folded terms as literals in one RE2 pass over the folded text (exactly the `in` test)
        self._literal = LiteralSet.build(list(self._plain))
        self._ascii_terms = all(t.isascii() for t in terms)
        # normalised forms are lowercased and folded: match the normalised terms there
        norm_terms = sorted({canonical(t) for t in terms})
        self._norm = self._compile(norm_terms, False) if cfg.normalize else None
        self._norm_plain = tuple(norm_terms)
        # non-ASCII text takes its spans from the raw terms' regex (`_find`), so an RE2 set of the raw terms read
        # as `regex` reads them on any text (`regex_prefilter`'s wide set) rules out a clean prompt in one pass
        # (~3 us on 1 KB, where casefolding it and the literal set cost ~12 us)
        pre = Prefilter.build([regex.escape(t) for t in terms], 0 if cfg.case_sensitive else regex.I, unicode=True)
        self._wide = pre if pre is not None and pre._wide is not None and not pre._wide.always else None
        # the one-term regexes compiled now, not inside the first scan that needs one (~0.1 ms each)
        if len(self._plain) <= 64:
            for t in self._plain:
                self._narrow[(t,)] = self._compile(self._raw_of[t], cfg.case_sensitive)
        self._last: tuple[str, list[int] | None] | None = None  # the ASCII set's answer for the text `_clean` read
        if self._norm is None and self._pre is not None and not self._pre._always:
            self._nothing_in = self._clean  # a clean prompt: one RE2 pass, then a verdict
        self._warm(terms)

    def _warm(self, terms: list[str]) -> None:
        """Scan each term once, in ASCII and non-ASCII text, and a near miss: the RE2 sets build their DFA
        states as texts first reach them (~20-50 us on the first prompt holding a term, measured), and that is
        work for building the scanner, not for a user's first prompt."""
        for t in list(dict.fromkeys(terms))[:64]:
            for sample in (f"a {t} b", f"A {t.upper()} \u00e9", f"\u00e9 {t[:-1]}"):
                if self._pre is not None and sample.isascii():
                    self._clean(sample)
                self._find(sample)
        self._last = None

    def _clean(self, text: str) -> bool:
        """No term can occur in `text` (one RE2 pass: the ASCII set, or the wide one for other text)."""
        if text.isascii():
            todo = self._pre.candidates(text)
            self._last = (text, todo)  # `_find` reuses it: one pass over a flagged text, not two
            return not todo
        return self._wide is not None and self._wide.rules_out_all(text)

    def _compile(self, terms: list[str], case_sensitive: bool) -> Any:
        if not terms:
            return None
        cfg: BannedSubstringsConfig = self.config  # type: ignore[assignment]
        alts = "|".join(regex.escape(t) for t in sorted(terms, key=len, reverse=True))
        pattern = rf"(?<!\w)(?:{alts})(?!\w)" if cfg.match == "word" else f"(?:{alts})"
        return regex.compile(pattern, 0 if case_sensitive else regex.IGNORECASE)

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        if self._raw is None:
            return self.verdict(text, 0.0)
        cfg: BannedSubstringsConfig = self.config  # type: ignore[assignment]
        spans = self._find(text)
        reasons = [f"banned: {', '.join(sorted({s.text or '' for s in spans}))}"] if spans else []
        if not spans and self._norm is not None:
            norm = normalize(text)
            forms = [("unicode", norm.canonical), ("leetspeak/spacing", norm.folded), *norm.decoded]
            for how, form in forms:
                m = self._norm.search(form) if any(t in form for t in self._norm_plain) else None
                if m:
                    reasons.append(f"banned: {m.group()} (in the {how} form)")
                    break
        if not reasons:
            return self.verdict(text, 0.0)
        return self.verdict(text, 1.0, sanitized=redact(text, spans, cfg.placeholder), spans=spans, reasons=reasons)

    def _find(self, text: str) -> list[Span]:
        """Spans of the terms in the text: `in` first, then `str.find` or (word mode, non-ASCII) the regex."""
        cfg: BannedSubstringsConfig = self.config  # type: ignore[assignment]
        ascii_text = text.isascii()
        if not ascii_text and self._wide is not None and self._wide.rules_out_all(text):
            return []
        last, self._last = self._last, None
        if last is not None and last[0] is text:
            todo = last[1]
        else:
            todo = self._pre.candidates(text) if self._pre is not None else None
        if todo is not None and not todo:
            return []
        folded = text if cfg.case_sensitive else text.lower() if ascii_text else text.casefold()
        if todo is None and self._literal is not None:
            present = [self._plain[i] for i in self._literal.present(folded)]
        else:
            present = [t for t in (self._plain if todo is None else [self._plain[i] for i in todo]) if t in folded]
        if not present:
            return []
        if cfg.match == "word" or not (ascii_text and self._ascii_terms):
            key = tuple(present)
            rx = self._narrow.get(key)
            if rx is None:
                if len(self._narrow) > 256:
                    self._narrow.clear()
                rx = self._narrow[key] = self._compile([r for t in present for r in self._raw_of[t]],
                                                       cfg.case_sensitive)
            return [Span(m.start(), m.end(), "BANNED", 1.0, m.group()) for m in rx.finditer(text)]
        # every occurrence, then leftmost-longest without overlaps: what the regex alternation would return
        found = []
        for t in present:
            at = folded.find(t)
            while at >= 0:
                found.append((at, at + len(t)))
                at = folded.find(t, at + 1)
        spans: list[Span] = []
        for a, b in sorted(found, key=lambda x: (x[0], x[0] - x[1])):
            if not spans or a >= spans[-1].end:
                spans.append(Span(a, b, "BANNED", 1.0, text[a:b]))
        return spans
