"""Which of a list of Python patterns can match a text, for all of them in one linear-time pass (RE2).

Shared by the guardrail scanners (Regex, BanSubstrings) and curation's PII patterns (`curation/pii/prefilter.py`
uses `to_re2`'s wide form), so it lives on the engine side.

Running each pattern with `regex` costs one pass over the text per pattern (~30 us for five patterns on a 1 KB
prompt); a compiled RE2 set answers "which of them match somewhere" in one DFA pass (~3 us), and the scanner
then runs only those with `regex` to get the spans. The answer must never leave out a pattern that matches, so:

* each pattern is rewritten from Python's own parse tree (`re._parser`) into RE2 syntax: what RE2 runs is what
  Python reads (`{,5}`, flags), each class as the ASCII set `regex` gives it (its `\\s` is not `re`'s); a
  construct outside the part the engines agree on (backreferences,
  conditionals, possessive and atomic groups, `$` without MULTILINE, LOCALE) leaves that
  pattern out of the set, and it always runs. Lookarounds are dropped: without them a pattern matches more,
  never less, so the set may say "maybe" where `regex` then finds nothing, which costs time, not findings;
* ASCII text is asked of a set where `regex`'s Unicode `\\w`, `\\d`, `\\b` and case folding read every
  character as RE2 does (non-ASCII literals stay out of it);
* other text (`unicode=True`) is asked of a second, wider set over its UTF-8 bytes, where every place `regex`
  could read a non-ASCII character differently from RE2 also admits it: `\\w`, `\\d`, `\\s` and every
  negated class also match any non-ASCII character, under IGNORECASE an ASCII letter also matches the
  non-ASCII letters `regex` folds onto ASCII (U+0130, U+0131, U+017F, U+212A) and a non-ASCII literal
  any non-ASCII character or the ASCII ones it folds to, and `\\b`/`\\B` are dropped. So the wide set says
  "maybe" a little more often, never "no" where `regex` matches. Differential tests (random patterns, random
  ASCII and non-ASCII text) check that neither set says no where `regex` finds a match.

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
_NON_ASCII = "(?-i:[\\x{80}-\\x{10ffff}])"  # any non-ASCII character, whatever the case flags
_NON_ASCII_ITEM = "\\x{80}-\\x{10ffff}"  # the same, as a class item
# The non-ASCII characters `regex` matches with an ASCII letter under IGNORECASE (probed over every code point by
# tests/curation/test_regex_prefilter.py): the only way non-ASCII text can match an ASCII letter.
FOLDS_ONTO_ASCII = "\u0130\u0131\u017f\u212a"
_FOLD_ITEMS = "".join(f"\\x{{{ord(c):x}}}" for c in FOLDS_ONTO_ASCII)


class Unsupported(Exception):
    """The pattern uses something RE2 would read differently: it stays out of the set."""


def _char(c: int) -> str:
    if c == 0x7B:  # `regex` reads `{e<=1}` after an item as fuzzy matching, Python's parser as literal text
        raise Unsupported("literal {")
    if c >= 128:
        raise Unsupported("non-ASCII literal")  # case folding may map it onto ASCII (e.g. U+212A KELVIN -> k)
    ch = chr(c)
    return ch if ch.isalnum() else f"\\x{c:02x}"


def _ascii_folds(c: int) -> str:
    """The ASCII characters `regex` matches with the non-ASCII literal `c` under IGNORECASE, as class items."""
    rx = regex.compile(regex.escape(chr(c)), regex.I)
    return "".join(f"\\x{i:02x}" for i in range(128) if rx.fullmatch(chr(i)))


def _literal(c: int, flags: int, wide: bool) -> str:
    """One literal character; in the wide set, with what non-ASCII text may match in its place."""
    if not wide or not flags & C.SRE_FLAG_IGNORECASE:
        return f"\\x{{{c:x}}}" if wide and c >= 128 else _char(c)
    if c >= 128:  # its folds per `regex` and RE2 may differ: any non-ASCII character, or an ASCII fold of it
        folds = _ascii_folds(c)
        return f"(?:{_NON_ASCII}|[{folds}])" if folds else _NON_ASCII
    ch = _char(c)
    return f"(?:{ch}|(?-i:[{_FOLD_ITEMS}]))" if chr(c).isalpha() else ch


def _class(items: list[tuple[Any, Any]], flags: int = 0, wide: bool = False) -> str:
    negate = bool(items) and items[0][0] is C.NEGATE
    items = items[1:] if negate else items
    if len(items) == 1 and items[0][0] is C.CATEGORY and items[0][1] in _NOT_CATEGORY:
        inner = _CATEGORY[_NOT_CATEGORY[items[0][1]]]
        if negate:  # [^\W]: the category itself
            return f"[{inner}{_NON_ASCII_ITEM}]" if wide else f"[{inner}]"
        return f"[^{inner}]"  # \W, \D, \S: every non-ASCII character is in it already
    parts = []
    widen = False  # wide set: the class may match a non-ASCII character (a category, IGNORECASE, a negation)
    for op, av in items:
        if op is C.LITERAL:
            parts.append(_char(av))
        elif op is C.RANGE:
            parts.append(f"{_char(av[0])}-{_char(av[1])}")
        elif op is C.CATEGORY and av in _CATEGORY:
            parts.append(_CATEGORY[av])
            widen = True
        else:
            raise Unsupported(f"class item {op}")
    if not parts:
        raise Unsupported("empty class")
    body = "".join(parts)
    if not wide:
        return ("[^" if negate else "[") + body + "]"
    if negate:
        return f"(?:[^{body}]|{_NON_ASCII})"
    if widen:
        return f"[{body}{_NON_ASCII_ITEM}]"
    if flags & C.SRE_FLAG_IGNORECASE:
        return f"(?:[{body}]|(?-i:[{_FOLD_ITEMS}]))"
    return f"[{body}]"


def _emit(seq: Any, flags: int, wide: bool = False) -> str:
    out = []
    for op, av in seq:
        if op is C.LITERAL:
            out.append(_literal(av, flags, wide))
        elif op is C.NOT_LITERAL:
            if not wide:
                out.append(f"[^{_char(av)}]")
            elif av >= 128:  # any character but `av`, or one of its folds: any character, but \n as `.` would
                out.append("(?s:.)")
            else:
                out.append(f"(?:[^{_char(av)}]|{_NON_ASCII})")
        elif op is C.ANY:
            out.append(".")  # both engines: any character but \n, unless DOTALL (carried in the flags)
        elif op is C.IN:
            out.append(_class(av, flags, wide))
        elif op is C.BRANCH:
            out.append("(?:" + "|".join(_emit(alt, flags, wide) for alt in av[1]) + ")")
        elif op is C.SUBPATTERN:
            _group, add, dele, sub = av
            if (add | dele) & ~(C.SRE_FLAG_IGNORECASE | C.SRE_FLAG_MULTILINE | C.SRE_FLAG_DOTALL
                                | C.SRE_FLAG_UNICODE | C.SRE_FLAG_ASCII | C.SRE_FLAG_VERBOSE):
                raise Unsupported("scoped flag")
            on = "".join(v for k, v in _FLAGS.items() if add & k)
            off = "".join(v for k, v in _FLAGS.items() if dele & k)
            head = "(?" + on + ("-" + off if off else "") + ":"
            out.append(head + _emit(sub, (flags | add) & ~dele, wide) + ")")
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):  # laziness does not change whether a match exists
            lo, hi, sub = av
            if lo > _RE2_MAX_REPEAT or (hi is not C.MAXREPEAT and hi > _RE2_MAX_REPEAT):
                raise Unsupported("repeat count over RE2's limit")
            body = "(?:" + _emit(sub, flags, wide) + ")"
            out.append(body + (f"{{{lo},}}" if hi is C.MAXREPEAT else f"{{{lo},{hi}}}"))
        elif op in (C.ASSERT, C.ASSERT_NOT):
            continue  # dropping a lookaround only lets the pattern match more
        elif op is C.AT:
            if av in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY) and wide:
                continue  # `regex`'s word boundaries are Unicode, RE2's ASCII: dropped, the pattern matches more
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


def to_re2(pattern: str, flags: int = 0, wide: bool = False) -> str:
    """`pattern` (Python syntax, with `re` flags) as an RE2 pattern that matches wherever it matches: in ASCII
    text, or (`wide`) in any text, read as UTF-8.

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
    body = _emit(list(tree), g, wide)
    on = "".join(v for k, v in _FLAGS.items() if g & k)
    return f"(?{on}:{body})" if on else body


class _Set:
    """One compiled RE2 set: which patterns it covers (the others always run), asked with UTF-8 bytes."""

    def __init__(self, rset: Any, covered: list[int], always: list[int]) -> None:
        self.covered, self.always = covered, always
        # the compiled set itself takes UTF-8 bytes: calling it directly skips the wrapper's Python layer (~0.6 us)
        raw = getattr(rset, "_set", None)
        try:
            raw.Match(b"")
            self.match = raw.Match
        except Exception:  # noqa: BLE001 - another google-re2 layout: its public wrapper
            self.match = lambda b: rset.Match(b)

    @classmethod
    def build(cls, patterns: list[str], flags: int, wide: bool) -> _Set | None:
        opts = re2.Options()
        opts.max_mem = 64 << 20
        rset = re2.Set.SearchSet(opts)
        covered, always = [], []
        for i, p in enumerate(patterns):
            try:
                rset.Add(to_re2(p, flags, wide))
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

    def candidates(self, data: bytes) -> list[int]:
        hits = self.match(data)
        if not hits:
            return self.always
        return sorted([self.covered[h] for h in hits] + self.always)


class Prefilter:
    """`candidates(text)`: indices of the patterns that may match `text` (None: run them all)."""

    def __init__(self, ascii_set: _Set, wide: _Set | None = None) -> None:
        self._ascii = ascii_set
        self._wide = wide
        self._covered, self._always = ascii_set.covered, ascii_set.always
        self._match_bytes = ascii_set.match
        # every pattern is in both sets: a text of any script can be ruled clean in one pass
        self._all_covered = not ascii_set.always and (wide is None or not wide.always)

    @classmethod
    def build(cls, patterns: list[str], flags: int = 0, unicode: bool = False) -> Prefilter | None:
        """A prefilter for `patterns`, or None when RE2 is not installed or covers none of them. With `unicode`,
        non-ASCII text is asked of the wide set too (else every pattern runs on it)."""
        if re2 is None or not patterns:
            return None
        ascii_set = _Set.build(patterns, flags, wide=False)
        if ascii_set is None:
            return None
        return cls(ascii_set, _Set.build(patterns, flags, wide=True) if unicode else None)

    def candidates(self, text: str) -> list[int] | None:
        """Pattern indices, in order, that may match `text`; None when no set can answer for it (run them all)."""
        if text.isascii():
            return self._ascii.candidates(text.encode())
        if self._wide is None:
            return None
        try:
            data = text.encode()
        except UnicodeEncodeError:  # lone surrogates: not UTF-8, no set can read it
            return None
        return self._wide.candidates(data)

    def rules_out_all(self, text: str) -> bool:
        """True when no pattern can match `text` (a text that the sets cover for every pattern)."""
        if text.isascii():
            return not self._ascii.always and not self._match_bytes(text.encode())
        if self._wide is None or self._wide.always:
            return False
        try:
            return not self._wide.match(text.encode())
        except UnicodeEncodeError:
            return False


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
