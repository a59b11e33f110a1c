"""Secrets: API keys, tokens, private keys and passwords, with detect-secrets' own plugins plus what they lack.

detect-secrets (Yelp's scanner for code) ships one plugin per credential format. Its regex plugins'
`denylist` patterns run here over the whole text at once (not line by line, no verification calls), with
the plugin's name as the span label; its `KeywordDetector` (password = "...") runs on the lines that
mention a keyword. Its high-entropy plugins are off by default: they flag git hashes, UUIDs and base64
images, the look-alikes a chat prompt is full of (turn on with `entropy: true`), and the public-IP plugin
is left to the PII scanner.

Added here, because detect-secrets 1.5 misses them (each is measured by `winnow guard bench`):
GitHub fine-grained tokens (`github_pat_`), OpenAI project/service keys (`sk-proj-`, `sk-svcacct-`) and
48-character legacy keys, Anthropic keys, Hugging Face tokens, Google API keys, Slack app tokens,
`Authorization: Bearer` headers, credentials in URL query strings (`?password=`, `&api_key=`), passwords
in prose ("my password is X") and the whole PEM block of a private key (the plugin matches only its header).
"""

from __future__ import annotations

import codecs
import functools
import re
from typing import Any, ClassVar

import regex
from pydantic import Field

from guardrails.base import Scanner, ScannerConfig, Span, Verdict, chunks, redact
from guardrails.normalize import normalize

# (label, pattern, group holding the secret or 0 for the whole match)
EXTRA_PATTERNS: list[tuple[str, str, int]] = [
    ("GitHub Fine-grained Token", r"github_pat_[A-Za-z0-9_]{60,100}", 0),
    ("OpenAI Token", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,200}", 0),
    ("OpenAI Token", r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9]{48}(?![A-Za-z0-9])", 0),
    ("Anthropic Key", r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,120}", 0),
    ("Hugging Face Token", r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{34,40}(?![A-Za-z0-9])", 0),
    ("Google API Key", r"AIza[0-9A-Za-z_\-]{35}", 0),
    ("Slack App Token", r"xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{32,}", 0),
    ("Bearer Token", r"(?i:authorization)\s*[:=]\s*[\"']?(?i:bearer)\s+([A-Za-z0-9\-._~+/]{16,}=*)", 1),
    # a value assigned to a token/secret/key name (`api_token: "9f3a..."`): KeywordDetector's list lacks "token"
    ("Keyword Token", r"(?i:\b[a-z0-9_.\-]*(?:token|secret|api_?key)[\"']?)\s*[:=]\s*[\"'`]"
                      r"((?=[^\s\"'`]*\d)(?=[^\s\"'`]*[A-Za-z])[A-Za-z0-9_\-./+=]{16,})[\"'`]", 1),
    ("Password in URL", r"[?&](?i:password|passwd|pwd|pass|secret|token|api_?key|access_?token|auth)"
                        r"=([^&#\s\"'<>]{4,})", 1),
    ("Password in Text", r"(?i:\b(?:password|passwd|passphrase|pwd|passcode|api[ _-]?key|secret[ _-]?key|"
                         r"access[ _-]?token)\b(?:\s+(?:is|was|=|:)|\s*[:=]))\s*[\"'`]?"
                         r"((?=[^\s\"'`]*\d)(?=[^\s\"'`]*[A-Za-z])[^\s\"'`]{6,})", 1),
]
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----|\n\s*\n")
# a keyword followed by an assignment or call within a few characters: what KeywordDetector's patterns need
_KEYWORD_LINE = regex.compile(r"(?i)(?:pass|pwd|secret|key|token|auth|cred)[^\n=:(]{0,30}[=:(]")
# a token of 6+ characters mixing letters and digits: the credentials a rot13 reading can reveal have one (rot13
# keeps digits), so the text's own rot13 reading (`rot13*`, tried here) is scanned only when it holds one
# a word of 6+ characters holding a digit and a letter; lookaheads that each stop at the word's end (linear:
# a lazy `\S*?(?:\d\S*?[a-z]|...)` rescanned the rest of a long word at every step, minutes for 1 MB of "x")
_KEY_SHAPED = regex.compile(r"(?<!\S)(?=\S{6})(?=[^\s\d]*\d)(?=[^\sa-z]*[a-z])")
CASE_ONLY = frozenset({"Twilio API Key"})  # patterns matched on the raw text only (and its leet reading)
# leetspeak's digit for each letter (`guardrails.evasions.LEET`, the usual a4 e3 i1 o0 s5 t7)
LEET_DIGITS = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_TRIM = " \t\r\n\"'=:`,;"
WINDOW_BEFORE, WINDOW_AFTER = 40, 200
# a short word of letters and leetspeak digits, with both (`c4n`, `7h15`, `d3bug`): two of them mean leetspeak prose
_LEET_WORD = regex.compile(r"(?<!\w)(?=[a-z013457]*[a-z])(?=[a-z013457]*[013457])[a-z013457]{2,12}(?!\w)")
_LEET_LETTER = re.compile(r"[aeiost]", re.I)  # the letters leetspeak replaces: a leet-read value has none
_NON_HEX = re.compile(r"[g-z]", re.I)  # ... and a letter beyond hex (a leetspeak'd hash has none: not a key)


def _fast(rx: re.Pattern) -> Any:
    """The same pattern compiled by `regex` (re-compatible syntax, literal-prefix scans: ~10x faster here on
    detect-secrets' keyword-led patterns); `re`'s own compile when `regex` refuses it."""
    try:
        return regex.compile(rx.pattern, rx.flags & ~re.UNICODE)
    except regex.error:  # pragma: no cover - every 1.5.0 pattern compiles
        return rx


@functools.cache
def _plugins(entropy: bool) -> tuple[list[tuple[str, Any, int]], list[Any]]:
    """(regex jobs: (label, compiled, group), plugins run per line) from detect-secrets' plugin classes."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    jobs: list[tuple[str, Any, int]] = []
    line_plugins: list[Any] = []
    for secret_type, cls in get_mapping_from_secret_type_to_class().items():
        if cls.__name__ == "IPPublicDetector":
            continue
        if issubclass(cls, RegexBasedDetector):
            for rx in cls.denylist:
                jobs.append((secret_type, _fast(rx), 1 if rx.groups >= 1 else 0))
        elif cls.__name__ == "KeywordDetector" or entropy:
            line_plugins.append(cls())
    for label, pattern, group in EXTRA_PATTERNS:
        jobs.append((label, regex.compile(pattern), group))
    return jobs, line_plugins


@functools.cache
def _folded_jobs(entropy: bool) -> list[tuple[str, Any, int]]:
    """The regex jobs compiled case-insensitively, for normalised forms (`guardrails.normalize` lowercases).
    Twilio's `SK`/`AC` + 32 hex is left out: without case, and with leetspeak read back, it turns up in every
    base64 image and many hashes."""
    return [(label, regex.compile(rx.pattern, rx.flags | regex.IGNORECASE), group)
            for label, rx, group in _plugins(entropy)[0] if label not in CASE_ONLY]


def leet_tolerant(pattern: str) -> str:
    """`pattern` with every literal letter that leetspeak turns into a digit also accepting that digit
    (`sk-ant-` -> `[sS5]k-[aA4]n[tT7]-`), and every character class holding such a letter also holding its digit
    (`[a-z]` -> `[a-z013457]`). Leetspeak changes a key's own characters, so reading it back (`7` -> `t`)
    cannot restore the digits a format asks for; matching both readings at once can. Escapes, group syntax
    (`(?:`, `(?P<name>`, `(?i:`) and `{m,n}` are copied as they are."""
    out: list[str] = []
    i, n = 0, len(pattern)

    def class_digits(body: str) -> str:
        letters = set()
        for m in re.finditer(r"(\\.)|(.)-(.)|(.)", body):
            if m.group(1):
                continue
            if m.group(2):
                lo, hi = m.group(2), m.group(3)
                letters |= {c for c in LEET_DIGITS if lo <= c <= hi or lo <= c.upper() <= hi}
            elif m.group(4):
                letters |= {m.group(4).lower()} & set(LEET_DIGITS)
        return "".join(LEET_DIGITS[c] for c in sorted(letters))

    while i < n:
        c = pattern[i]
        if c == "\\":
            j = i + 2
            if i + 1 < n and pattern[i + 1] in "pPN" and j < n and pattern[j] == "{":
                j = pattern.index("}", j) + 1
            elif i + 1 < n and pattern[i + 1] == "x":
                j = i + 4
            out.append(pattern[i:j])
            i = j
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            body = pattern[i + 1:j]
            extra = "" if body.startswith("^") else class_digits(body)
            out.append(f"[{extra}{body}]" if not body.startswith("-") else f"[{extra}\\{body}]")
            i = j + 1
        elif c == "(" and pattern.startswith("(?", i):
            j = i + 2
            if pattern.startswith(("P<", "<"), j) and not pattern.startswith(("<=", "<!"), j):
                j = pattern.index(">", j) + 1
            else:
                while j < n and pattern[j].isalpha():
                    j += 1
            out.append(pattern[i:j])
            i = j
        elif c == "{":
            j = pattern.find("}", i)
            j = j + 1 if j > 0 and re.fullmatch(r"\{\d*,?\d*\}", pattern[i:j + 1]) else i + 1
            out.append(pattern[i:j])
            i = j
        elif c.lower() in LEET_DIGITS:
            out.append(f"[{c}{LEET_DIGITS[c.lower()]}]")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


@functools.cache
def _leet_jobs(entropy: bool) -> tuple[list[tuple[str, Any, int]], list[tuple[str, Any, int]]]:
    """(case-insensitive jobs, case-sensitive jobs for `CASE_ONLY`) of every pattern made `leet_tolerant`: run
    when normalisation read leetspeak in the text."""
    folded, raw = [], []
    for label, rx, group in _plugins(entropy)[0]:
        pattern = leet_tolerant(rx.pattern)
        if label in CASE_ONLY:
            raw.append((label, regex.compile(pattern, rx.flags), group))
        else:
            folded.append((label, regex.compile(pattern, rx.flags | regex.IGNORECASE), group))
    return folded, raw


class SecretsConfig(ScannerConfig):
    entropy: bool = Field(False, description="also run detect-secrets' high-entropy string plugins")
    keyword: bool = Field(True, description="run detect-secrets' KeywordDetector (password = \"...\")")
    placeholder: str = Field("<SECRET:{label}>", description="redaction text; {label} is the secret type")
    normalize: bool = Field(True, description="when the raw text has none, also scan its normalised and decoded "
                                              "forms (zero-width, homoglyphs, spacing, leetspeak, base64/hex/rot13)")


class Secrets(Scanner):
    """Finds credentials with detect-secrets' plugins (and newer formats) and redacts them."""

    name: ClassVar[str] = "secrets"
    kind: ClassVar[str] = "both"
    Config: ClassVar[type[ScannerConfig]] = SecretsConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg: SecretsConfig = self.config  # type: ignore[assignment]
        self._jobs, plugins = _plugins(cfg.entropy)
        self._line_plugins = [p for p in plugins if cfg.keyword or type(p).__name__ != "KeywordDetector"]
        if cfg.normalize:  # compile now, not inside the first scan's time budget (~0.2 s each: it timed out a scan)
            _folded_jobs(cfg.entropy)
            _leet_jobs(cfg.entropy)

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        cfg: SecretsConfig = self.config  # type: ignore[assignment]
        spans = self._find(text, self._jobs)
        reasons: list[str] = []
        if cfg.normalize:  # always: a plain key beside a disguised one must not hide the disguised one
            more, reasons = self._find_disguised(self._blanked(text, spans))
            spans = self._dedup(spans + more)
        if not spans and not reasons:
            return self.verdict(text, 0.0)
        labels = sorted({s.label for s in spans})
        v = self.verdict(text, 1.0, sanitized=redact(text, spans, cfg.placeholder), spans=spans,
                         reasons=[*labels, *reasons])
        v.unmapped = bool(reasons)  # a disguised secret still in `sanitized`: the policy blocks, not redacts
        return v

    def _find_disguised(self, text: str) -> tuple[list[Span], list[str]]:
        """Secrets in the normalised and decoded forms (the injection scanner's `normalize`). A value found
        there is a span where it occurs verbatim (any case) in the text; otherwise (spaced, zero-width split,
        look-alike letters, encoded) the reason says which form held it and that the span could not be mapped."""
        cfg: SecretsConfig = self.config  # type: ignore[assignment]
        jobs = _folded_jobs(cfg.entropy)
        spans: list[Span] = []
        reasons: dict[str, None] = {}
        for base, piece in chunks(text):
            norm = normalize(piece)
            low = piece.lower()
            lower = low if len(low) == len(piece) else None  # offsets of the lowercased piece are the piece's
            plain = " ".join(piece.lower().split())
            # rot13 is decoded by `normalize` only when it reads as English; a key with a few words around it
            # does not, so its rot13 reading is tried here too (letters only: the key's shape is unchanged)
            forms = [("unicode", norm.canonical, jobs), ("leetspeak/spacing", norm.folded, jobs),
                     *((how, d, jobs) for how, d in norm.decoded),
                     *(("rot13*", codecs.encode(f, "rot13"), jobs) for f in (norm.canonical, norm.folded))]
            if len(_LEET_WORD.findall(norm.canonical, overlapped=False)) >= 2:
                # the prose is leetspeak (`c4n y0u ch3ck`): a key's own letters may be digits now, which reading
                # back cannot undo (`x0xb-9629...`): the patterns that accept either, on the text and its
                # canonical form, keeping only values leetspeak could have written (none of a e i o s t left)
                leet_folded, leet_raw = _leet_jobs(cfg.entropy)
                forms += [("leetspeak*", norm.canonical, leet_folded), ("leetspeak*", piece, leet_raw)]
            seen: set[tuple[str, str]] = set()
            for how, form, form_jobs in forms:
                if not form or (form == plain and how != "leetspeak*") or (how, form) in seen:
                    continue
                if how == "rot13*" and _KEY_SHAPED.search(form) is None:
                    continue
                seen.add((how if how == "leetspeak*" else "", form))
                for sp in self._find(form, form_jobs):
                    value = sp.text or ""
                    if how == "leetspeak*" and (_LEET_LETTER.search(value) or not _NON_HEX.search(value)):
                        continue
                    at = piece.find(value) if value else -1
                    if at < 0 and lower is not None and value:
                        at = lower.find(value.lower())
                    if at >= 0:
                        spans.append(Span(base + at, base + at + len(value), sp.label, 1.0, piece[at:at + len(value)]))
                    else:
                        reasons.setdefault(f"{sp.label} in the {how.rstrip('*')} form (span not mappable to the text)",
                                           None)
                if spans or reasons:
                    return self._dedup(spans), list(reasons)
            if self.expired():
                break
        return self._dedup(spans), list(reasons)

    def _find(self, text: str, jobs: list[tuple[str, Any, int]]) -> list[Span]:
        """Spans of every regex job and line plugin in `text`."""
        spans: list[Span] = []
        for base, piece in chunks(text):  # a 1 MB prompt is scanned in pieces, so the time budget can stop it
            for label, rx, group in jobs:
                for m in rx.finditer(piece):
                    s, e = m.span()
                    if group and m.group(group) and m.start(group) > m.start():  # a group at the start: a prefix
                        s, e = m.span(group)
                    spans.extend(self._trimmed(text, base + s, base + e, label))
            if self.expired():
                break
        if self._line_plugins:
            for pos, window in self._windows(text):
                for plugin in self._line_plugins:
                    for value in plugin.analyze_string(window):
                        at = window.find(value)
                        if at >= 0 and value:
                            spans.append(Span(pos + at, pos + at + len(value), plugin.secret_type, 1.0, value))
                if self.expired():
                    break
        return self._extend_pem(text, self._dedup(spans))

    @staticmethod
    def _windows(text: str) -> list[tuple[int, str]]:
        """(offset, piece) of the text around each keyword, within its line: the keyword plugin's patterns
        read a keyword and the quoted value after it, so a long line need not be scanned whole."""
        spans: list[list[int]] = []
        for m in _KEYWORD_LINE.finditer(text):
            a = max(text.rfind("\n", 0, m.start()) + 1, m.start() - WINDOW_BEFORE)
            nl = text.find("\n", m.end())
            b = min(nl if nl >= 0 else len(text), m.end() + WINDOW_AFTER)
            if spans and a <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
        return [(a, text[a:b]) for a, b in spans]

    @staticmethod
    def _trimmed(text: str, s: int, e: int, label: str) -> list[Span]:
        while s < e and text[s] in _TRIM:
            s += 1
        while e > s and text[e - 1] in _TRIM:
            e -= 1
        return [Span(s, e, label, 1.0, text[s:e])] if e > s else []

    @staticmethod
    def _blanked(text: str, spans: list[Span]) -> str:
        """`text` with each span's characters made spaces (offsets kept), so the plain secrets already found
        are not found again in the folded forms (where unleet may change them: `...7EXAMPLE` -> `...tEXAMPLE`)."""
        parts, pos = [], 0
        for sp in sorted(spans, key=lambda x: x.start):
            if sp.end > pos:
                start = max(pos, sp.start)
                parts += [text[pos:start], " " * (sp.end - start)]
                pos = sp.end
        return "".join(parts) + text[pos:] if parts else text

    @staticmethod
    def _dedup(spans: list[Span]) -> list[Span]:
        """Keep the longest of overlapping spans (two plugins reading one token)."""
        out: list[Span] = []
        for sp in sorted(spans, key=lambda x: (x.start, -(x.end - x.start))):
            if out and sp.start < out[-1].end:
                continue
            out.append(sp)
        return out

    @staticmethod
    def _extend_pem(text: str, spans: list[Span]) -> list[Span]:
        """A private key's span runs from its BEGIN line to its END line (or the first blank line)."""
        for sp in spans:
            if sp.label == "Private Key":
                line_start = text.rfind("\n", 0, sp.start) + 1
                m = _PEM_END.search(text, sp.end)
                sp.start, sp.end = line_start, (m.end() if m and m.group().startswith("-") else
                                                 (m.start() if m else len(text)))
                sp.text = text[sp.start:sp.end]
        return spans
