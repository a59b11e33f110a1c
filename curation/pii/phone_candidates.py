"""phonenumbers' candidate regex run only on the stretches of a batch where a phone number can be.

`PhoneNumberMatcher` first finds candidates with its own pattern (`phonenumbermatcher._PATTERN`): digits,
brackets, `+`, a few separators and extension words. Run per document it costs ~0.15 s per 1,000 web
documents, nearly all of it on prose. A match is one contiguous run of characters the pattern can consume, and
the pattern has no lookarounds or anchors, so its matches in the whole text are exactly its matches in each
maximal run of such characters taken alone. Runs are found with numpy over the batch's code points, and only
runs holding at least `min_digits` digits are searched (a run with fewer holds no candidate we try).

"Characters the pattern can consume" is a superset: every ASCII character that one of its literals or classes
matches (asked of Python's `re` with the pattern's own flags) and every non-ASCII character. When the pattern
holds anything this reading does not cover (a lookaround, an anchor, a backreference, `.`, a negated class)
`consumable_ascii` returns None and the engine searches whole documents as before.
"""

from __future__ import annotations

import functools
import re
from re import _constants as C  # noqa: N812 - the parser's own opcode names
from re import _parser as P  # noqa: N812
from typing import Any

import numpy as np

from curation.regex_prefilter import Unsupported as _Unsupported  # a construct the rewriting does not follow


def _leaves(seq: Any, out: list[str]) -> None:
    """One-character regexes for every literal and class of a parsed pattern."""
    for op, av in seq:
        if op is C.LITERAL:
            out.append(re.escape(chr(av)))
        elif op is C.IN:
            items = []
            for o, a in av:
                if o is C.LITERAL:
                    items.append(re.escape(chr(a)))
                elif o is C.RANGE:
                    items.append(f"{re.escape(chr(a[0]))}-{re.escape(chr(a[1]))}")
                elif o is C.CATEGORY and a is C.CATEGORY_DIGIT:
                    items.append(r"\d")
                else:
                    raise _Unsupported(str(o))
            out.append("[" + "".join(items) + "]")
        elif op is C.SUBPATTERN:
            if av[1] or av[2]:
                raise _Unsupported("scoped flags")
            _leaves(av[3], out)
        elif op is C.BRANCH:
            for alt in av[1]:
                _leaves(alt, out)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            _leaves(av[2], out)
        else:
            raise _Unsupported(str(op))


@functools.lru_cache(maxsize=8)
def consumable_ascii(pattern: str, flags: int) -> np.ndarray | None:
    """bool[128]: which ASCII characters a match of the pattern can contain (None: not known, see above)."""
    try:
        leaves: list[str] = []
        _leaves(P.parse(pattern, flags), leaves)
    except (_Unsupported, re.error, RecursionError):
        return None
    compiled = [re.compile(leaf, flags) for leaf in leaves]
    return np.array([any(c.fullmatch(chr(i)) for c in compiled) for i in range(128)], dtype=bool)


def decimal_digits(cp: np.ndarray) -> np.ndarray:
    """Which code points `re`'s `\\d` matches (Unicode decimal digits, `str.isdecimal`)."""
    digit = (cp >= 48) & (cp <= 57)
    high = cp >= 128
    if high.any():
        uniq = np.unique(cp[high])
        dec = np.fromiter((chr(int(u)).isdecimal() for u in uniq), dtype=bool, count=uniq.size)
        if dec.any():
            digit |= np.isin(cp, uniq[dec])
    return digit


def candidate_runs(cp: np.ndarray, table: np.ndarray, digits_before: np.ndarray, min_digits: int) -> np.ndarray:
    """(start, end) rows of the maximal runs of consumable characters that hold `min_digits`+ digits
    (`digits_before[i]`: how many digits precede offset i, for i in 0..len)."""
    if cp.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    ok = np.where(cp < 128, table[np.minimum(cp, 127)], True)
    edge = np.diff(np.concatenate(([False], ok, [False])).view(np.int8))
    starts = np.nonzero(edge == 1)[0]
    ends = np.nonzero(edge == -1)[0]
    cd = digits_before
    keep = (cd[ends] - cd[starts]) >= min_digits
    return np.stack([starts[keep], ends[keep]], axis=1)
