"""Which of a list of Python patterns can match a text, for all of them in one linear-time pass (RE2).

Running each pattern with `regex` costs one pass over the text per pattern (~30 us for five patterns on a 1 KB
prompt); a compiled RE2 set answers "which of them match somewhere" in one DFA pass (~3 us), and the scanner
then runs only those with `regex` to get the spans. The answer must never leave out a pattern that matches, so:

* each pattern is rewritten from Python's own parse tree (`re._parser`) into RE2 syntax: what RE2 runs is what
  Python reads (`{,5}`, flags), each class as the ASCII set `regex` gives it (its `\\s` is not `re`'s); a
  construct outside the part the engines agree on (backreferences,
  conditionals, possessive and atomic groups, `$` without MULTILINE, non-ASCII literals, LOCALE) leaves that
  pattern out of the set, and it always runs. Lookarounds are dropped: without them a pattern matches more,
  never less, so the set may say "maybe" where `regex` then finds nothing, which costs time, not findings;
* the set is asked only about ASCII text, where `regex`'s Unicode `\\w`, `\\d`, `\\b` and case folding read every
  character as RE2 does; other text runs every pattern. A differential test (random patterns, random ASCII
  text) checks that the set never says no where `regex` finds a match.

Without `google-re2` installed (the `guard` extra brings it) `Prefilter.build` returns None and every pattern
runs, with the same findings.
"""

from __future__ import annotations

import re
import warnings
from re import _constants as C  # noqa: N812 - the parser's own opcode names
from re import _parser as P  # noqa: N812
from typing import Any

import regex

try:  # optional: a pure speed-up
    import re2
except ImportError:  # pragma: no cover - exercised where the guard extra is absent
    re2 = None


def _ascii_class(category: str) -> str:
    """The ASCII characters `regex` (the engine the scanners run) puts in `category`, as RE2 class items. Probed,
    not assumed: its `\\s` is Unicode White_Space (no \\x1c-\\x1f, which Python's `re` includes)."""
    return "".join(f"\\x{i:02x}" for i in range(128) if regex.match(category, chr(i)))


_CATEGORY = {C.CATEGORY_DIGIT: _ascii_class(r"\d"), C.CATEGORY_WORD: _ascii_class(r"\w"),
             C.CATEGORY_SPACE: _ascii_class(r"\s")}
_NOT_CATEGORY = {C.CATEGORY_NOT_DIGIT: C.CATEGORY_DIGIT, C.CATEGORY_NOT_WORD: C.CATEGORY_WORD,
                 C.CATEGORY_NOT_SPACE: C.CATEGORY_SPACE}
_FLAGS = {C.SRE_FLAG_IGNORECASE: "i", C.SRE_FLAG_MULTILINE: "m", C.SRE_FLAG_DOTALL: "s"}
_RE2_MAX_REPEAT = 1000


class Unsupported(Exception):
    """The pattern uses something RE2 would read differently: it stays out of the set."""


def _char(c: int) -> str:
    if c == 0x7B:  # `regex` reads `{e<=1}` after an item as fuzzy matching, Python's parser as literal text
        raise Unsupported("literal {")
    if c >= 128:
        raise Unsupported("non-ASCII literal")  # case folding may map it onto ASCII (e.g. U+212A KELVIN -> k)
    ch = chr(c)
    return ch if ch.isalnum() else f"\\x{c:02x}"


def _class(items: list[tuple[Any, Any]]) -> str:
    negate = bool(items) and items[0][0] is C.NEGATE
    items = items[1:] if negate else items
    if len(items) == 1 and items[0][0] is C.CATEGORY and items[0][1] in _NOT_CATEGORY:
        inner = _CATEGORY[_NOT_CATEGORY[items[0][1]]]
        return f"[{inner}]" if negate else f"[^{inner}]"
    parts = []
    for op, av in items:
        if op is C.LITERAL:
            parts.append(_char(av))
        elif op is C.RANGE:
            parts.append(f"{_char(av[0])}-{_char(av[1])}")
        elif op is C.CATEGORY and av in _CATEGORY:
            parts.append(_CATEGORY[av])
        else:
            raise Unsupported(f"class item {op}")
    if not parts:
        raise Unsupported("empty class")
    return ("[^" if negate else "[") + "".join(parts) + "]"


def _emit(seq: Any, flags: int) -> str:
    out = []
    for op, av in seq:
        if op is C.LITERAL:
            out.append(_char(av))
        elif op is C.NOT_LITERAL:
            out.append(f"[^{_char(av)}]")
        elif op is C.ANY:
            out.append(".")  # both engines: any character but \n, unless DOTALL (carried in the flags)
        elif op is C.IN:
            out.append(_class(av))
        elif op is C.BRANCH:
            out.append("(?:" + "|".join(_emit(alt, flags) for alt in av[1]) + ")")
        elif op is C.SUBPATTERN:
            _group, add, dele, sub = av
            if (add | dele) & ~(C.SRE_FLAG_IGNORECASE | C.SRE_FLAG_MULTILINE | C.SRE_FLAG_DOTALL
                                | C.SRE_FLAG_UNICODE | C.SRE_FLAG_ASCII | C.SRE_FLAG_VERBOSE):
                raise Unsupported("scoped flag")
            on = "".join(v for k, v in _FLAGS.items() if add & k)
            off = "".join(v for k, v in _FLAGS.items() if dele & k)
            head = "(?" + on + ("-" + off if off else "") + ":"
            out.append(head + _emit(sub, (flags | add) & ~dele) + ")")
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):  # laziness does not change whether a match exists
            lo, hi, sub = av
            if lo > _RE2_MAX_REPEAT or (hi is not C.MAXREPEAT and hi > _RE2_MAX_REPEAT):
                raise Unsupported("repeat count over RE2's limit")
            body = "(?:" + _emit(sub, flags) + ")"
            out.append(body + (f"{{{lo},}}" if hi is C.MAXREPEAT else f"{{{lo},{hi}}}"))
        elif op in (C.ASSERT, C.ASSERT_NOT):
            continue  # dropping a lookaround only lets the pattern match more
        elif op is C.AT:
            if av is C.AT_BOUNDARY:
                out.append("\\b")
            elif av is C.AT_NON_BOUNDARY:
                out.append("\\B")
            elif av is C.AT_BEGINNING_STRING:
                out.append("\\A")
            elif av is C.AT_END_STRING:
                out.append("\\z")
            elif av is C.AT_BEGINNING:
                out.append("(?m:^)" if flags & C.SRE_FLAG_MULTILINE else "\\A")
            elif av is C.AT_END and flags & C.SRE_FLAG_MULTILINE:
                out.append("(?m:$)")
            else:
                raise Unsupported("$ without MULTILINE also matches before a final newline")
        else:
            raise Unsupported(str(op))
    return "".join(out)


def to_re2(pattern: str, flags: int = 0) -> str:
    """`pattern` (Python syntax, with `re` flags) as an RE2 pattern that matches wherever it matches (ASCII text).

    Raises `Unsupported` when there is no such rewriting this module trusts."""
    try:
        with warnings.catch_warnings():  # "possible nested set": `regex` may read `[[:alpha:]]` as a class
            warnings.simplefilter("error")
            tree = P.parse(pattern, flags)
    except (re.error, OverflowError, RecursionError, Warning) as e:
        raise Unsupported(f"Python's parser: {e}") from e
    g = tree.state.flags
    if g & (C.SRE_FLAG_LOCALE | C.SRE_FLAG_DEBUG):
        raise Unsupported("LOCALE")
    body = _emit(list(tree), g)
    on = "".join(v for k, v in _FLAGS.items() if g & k)
    return f"(?{on}:{body})" if on else body


class Prefilter:
    """`candidates(text)`: indices of the patterns that may match `text` (None: run them all)."""

    def __init__(self, rset: Any, covered: list[int], always: list[int]) -> None:
        self._set = rset
        self._covered = covered
        self._always = always
        # the compiled set itself takes UTF-8 bytes: calling it directly skips the wrapper's Python layer (~0.6 us)
        raw = getattr(rset, "_set", None)
        try:
            raw.Match(b"")
            self._match_bytes = raw.Match
        except Exception:  # noqa: BLE001 - another google-re2 layout: its public wrapper
            self._match_bytes = lambda b: rset.Match(b)

    @classmethod
    def build(cls, patterns: list[str], flags: int = 0) -> Prefilter | None:
        """A prefilter for `patterns`, or None when RE2 is not installed or covers none of them."""
        if re2 is None or not patterns:
            return None
        opts = re2.Options()
        opts.max_mem = 64 << 20
        rset = re2.Set.SearchSet(opts)
        covered, always = [], []
        for i, p in enumerate(patterns):
            try:
                rset.Add(to_re2(p, flags))
                covered.append(i)
            except (Unsupported, re2.error, RecursionError, ValueError):
                always.append(i)
        if not covered:
            return None
        try:
            rset.Compile()
        except re2.error:  # pragma: no cover - out of memory for a huge set: no prefilter
            return None
        return cls(rset, covered, always)

    def candidates(self, text: str) -> list[int] | None:
        """Pattern indices, in order, that may match `text`; None when the text is not ASCII (run them all)."""
        if not text.isascii():
            return None
        hits = self._match_bytes(text.encode())
        if not hits:
            return self._always
        return sorted([self._covered[h] for h in hits] + self._always)

    def rules_out_all(self, text: str) -> bool:
        """True when no pattern can match `text` (an ASCII text that the set covers for every pattern)."""
        return not self._always and text.isascii() and not self._match_bytes(text.encode())


class LiteralSet:
    """Which of some literal strings occur in a text, in one RE2 pass over its UTF-8 bytes (any script: a literal
    needs no class or case semantics, so the answer is exactly `[t for t in terms if t in text]`)."""

    def __init__(self, rset: Any, n: int) -> None:
        self._match = rset.Match
        self._n = n

    @classmethod
    def build(cls, terms: list[str]) -> LiteralSet | None:
        if re2 is None or not terms:
            return None
        opts = re2.Options()
        opts.literal = True
        opts.max_mem = 64 << 20
        rset = re2.Set.SearchSet(opts)
        try:
            for t in terms:
                rset.Add(t)
            rset.Compile()
        except re2.error:  # pragma: no cover - out of memory for a huge list
            return None
        return cls(rset, len(terms))

    def present(self, text: str) -> list[int]:
        """Indices, in order, of the terms that occur in `text`."""
        return sorted(self._match(text) or ())  # the wrapper answers None for no match
