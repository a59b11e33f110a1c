"""curation/text.py: word counts for the manifest, the same from the numba kernel as from Polars' regex `\\S+`
(which the manifest used before the kernel; its `\\s` is Unicode's White_Space, unlike Python's, which also
matches the information separators U+001C-001F)."""

from __future__ import annotations

import random
import re

import numpy as np
import polars as pl
import pytest

from curation.text import utf8_buffers, word_counts

# Unicode's White_Space characters, and look-alikes that are not (zero-width space, Mongolian vowel separator,
# word joiner, BOM, soft hyphen, braille blank, the information separators)
WHITE = ["\t", "\n", "\x0b", "\x0c", "\r", " ", "\x85", "\xa0", "\u1680", *map(chr, range(0x2000, 0x200B)),
         "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
NOT_WHITE = ["a", "Z", "9", "é", "ß", "日本", "\u200b", "\u180e", "\u2060", "\ufeff", "\u00ad", "\u2800", "\U0001f600",
             "\u0100", "\u2010", "\u20ac", "\u3001", "\xc2", "\u1681", "\u2030", "\x1c", "\x1d", "\x1e", "\x1f"]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = WHITE + NOT_WHITE
    return [""] + ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(n)]


def test_the_white_space_set_is_what_polars_regex_calls_whitespace() -> None:
    everything = pl.Series([chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF])
    assert sorted(everything.filter(everything.str.contains(r"^\s$")).to_list()) == sorted(WHITE)


def test_kernel_counts_equal_the_regex_on_random_unicode() -> None:
    pytest.importorskip("numba")
    from curation.dedup import kernels

    texts = pl.Series(_texts(5000, seed=3))
    data, offs = utf8_buffers(texts)
    out = np.zeros(len(texts), dtype=np.uint32)
    kernels.word_count_kernel(data, offs, out)
    expected = texts.str.count_matches(r"\S+").to_list()
    assert out.tolist() == expected
    assert word_counts(texts).to_list() == expected  # whichever path this process takes
    assert word_counts(texts).dtype == pl.UInt32


def test_counts_of_a_slice_and_with_nulls() -> None:
    texts = pl.Series(["one two", None, "  three\u3000four five ", "x"] * 100)[3:]
    expected = [len(re.findall(r"\S+", t or "")) for t in texts.to_list()]  # no U+001C-001F here, where Python differs
    assert word_counts(texts).fill_null(0).to_list() == expected
