"""Text normalisation against evasion: what a model would read, whatever bytes carry it.

Attackers keep a payload readable to a model while changing its bytes (LLM Guard's users report each of
these beating its scanners). `variants(text)` returns the forms a scanner should look at:

1. `canonical`: NFKD, then every format character (zero-width, bidi controls, Unicode tags), variation
   selector and combining mark removed, NFKC, look-alike letters of other scripts folded to the Latin
   letter they imitate (Unicode's confusables table, TR39, from `confusable-homoglyphs`), lowercased,
   whitespace runs to one space;
2. `folded`: the canonical form with leetspeak read back (`1gn0r3` -> `ignore`) and spaced-out letters
   joined (`i g n o r e` -> `ignore`);
3. `decoded`: payloads hidden in the text, decoded and normalised again (two levels deep): base64
   (standard and URL-safe), hex, %-escapes, Unicode tag characters (invisible ASCII), and rot13 when the
   rotated text reads more like English than the text does, or its letters are far likelier under the letter
   frequencies of European languages (German, Spanish, ... rot13'd have few English words).

Everything is regex or `str.translate` over the whole text (no per-character Python), so a 1 KB prompt
normalises in well under a millisecond and a 1 MB one in well under a second.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import unquote

import regex

_STRIP = regex.compile(r"[\p{Cf}\p{Mn}\p{Me}\uFE00-\uFE0F\U000E0100-\U000E01EF\u180B-\u180F]+")
_TAGS = regex.compile(r"[\U000E0020-\U000E007E]{3,}")
_SPACES = regex.compile(r"\s+")
# single characters separated by single spaces or . - _ * (at least 2 of them): "i g n o r e", "i.g.n.o.r.e"
_SPACED = re.compile(r"(?<!\S)(?:\S[ .\-_*])+\S(?!\S)")
_SPACED_SEP = regex.compile(r"(?<=[^\s])[ .\-_*](?=[^\s])")
_TOKEN = re.compile(r"\S+")
_LEET_CHARS = "013457889@$!|+"
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                       "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"})
_MIXED = re.compile(r"[a-z][0-9@$!|+]|[0-9@$!|+][a-z]")  # a letter next to a leet character
_HAS_LEET = re.compile(r"[0-9@$!|+]")
_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_B64URL = re.compile(r"[A-Za-z0-9_\-]{16,}")
_B64_BLOCK = regex.compile(r"[A-Za-z0-9+/=\-_\s]{16,}")
# hex bytes of text: 16+ hex digits in a row, or \x41 / 0x41 escapes, or spaced pairs (`49 67 6e`); spaced pairs
# must start with a digit (printable ASCII is 0x20-0x7e), so prose's "de be ca" is not tried
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{2}){8,}|(?:(?:\\x|0x)[0-9a-fA-F]{2}[ ,]?){8,}"
                  r"|(?<![0-9A-Za-z])(?:[0-9][0-9a-fA-F][ :]){7,}[0-9][0-9a-fA-F]")
_PCT = regex.compile(r"(?:%[0-9a-fA-F]{2}){3,}")
_WORD = re.compile(r"[a-z]+")
# the most frequent English words (general knowledge, not taken from any data set): used to tell rot13
_COMMON = frozenset("the be to of and a in that have i it for not on with he as you do at this but his by from "
                    "they we say her she or an will my one all would there their what so up out if about who "
                    "get which go me when make can like time no just him know take people into year your good "
                    "some could them see other than then now look only come its over think also back after use "
                    "two how our work first well way even new want because any these give day most us is are "
                    "was were been has had did does said write tell ignore previous instructions "
                    # and German's (deepset's injections are partly German)
                    "der die das und ist nicht ich du sie es ein eine zu mit auf was wie alles vergiss".split())
# letter frequencies (%) of English, German, French and Spanish text, roughly averaged (general knowledge): a
# rot13'd text has `r g n b v a f` where a text has `e t a o i n s`
_LETTER_PCT = {"e": 12.5, "t": 8, "a": 8, "o": 7, "i": 7, "n": 7.5, "s": 6.5, "r": 6.5, "h": 5, "l": 4, "d": 4,
               "c": 3, "u": 3.5, "m": 2.7, "w": 1.8, "f": 2, "g": 2.2, "y": 1.5, "p": 1.8, "b": 1.5, "v": 1,
               "k": 1, "j": 0.3, "x": 0.2, "q": 0.1, "z": 0.3}
_LOGP = {c: math.log(v / sum(_LETTER_PCT.values())) for c, v in _LETTER_PCT.items()}
# mean log-likelihood gain per letter of the rot13 reading over the text above which it is decoded: rot13'd
# prompts of deepset's train split gain 0.2-1.0 (96% over 0.3), plain prompts of it and self-instruct gain <= 0.03
ROT13_GAIN = 0.3
ROT13_MIN_LETTERS = 12
MAX_PAYLOADS = 16
MAX_DEPTH = 2


@functools.cache
def _confusable_table() -> dict[int, str]:
    """Non-ASCII character -> the ASCII letter or digit it imitates (Unicode confusables, TR39). Where the
    table offers several (Cyrillic `І` imitates both `I` and `l`), a letter of the same case wins."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    cands: dict[str, set[str]] = {}
    for key, entries in data.items():
        if len(key) != 1:
            continue
        for e in entries:
            c = e["c"]
            if len(c) != 1:
                continue
            if key.isascii() and key.isalnum() and not c.isascii():
                cands.setdefault(c, set()).add(key)
            elif not key.isascii() and c.isascii() and c.isalpha():
                cands.setdefault(key, set()).add(c)

    def pick(ch: str, options: set[str]) -> str:
        # the table reads Cyrillic `І` ("... LETTER BYELORUSSIAN-UKRAINIAN I") as `l` only: the I/l ambiguity
        named = unicodedata.name(ch, "").rsplit(" ", 1)[-1].lower()
        if named == "i" and {o.lower() for o in options} <= {"l", "1", "i"}:
            return "i"

        def rank(o: str) -> tuple[int, str]:
            same_case = o.isalpha() and (o.isupper() == ch.isupper())
            return (0 if same_case else 1 if o.isalpha() else 2, o)
        return min(options, key=rank).lower()

    return {ord(ch): pick(ch, opts) for ch, opts in cands.items()}  # a table the whole text translates by


def fold_confusables(text: str) -> str:
    """Letters of other scripts that imitate Latin letters, as those letters (`раураl` -> `paypal`)."""
    return text.translate(_confusable_table())


def _canonical_raw(text: str) -> str:
    """`canonical` before whitespace runs are collapsed (spaced-out letters need the runs)."""
    if text.isascii():
        return text.lower()
    t = _STRIP.sub("", unicodedata.normalize("NFKD", text))
    return fold_confusables(unicodedata.normalize("NFKC", t)).lower()


def canonical(text: str) -> str:
    """NFKD, invisible and combining characters removed, NFKC, confusables folded, lowercased, spaces collapsed."""
    return " ".join(_canonical_raw(text).split())


def unleet(text: str) -> str:
    """Leetspeak read back in tokens that mix letters with look-alike digits or symbols; when most tokens
    are leet, every token with such a character (`7h3` -> `the`, and `17` -> `it`)."""
    if not any(c in text for c in _LEET_CHARS):
        return text
    tokens = text.split()
    mixed = [t for t in tokens if _MIXED.search(t)]
    if not mixed:
        return text
    if len(mixed) >= 0.3 * len(tokens):
        return _TOKEN.sub(lambda m: m.group().translate(_LEET) if _HAS_LEET.search(m.group()) else m.group(), text)
    mixed_set = set(mixed)
    return _TOKEN.sub(lambda m: m.group().translate(_LEET) if m.group() in mixed_set else m.group(), text)


def unspace(text: str) -> str:
    """Spaced-out letters joined (`i g n o r e   t h a t` -> `ignore   that`)."""
    if len(text) < 5:
        return text
    return _SPACED.sub(lambda m: _SPACED_SEP.sub("", m.group()), text)


def _printable(s: str) -> bool:
    if not s or len(s) < 4:
        return False
    bad = sum(1 for c in s if not (c.isprintable() or c in "\n\r\t"))
    letters = sum(1 for c in s if c.isalpha())
    return bad <= 0.05 * len(s) and letters >= 0.4 * len(s)


def _utf8(b: bytes) -> str | None:
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return s if _printable(s) else None


def _b64(token: str, decode: object) -> str | None:
    body = token.rstrip("=")
    body = body[: len(body) - 1] if len(body) % 4 == 1 else body
    try:
        return _utf8(decode(body + "=" * (-len(body) % 4)))  # type: ignore[operator]
    except (binascii.Error, ValueError):
        return None


def _english_words(text: str) -> int:
    return sum(1 for w in _WORD.findall(text) if w in _COMMON)


def rot13_gain(text: str) -> float:
    """Mean log-likelihood gain per letter (a-z) of the text's rot13 reading over the text, under European
    letter frequencies: > 0 when the rotated letters look more like language (0 under 12 letters)."""
    counts = [(c, text.count(c)) for c in _LOGP]
    n = sum(k for _, k in counts)
    if n < ROT13_MIN_LETTERS:
        return 0.0
    return sum(k * (_LOGP[_ROT[c]] - _LOGP[c]) for c, k in counts) / n


_ROT = {c: codecs.encode(c, "rot13") for c in _LETTER_PCT}


def decode_payloads(text: str, canon: str | None = None) -> list[tuple[str, str]]:
    """(encoding, decoded text) for each payload hidden in `text` that decodes to readable text."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(kind: str, s: str | None) -> None:
        if s and s not in seen and len(out) < MAX_PAYLOADS:
            seen.add(s)
            out.append((kind, s))

    tags = _TAGS.findall(text)
    for run in tags:
        add("unicode_tags", "".join(chr(ord(c) - 0xE0000) for c in run))
    # base64 is one token, or a block wrapped over lines: each token is decoded on its own, and a text made
    # only of base64 characters and spaces is also decoded joined (a wrapped block); joining alone would glue
    # a plain word onto the payload ("please SWdu..." -> "pleaseSWdu...") and misalign the decode
    compact = _SPACES.sub("", text) if _B64_BLOCK.fullmatch(text.strip()) else text
    for form in dict.fromkeys((compact, text)):
        for m in _B64.finditer(form) if len(form) >= 16 else ():
            add("base64", _b64(m.group(), base64.b64decode))
        if "-" in form or "_" in form:
            for m in _B64URL.finditer(form):
                add("base64", _b64(m.group(), base64.urlsafe_b64decode))
    for m in _HEX.finditer(text):
        digits = regex.sub(r"\\x|0x|[ :,]", "", m.group())
        if len(digits) % 2:
            digits = digits[:-1]
        try:
            add("hex", _utf8(bytes.fromhex(digits)))
        except ValueError:
            pass
    if _PCT.search(text):
        add("percent", unquote(text))
    if any(c.isalpha() for c in text[:4096]):
        canon = unleet(canonical(text) if canon is None else canon)
        n_words = len(_WORD.findall(canon))
        n_txt = _english_words(canon)
        if n_txt < 0.2 * n_words:  # reads like English already: no rot13 payload
            rot = codecs.encode(canon, "rot13")
            n_rot = _english_words(rot)
            if (n_rot >= 2 and n_rot > 2 * n_txt and n_rot >= 0.2 * n_words) or rot13_gain(canon) >= ROT13_GAIN:
                add("rot13", rot)
    return out


@dataclass
class Normalized:
    """The forms of a text a scanner should look at, with how each was obtained."""

    original: str
    canonical: str
    folded: str
    decoded: list[tuple[str, str]] = field(default_factory=list)  # (how, normalised decoded text)

    @property
    def variants(self) -> list[str]:
        """Distinct forms to scan: canonical, folded, then each decoded payload (normalised)."""
        seen: dict[str, None] = {}
        for v in (self.canonical, self.folded, *(d for _, d in self.decoded)):
            if v:
                seen.setdefault(v, None)
        return list(seen) or [""]

    @property
    def evasions(self) -> list[str]:
        """What normalisation had to undo (for a verdict's reasons)."""
        out = []
        if self.canonical != " ".join(self.original.lower().split()):
            out.append("unicode")
        if self.folded != self.canonical:
            out.append("leetspeak/spacing")
        out.extend(dict.fromkeys(k for k, _ in self.decoded))
        return out


@functools.lru_cache(maxsize=32)
def normalize(text: str, _depth: int = 0) -> Normalized:
    """Every form of `text` worth scanning (see the module doc); the last few results are cached, so the
    scanners of one policy share the work."""
    raw = _canonical_raw(text)
    canon = " ".join(raw.split())
    folded = " ".join(unspace(unleet(raw)).split())
    decoded: list[tuple[str, str]] = []
    if _depth < MAX_DEPTH:
        for kind, payload in decode_payloads(text, canon):
            inner = normalize(payload, _depth + 1)
            decoded.extend((kind, v) for v in dict.fromkeys((inner.canonical, inner.folded)))
            decoded.extend((f"{kind}+{k}", v) for k, v in inner.decoded)
    return Normalized(text, canon, folded, decoded[:MAX_PAYLOADS])


def variants(text: str) -> list[str]:
    """Shorthand for `normalize(text).variants`."""
    return normalize(text).variants
