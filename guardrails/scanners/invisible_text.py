"""Invisible and confusable text: zero-width characters, Unicode tag characters, bidi controls, variation
selectors, private-use characters, and words that mix Latin letters with look-alikes from other scripts.

Such characters change what a filter reads without changing what a person sees: tag characters carry a
whole hidden ASCII message ("ASCII smuggling"), bidi overrides reorder what is displayed (Trojan Source),
zero-width characters split a banned word, and a Cyrillic `а` inside an English word defeats a word match.
Emoji sequences keep their zero-width joiner and variation selectors (a family emoji is not an attack),
and a byte-order mark at the very start is allowed. The sanitized text has the invisible characters
removed and mixed-script words folded to Latin.
"""

from __future__ import annotations

from typing import Any, ClassVar

import regex
from pydantic import Field

from guardrails.base import Scanner, ScannerConfig, Span, Verdict
from guardrails.normalize import _confusable_table, fold_confusables

_INVISIBLE = regex.compile(r"[\p{Cf}\p{Co}\uFE00-\uFE0F\U000E0100-\U000E01EF\u180B-\u180F\u115F\u1160\u3164\uFFA0]+")
_PICTO = regex.compile(r"\p{Extended_Pictographic}")
_WORD = regex.compile(r"\w+")
_OTHER_SCRIPT = regex.compile(r"[\p{Cyrillic}\p{Greek}\p{Armenian}\p{Cherokee}]")
_LATIN = regex.compile(r"\p{Latin}")
_SCRIPT_WORD = regex.compile(r"\b[\p{Cyrillic}\p{Greek}\p{Armenian}\p{Cherokee}]+\b")
# Characters that can be neither invisible nor a look-alike letter: ASCII, Latin-1 but the soft hyphen (U+00AD, a
# format character), Latin Extended-A/B, general punctuation up to U+205E (dashes, curly quotes, bullets, primes)
# and currency signs (a test checks every one against the two classes above). A text's other characters are
# found in one pass (~5 us per 1 KB), where the invisible class itself costs ~40 us per 1 KB in `regex`.
SAFE_RANGES = ((0x00, 0x7F), (0xA0, 0xAC), (0xAE, 0x24F), (0x2010, 0x2027), (0x2030, 0x205E), (0x20A0, 0x20CF))
_UNSAFE = regex.compile("[^" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in SAFE_RANGES) + "]")


def _label(ch: str) -> str:
    o = ord(ch)
    if 0xE0000 <= o <= 0xE007F:
        return "TAG_CHARACTERS"
    if 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069 or o in (0x200E, 0x200F, 0x061C):
        return "BIDI_CONTROL"
    if 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF or 0x180B <= o <= 0x180F:
        return "VARIATION_SELECTOR"
    if 0xE000 <= o <= 0xF8FF or o >= 0xF0000:
        return "PRIVATE_USE"
    return "ZERO_WIDTH"


class InvisibleTextConfig(ScannerConfig):
    allow_emoji_sequences: bool = Field(True, description="keep ZWJ / variation selectors next to an emoji")
    homoglyphs: bool = Field(True, description="flag words mixing Latin letters with look-alikes of other scripts")


class InvisibleText(Scanner):
    """Flags (and strips) characters a reader cannot see and words spelled with look-alike letters."""

    name: ClassVar[str] = "invisible_text"
    kind: ClassVar[str] = "both"
    Config: ClassVar[type[ScannerConfig]] = InvisibleTextConfig

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        cfg: InvisibleTextConfig = self.config  # type: ignore[assignment]
        spans: list[Span] = []
        invisible, other_script = self._suspect(text) if not text.isascii() else ("", False)
        if invisible:
            for m in self._runs_of(invisible).finditer(text):
                s, e = m.span()
                if s == 0 and m.group() == "\ufeff":
                    continue
                if cfg.allow_emoji_sequences and self._emoji_glue(text, s, e):
                    continue
                for label, (a, b) in self._runs(text, s, e):
                    spans.append(Span(a, b, label, 1.0, text[a:b]))
                if self.expired():
                    break
        if other_script and cfg.homoglyphs:
            spans.extend(self._homoglyphs(text))
        if not spans:
            return self.verdict(text, 0.0)
        spans.sort(key=lambda s: s.start)
        kinds = sorted({s.label for s in spans})
        return self.verdict(text, 1.0, sanitized=self._sanitize(text, spans), spans=spans,
                            reasons=[f"{len([s for s in spans if s.label == k])} x {k}" for k in kinds])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _confusable_table()  # load the confusables table now, not inside the first scan's time budget

    @staticmethod
    def _suspect(text: str) -> tuple[str, bool]:
        """(the distinct invisible characters, any letter of a look-alike script): the classes tested on the
        distinct characters outside `SAFE_RANGES` only, so a prompt with curly quotes or accents is cleared in
        one cheap pass, and a flagged one then runs only the pass it needs."""
        chars = "".join(set(_UNSAFE.findall(text)))
        if not chars:
            return "", False
        return "".join(_INVISIBLE.findall(chars)), _OTHER_SCRIPT.search(chars) is not None

    _run_cache: ClassVar[dict[str, Any]] = {}

    @classmethod
    def _runs_of(cls, chars: str) -> Any:
        """A pattern for runs of exactly these characters: where they are the text's only invisible ones, its
        matches are those of the whole invisible class, at a literal class's speed."""
        key = "".join(sorted(chars))
        rx = cls._run_cache.get(key)
        if rx is None:
            if len(cls._run_cache) > 256:
                cls._run_cache.clear()
            rx = cls._run_cache[key] = regex.compile("[" + "".join(f"\\U{ord(c):08x}" for c in key) + "]+")
        return rx

    @staticmethod
    def _emoji_glue(text: str, s: int, e: int) -> bool:
        """A variation selector after an emoji or keycap base, or joiners between emoji: presentation, not
        hiding."""
        run = text[s:e]
        if not set(run) <= {"\u200d", "\ufe0f", "\ufe0e"} or s == 0:
            return False
        prev = text[s - 1]
        before = _PICTO.match(prev) is not None or prev in "0123456789#*"
        if "\u200d" not in run:
            return before
        return before and e < len(text) and _PICTO.match(text[e]) is not None

    @staticmethod
    def _runs(text: str, s: int, e: int) -> list[tuple[str, tuple[int, int]]]:
        """A run of invisible characters split where its kind changes."""
        out: list[tuple[str, tuple[int, int]]] = []
        start, cur = s, _label(text[s])
        for i in range(s + 1, e):
            lab = _label(text[i])
            if lab != cur:
                out.append((cur, (start, i)))
                start, cur = i, lab
        out.append((cur, (start, e)))
        return out

    @staticmethod
    def _homoglyphs(text: str) -> list[Span]:
        if _OTHER_SCRIPT.search(text) is None:
            return []
        out = []
        for m in _WORD.finditer(text):
            w = m.group()
            if _OTHER_SCRIPT.search(w) and _LATIN.search(w):
                out.append(Span(m.start(), m.end(), "MIXED_SCRIPT", 1.0, w))
        # whole words in look-alike letters inside Latin text ("аре" written in Cyrillic)
        if _LATIN.search(text):
            latin_words = sum(1 for w in _WORD.findall(text) if _LATIN.search(w))
            for m in _SCRIPT_WORD.finditer(text):
                folded = fold_confusables(m.group())
                if folded.isascii() and latin_words >= 2 * len(_SCRIPT_WORD.findall(text)):
                    out.append(Span(m.start(), m.end(), "MIXED_SCRIPT", 1.0, m.group()))
        return out

    @staticmethod
    def _sanitize(text: str, spans: list[Span]) -> str:
        parts, pos = [], 0
        for sp in spans:
            if sp.start < pos:
                continue
            parts.append(text[pos:sp.start])
            if sp.label == "MIXED_SCRIPT":
                parts.append(fold_confusables(text[sp.start:sp.end]))
            pos = sp.end
        parts.append(text[pos:])
        return "".join(parts)
