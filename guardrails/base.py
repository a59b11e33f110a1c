"""The scanner interface: `scan(text, prompt=None) -> Verdict`, one scanner a module (LLM Guard's shape).

A scanner wraps a detector (curation's PII engine, its fastText classifiers, its decontamination n-gram
index) and turns what it finds into a `Verdict`: a risk score in [0, 1], valid or not against the
scanner's threshold, the spans it found, the text with them redacted, and how long it took. Scanners never
raise on odd input (empty, huge, lone surrogates, binary junk): `clean_text` makes any input a valid
`str` first. Long work checks `expired()` between chunks so a policy's time budget can cut it short.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from curation.errors import WinnowError


@dataclass
class Span:
    """A character range of the scanned text (end exclusive) and what the scanner found there."""

    start: int
    end: int
    label: str
    score: float = 1.0
    text: str | None = None


@dataclass
class Verdict:
    """One scanner's answer for one text. `score` is the risk in [0, 1] (higher = riskier)."""

    scanner: str
    valid: bool
    score: float
    sanitized: str
    spans: list[Span] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    action: str | None = None  # set by the policy: "block" | "redact" | "warn" | None
    timed_out: bool = False
    unmapped: bool = False  # a finding it could not place in the text: `sanitized` may still hold it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ScannerConfig(BaseModel):
    """Base of every scanner's config: a typo in a policy is an error that names the field."""

    model_config = ConfigDict(extra="forbid")


def clean_text(text: Any) -> str:
    """Any input as a valid str: None -> "", bytes decoded as UTF-8 with replacement, lone surrogates and
    NUL bytes -> U+FFFD (they cannot be encoded, printed or stored as JSON)."""
    if text is None:
        return ""
    if type(text) is str and text.isascii():  # the common case, O(1): no surrogates to replace
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    if isinstance(text, bytes | bytearray | memoryview):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # one U+FFFD per lone surrogate
        text = text.encode("utf-16-le", errors="surrogatepass").decode("utf-16-le", errors="replace")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


class Scanner(ABC):
    """Subclasses set `name`, `kind` ("input" | "output" | "both") and `Config`, and implement `_scan`."""

    name: ClassVar[str]
    kind: ClassVar[str]
    Config: ClassVar[type[BaseModel]] = ScannerConfig
    default_threshold: ClassVar[float] = 0.5  # a policy entry without `threshold` uses this
    # optional, set by a scanner that has one: a one-call test that an ASCII text holds nothing it looks for
    # (e.g. one RE2 pass over a pattern set); `scan` then answers with a clean verdict at once, skipping
    # `clean_text`, `_scan` and its bookkeeping (~1.5 us, a sixth of a 1 KB pattern scan)
    _nothing_in: Callable[[str], bool] | None = None

    def __init__(self, config: BaseModel | dict[str, Any] | None = None, *, threshold: float | None = None) -> None:
        if config is None:
            config = self.Config()
        elif isinstance(config, dict):
            config = self.Config.model_validate(config)
        elif not isinstance(config, self.Config):
            raise WinnowError(f"scanner {self.name}: config must be {self.Config.__name__}, "
                              f"got {type(config).__name__}")
        self.config = config
        self.threshold = float(self.default_threshold if threshold is None else threshold)
        self._deadline: float | None = None

    def expired(self) -> bool:
        """True once the current scan has run past its time budget (checked between chunks of work)."""
        return self._deadline is not None and time.perf_counter() > self._deadline

    def scan(self, text: str, prompt: str | None = None, *, budget_ms: float | None = None) -> Verdict:
        """Scan `text` (and, for output scanners, the `prompt` that produced it); measures its own latency.

        With `budget_ms`, the scanner stops at its next check after the budget and the verdict is marked
        `timed_out` (whatever it found so far is kept)."""
        t0 = time.perf_counter()
        quick = self._nothing_in
        if quick is not None and type(text) is str and text.isascii() and "\x00" not in text and quick(text):
            v = Verdict(self.name, 0.0 < self.threshold, 0.0, text, [], [])
            v.latency_ms = (time.perf_counter() - t0) * 1000.0
            v.timed_out = budget_ms is not None and v.latency_ms > budget_ms
            return v
        self._deadline = t0 + budget_ms / 1000.0 if budget_ms is not None else None
        try:
            text = clean_text(text)
            v = self._scan(text, clean_text(prompt) if prompt is not None else None)
        finally:
            deadline, self._deadline = self._deadline, None
        end = time.perf_counter()
        v.scanner = self.name
        v.score = float(min(1.0, max(0.0, v.score)))
        v.latency_ms = (end - t0) * 1000.0
        if deadline is not None and end > deadline:
            v.timed_out = True
        return v

    def verdict(self, text: str, score: float, *, sanitized: str | None = None, spans: list[Span] | None = None,
                reasons: list[str] | None = None) -> Verdict:
        """A verdict with `valid` decided by this scanner's threshold (score >= threshold is a finding)."""
        # positional: keyword arguments cost ~0.7 us a call, a third of a pattern scanner's clean verdict
        return Verdict(self.name, score < self.threshold, score, text if sanitized is None else sanitized,
                       spans or [], reasons or [])

    @abstractmethod
    def _scan(self, text: str, prompt: str | None) -> Verdict:
        """Scan a clean `text`; return `self.verdict(...)`."""


CHUNK_CHARS = 65_536  # huge texts are scanned in pieces, so a time budget can stop between them


def chunks(text: str, size: int = CHUNK_CHARS) -> list[tuple[int, str]]:
    """(offset, piece) cut at whitespace near every `size` characters (a value is never split in two)."""
    if len(text) <= size:
        return [(0, text)]
    out, pos = [], 0
    while pos < len(text):
        end = min(len(text), pos + size)
        if end < len(text):
            cut = max(text.rfind(" ", pos, end), text.rfind("\n", pos, end))
            end = cut + 1 if cut > pos else end
        out.append((pos, text[pos:end]))
        pos = end
    return out


def redact(text: str, spans: list[Span], placeholder: str = "<{label}>") -> str:
    """`text` with each span replaced by the placeholder (overlaps merged, the earliest label kept)."""
    if not spans:
        return text
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: (s.start, -s.end)):
        if s.end <= pos:
            continue
        start = max(s.start, pos)
        out.append(text[pos:start])
        out.append(placeholder.format(label=s.label))
        pos = s.end
    out.append(text[pos:])
    return "".join(out)
