"""Character classes written for Polars' (Rust) regex so they mean exactly what Python means.

datatrove's filters use Python string methods (`str.split()`, `strip()`, `splitlines()`), whose idea of
whitespace and of a line break differs from Rust's `\\s` (Python also counts U+001C-U+001F). The classes
below are built from Python's own definitions at import time, so a Polars expression and the Python
method it replaces agree on every character.
"""

from __future__ import annotations

import unicodedata

#: every character Python's str.isspace() accepts (what str.split()/strip() and spaCy split on);
#: tests/curation/test_heuristics.py checks it against all of Unicode
PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
                 "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

#: characters str.splitlines() breaks on ("\r\n" counts as one break)
SPLITLINES_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _cls(chars: str, negate: bool = False) -> str:
    body = "".join(f"\\x{{{ord(c):x}}}" for c in chars)
    return f"[{'^' if negate else ''}{body}]"


#: a Python whitespace character / a non-whitespace character, as Rust regex classes
WS = _cls(PY_WHITESPACE)
NON_WS = _cls(PY_WHITESPACE, negate=True)
#: whitespace that is not "\n" (what lstrip()/rstrip() remove inside one "\n"-separated line)
WS_NOT_NL = _cls(PY_WHITESPACE.replace("\n", ""))
#: one str.splitlines() break
SPLITLINES_RE = r"\r\n|" + _cls(SPLITLINES_BREAKS)

# sanity: the alphabet above must be Python's splitlines() alphabet
assert len(("a" + "a".join(SPLITLINES_BREAKS) + "a").splitlines()) == len(SPLITLINES_BREAKS) + 1


def regex_escape_class(chars: set[str] | str) -> str:
    """A Rust regex character class that matches exactly these characters."""
    return _cls("".join(sorted(set(chars))))


def is_spacy_punct(text: str) -> bool:
    """spaCy's lexical `is_punct`: every character is in a Unicode punctuation category."""
    return all(unicodedata.category(c).startswith("P") for c in text)


CITATION_RE = r"\[\d*]|\[edit]|\[citation needed]"
