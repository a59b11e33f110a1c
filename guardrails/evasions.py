"""Evasion transforms: the tricks users of prompt scanners report beating them with (LLM Guard's issues).

Each transform is a pure function `str -> str` (deterministic, no state), so a benchmark can apply it to
every positive row and measure how much of the untransformed catch rate survives. They model an attacker
who keeps the payload readable to a model while changing its bytes:

* `spacing`: a space between every character ("ignore" -> "i g n o r e"; a word gap becomes three spaces);
* `zero_width`: an invisible zero-width character between every two characters (cycling through ZWSP,
  ZWNJ, ZWJ, WORD JOINER and the BOM), so the text renders unchanged;
* `homoglyphs`: Latin letters swapped for Cyrillic/Greek look-alikes (a mixed-script text that renders
  the same);
* `leetspeak`: a->4, e->3, i->1, o->0, s->5, t->7 (either case);
* `base64`, `hex`, `rot13`: the whole text encoded (the payload alone, with no "decode this" wrapper that a
  rule could catch instead of the payload).
"""

from __future__ import annotations

import base64 as _b64
import codecs
from collections.abc import Callable

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")

# Latin -> a look-alike in another script (Cyrillic unless noted); both cases where one exists.
HOMOGLYPHS = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "j": "\u0458", "o": "\u043e", "p": "\u0440",
    "s": "\u0455", "x": "\u0445", "y": "\u0443", "h": "\u04bb", "d": "\u0501",
    "A": "\u0410", "B": "\u0412", "C": "\u0421", "E": "\u0415", "H": "\u041d", "I": "\u0406", "J": "\u0408",
    "K": "\u041a", "M": "\u041c", "N": "\u039d",  # Greek capital nu
    "O": "\u041e", "P": "\u0420", "S": "\u0405", "T": "\u0422", "X": "\u0425", "Y": "\u04ae", "Z": "\u0396",  # Greek
}
_HOMOGLYPH_TABLE = str.maketrans(HOMOGLYPHS)

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_LEET_TABLE = str.maketrans({**LEET, **{k.upper(): v for k, v in LEET.items()}})


def spacing(text: str) -> str:
    """A space between every two characters."""
    return " ".join(text)


def zero_width(text: str) -> str:
    """A zero-width character between every two characters (the kind cycles, so no single one can be stripped
    as a special case)."""
    if len(text) < 2:
        return text
    out = [text[0]]
    for i, ch in enumerate(text[1:]):
        out.append(ZERO_WIDTH[i % len(ZERO_WIDTH)])
        out.append(ch)
    return "".join(out)


def homoglyphs(text: str) -> str:
    """Every Latin letter that has a Cyrillic or Greek look-alike replaced by it."""
    return text.translate(_HOMOGLYPH_TABLE)


def leetspeak(text: str) -> str:
    """Letters replaced by the digits that look like them."""
    return text.translate(_LEET_TABLE)


def base64(text: str) -> str:
    """The UTF-8 bytes of the text, base64-encoded."""
    return _b64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


def hex_encode(text: str) -> str:
    """The UTF-8 bytes of the text as lowercase hex."""
    return text.encode("utf-8", "surrogatepass").hex()


def rot13(text: str) -> str:
    """ASCII letters rotated by 13 (other characters unchanged)."""
    return codecs.encode(text, "rot13")


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "spacing": spacing,
    "zero_width": zero_width,
    "homoglyphs": homoglyphs,
    "leetspeak": leetspeak,
    "base64": base64,
    "hex": hex_encode,
    "rot13": rot13,
}


def transform_names() -> list[str]:
    return list(TRANSFORMS)


def apply(name: str, text: str) -> str:
    """Apply one named transform; an unknown name is a WinnowError listing the known ones."""
    fn = TRANSFORMS.get(name)
    if fn is None:
        from curation.errors import WinnowError

        raise WinnowError(f"unknown evasion transform {name!r}; known: {', '.join(TRANSFORMS)}")
    return fn(text)
