"""BannedSubstrings: listed strings are found, also disguised, and redacted where they appear verbatim."""

import base64

import pytest

from curation.errors import WinnowError
from guardrails.scanners.banned_substrings import BannedSubstrings


def test_substring_and_word_modes() -> None:
    sub = BannedSubstrings({"substrings": ["falcon"]})
    word = BannedSubstrings({"substrings": ["falcon"], "match": "word"})
    assert not sub.scan("Project FALCONRY").valid
    assert word.scan("Project FALCONRY").valid
    v = word.scan("about Falcon, again falcon")
    assert not v.valid and v.sanitized == "about [REDACTED], again [REDACTED]" and len(v.spans) == 2


def test_case_sensitive() -> None:
    s = BannedSubstrings({"substrings": ["ACME"], "case_sensitive": True, "normalize": False})
    assert s.scan("acme corp").valid and not s.scan("ACME corp").valid


@pytest.mark.parametrize("disguised", ["the p4ssw0rd", "the p a s s w o r d", "the \u0440\u0430ssword",
                                       "the pass\u200bword", base64.b64encode(b"the password is here").decode()])
def test_disguised_matches(disguised: str) -> None:
    s = BannedSubstrings({"substrings": ["password"], "match": "word"})
    v = s.scan(disguised)
    assert not v.valid and "form" in v.reasons[0]
    assert BannedSubstrings({"substrings": ["password"], "normalize": False}).scan(disguised).valid


def test_empty_entries_are_refused_and_no_list_passes() -> None:
    with pytest.raises(WinnowError):
        BannedSubstrings({"substrings": ["ok", " "]})
    assert BannedSubstrings().scan("anything").valid


class _NoRegex:
    def finditer(self, text: str):  # the regex must not run on a text that holds no term
        raise AssertionError(f"regex ran on {text!r}")


def test_plain_in_test_skips_the_regex_and_agrees_with_it() -> None:
    fast = BannedSubstrings({"substrings": ["Falcon", "hawk"], "normalize": False})
    fast._raw = _NoRegex()
    assert fast.scan("an ordinary ASCII prompt about birds " * 30).valid
    s = BannedSubstrings({"substrings": ["Falcon", "Müller"], "normalize": False})
    cases = {"the fALCON flies": False, "falco n": True, "Herr MÜLLER café": False, "naïve falcon": False,
             "naïve bird": True, "ok": True}
    for text, valid in cases.items():
        assert s.scan(text).valid is valid, text
    v = s.scan("A FALCON and a Falcon")
    assert [sp.text for sp in v.spans] == ["FALCON", "Falcon"]


def test_find_spans_match_the_regex_alternation() -> None:
    # spans from str.find (ASCII fast path) must equal what the regex alternation returns: leftmost, longest
    terms = ["ab", "abc", "bcd", "cat", "Dog"]
    s = BannedSubstrings({"substrings": terms, "normalize": False})
    for text in ["xxabcdx abcat", "DOG dog dOg", "catcatcat", "zabcd", "ab ab abc bcd"]:
        got = [(sp.start, sp.end, sp.text) for sp in s.scan(text).spans]
        want = [(m.start(), m.end(), m.group()) for m in s._raw.finditer(text)]
        assert got == want and got, text
    assert [sp.text for sp in s.scan("the CAT sat").spans] == ["CAT"]
    assert not BannedSubstrings({"substrings": ["password"], "normalize": False}).scan("pa\u017fsword").valid


def test_regex_spans_come_from_the_terms_present_only() -> None:
    # non-ASCII text and word mode take spans from a regex of the terms present; they must equal the full one's
    terms = ["ignore previous", "Jailbreak", "caf\u00e9 au lait", "ab", "abc", "dev mode"]
    for cfg in ({}, {"match": "word"}, {"case_sensitive": True}):
        s = BannedSubstrings({"substrings": terms, "normalize": False, **cfg})
        for text in ["na\u00efve: IGNORE previous jailbreak", "un CAF\u00c9 AU LAIT, abc ab", "\u00fcber dev mode abcd",
                     "Jailbreak \u2014 Jailbreak", "plain ab abc ignore previous"]:
            got = [(sp.start, sp.end, sp.text) for sp in s.scan(text).spans]
            want = [(m.start(), m.end(), m.group()) for m in s._raw.finditer(text)]
            assert got == want, (cfg, text)
    assert BannedSubstrings({"substrings": terms, "normalize": False}).scan("na\u00efve JAILBREAK").spans[0].text \
        == "JAILBREAK"
