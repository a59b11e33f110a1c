"""Where a Presidio regex can start, found by one linear-time RE2 pass; `regex` then runs only there.

Presidio's patterns run with the `regex` module, a backtracking engine: the URL, driver-licence and IPv6
patterns cost ~0.1-0.2 s per 1,000 web documents each, almost all of it failing at positions where no match
can start. Each pattern is rewritten for RE2 by `curation.regex_prefilter.to_re2` in its `wide`
form: lookarounds and word boundaries dropped, every class widened with any non-ASCII character, so the RE2
pattern matches wherever the original does, in any text (a superset). Then:

* every position where the original can match (any nonempty match, not only the ones `finditer` reports)
  is a position where the RE2 pattern can match, and RE2's leftmost, non-overlapping matches cover every
  such position: a search that starts at or before it either finds a match ending before it (and goes on
  from there) or one that covers it;
* `anchored_finditer` tries the original pattern at each covered position in order, which gives exactly its
  `finditer` matches, since it can start nowhere else.

A pattern that can match the empty string, or that RE2 cannot express (backreferences, ...), or any pattern
when `google-re2` is not installed, is scanned whole as before: same spans, only slower.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from curation.store import write_text_atomic

try:  # optional: a pure speed-up
    import re2
except ImportError:  # pragma: no cover - exercised where google-re2 is absent
    re2 = None

# the flag bits `re` and `regex` share and read the same way (ASCII is left out: dropping it only widens)
_PY_FLAGS = re.IGNORECASE | re.LOCALE | re.MULTILINE | re.DOTALL | re.VERBOSE
_NEUTRAL = re.ASCII | re.UNICODE  # also safe to drop; any other bit (regex's FULLCASE, V1, WORD...) is not


FORMAT = 1  # bump when what is cached changes


def _translate(pattern: str, flags: int) -> str | None:
    """The wide RE2 form of a pattern, or None when it cannot be used (see above)."""
    from re import _parser as P  # noqa: N812 - the parser `to_re2` reads too

    from curation.regex_prefilter import Unsupported, to_re2

    if flags & ~(_PY_FLAGS | _NEUTRAL):
        return None  # a `regex`-only flag changes folding or \\b in ways the RE2 form does not follow
    flags &= _PY_FLAGS
    try:
        if P.parse(pattern, flags).getwidth()[0] == 0:
            return None  # an empty match would change how finditer steps on
        return to_re2(pattern, flags, wide=True)
    except (Unsupported, re.error, ValueError, RecursionError, OverflowError):
        return None


def cache_path() -> Path:
    """Translations depend on the rewriting code (this module and `curation.regex_prefilter`): keyed by its bytes."""
    import sys

    import regex

    from curation import regex_prefilter
    from curation.fingerprint import cache_dir

    h = hashlib.sha1()
    for mod in (regex_prefilter.__file__, __file__):
        h.update(Path(mod).read_bytes())
    # the forms also follow the `regex` classes `to_re2` probes and Python's own regex parser
    h.update(f"{regex.__version__}:{sys.version_info[:2]}".encode())
    return cache_dir() / f"pii-re2-forms-v{FORMAT}-{h.hexdigest()[:16]}.json"


@functools.lru_cache(maxsize=1)
def _forms() -> dict[str, str | None]:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = isinstance(data, dict) and all(isinstance(v, str) or v is None for v in data.values())
    return data if ok else {}  # a damaged cache is translated again, never trusted


def re2_forms(patterns: list[tuple[str, int]]) -> list[str | None]:
    """The wide RE2 form of each (pattern, flags), read from the cache where it holds them (translating
    Presidio's set costs ~0.3 s a process), else translated and the cache rewritten whole."""
    forms = _forms()
    keys = [f"{int(flags)}:{p}" for p, flags in patterns]
    missing = [(k, p, flags) for k, (p, flags) in zip(keys, patterns, strict=True) if k not in forms]
    if missing:
        for k, p, f in missing:
            forms[k] = _translate(p, f)
        try:  # written whole or not at all (a temporary name, then a rename): a reader never sees half a file
            write_text_atomic(json.dumps(forms), cache_path())
        except OSError:
            pass
    return [forms[k] for k in keys]


@functools.lru_cache(maxsize=512)
def compile_re2(form: str | None) -> Any | None:
    """A compiled RE2 scanner for a wide form (None: none, the pattern is scanned whole)."""
    if re2 is None or form is None:
        return None
    opts = re2.Options()
    opts.max_mem = 64 << 20
    try:
        return re2.compile(form, opts)
    except (re2.error, TypeError):
        return None


def re2_scanners(patterns: list[tuple[str, int]]) -> list[Any | None]:
    """A scanner for each (pattern, flags), or None where it cannot be used or google-re2 is not installed."""
    if re2 is None:
        return [None] * len(patterns)
    return [compile_re2(f) for f in re2_forms(patterns)]


class Utf8Text:
    """A string's UTF-8 bytes (what RE2 reads) and the byte offset where each character starts."""

    def __init__(self, text: str, codepoints: np.ndarray | None = None) -> None:
        self.data = text.encode("utf-8")
        self.char_starts: np.ndarray | None = None  # None: ASCII, byte offsets are character offsets
        if len(self.data) != len(text):
            cp = codepoints if codepoints is not None else np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            width = 1 + (cp >= 0x80).astype(np.int64) + (cp >= 0x800) + (cp >= 0x10000)
            starts = np.zeros(len(cp) + 1, dtype=np.int64)
            np.cumsum(width, out=starts[1:])
            self.char_starts = starts


def candidate_starts(scanner: Any, text: Utf8Text) -> np.ndarray:
    """Sorted character offsets covered by the scanner's matches: every place the original pattern can start."""
    spans = [m.span() for m in scanner.finditer(text.data)]
    if not spans:
        return np.zeros(0, dtype=np.int64)
    a = np.asarray(spans, dtype=np.int64)
    lo, hi = a[:, 0], a[:, 1]
    if text.char_starts is not None:  # byte offsets -> characters (a match starts and ends on characters)
        lo = np.searchsorted(text.char_starts, lo, side="left")
        hi = np.searchsorted(text.char_starts, hi, side="left")
    hi = np.maximum(hi, lo + 1)
    mark = np.zeros(int(hi.max()) + 1, dtype=np.int64)
    np.add.at(mark, lo, 1)
    np.add.at(mark, hi, -1)
    return np.nonzero(np.cumsum(mark) > 0)[0]
