"""The RE2 prefilter never drops a pattern `regex` would match; scanners find the same with or without it."""

import random

import pytest
import regex

from guardrails.scanners.banned_substrings import BannedSubstrings
from guardrails.scanners.regex import Regex
from guardrails.scanners.regex_prefilter import Prefilter, Unsupported, to_re2

pytest.importorskip("re2")

ATOMS = ["a", "b", "A", "k", "s", r"\d", r"\w", r"\s", r"\S", r"\W", r"\D", ".", "[a-c]", "[^a-c]", r"[^\s,]",
         "[A-Z0-9]", r"\b", r"\B", "^", "$", r"\A", r"\Z", r"\.", "-", " ", r"\n", "(?=a)", "(?!b)", "(?<=a)",
         r"(?<!\d)", r"[\d_]", r"\x0b", r"\x1c", "[^a]"]
QUANTS = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{,2}", "*?", "+?"]
ZERO_WIDTH = {r"\b", r"\B", "^", "$", r"\A", r"\Z", "(?=a)", "(?!b)", "(?<=a)", r"(?<!\d)"}


def _pattern(g: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(g.randint(1, 4)):
        r = g.random()
        if r < 0.15 and depth < 2:
            atom = f"({_pattern(g, depth + 1)}|{_pattern(g, depth + 1)})"
        elif r < 0.2 and depth < 2:
            atom = f"(?{g.choice(['i', 's', 'm', '-i'])}:{_pattern(g, depth + 1)})"
        else:
            atom = g.choice(ATOMS)
        parts.append(atom + ("" if atom in ZERO_WIDTH else g.choice(QUANTS)))
    return "".join(parts)


def test_random_patterns_never_lose_a_match() -> None:
    # differential: whenever `regex` finds a match in an ASCII text, the set must name the pattern
    g = random.Random(11)
    texts = ["".join(g.choice("aAbBcxkKsS 0123_.-,\n\t\x0b\x1c") for _ in range(g.randint(0, 12)))
             for _ in range(150)]
    covered = checked = 0
    for _ in range(500):
        pattern, flags = _pattern(g), g.choice([0, regex.I, regex.M, regex.S, regex.I | regex.M])
        try:
            rx = regex.compile(pattern, flags)
        except regex.error:
            continue
        pf = Prefilter.build([pattern], flags)
        if pf is None:
            continue
        covered += 1
        for t in texts:
            if rx.search(t) is not None:
                checked += 1
                assert pf.candidates(t) == [0], (pattern, flags, t, to_re2(pattern, flags))
    assert covered > 300 and checked > 5000  # the test exercised the set, not only its fallbacks


def test_what_stays_out_of_the_set_still_runs() -> None:
    for p in [r"(a)\1", "foo$", r"\p{L}+", "(?>ab)c", "x{e<=1}", "[[:alpha:]]", "caf\u00e9", "a{2000}"]:
        with pytest.raises(Unsupported):
            to_re2(p)
    pf = Prefilter.build(["foo$", "bar"])
    assert pf is not None and pf.candidates("nothing here") == [0]  # foo$ always runs, bar was ruled out
    assert pf.candidates("a bar") == [0, 1] and pf.candidates("caf\u00e9 bar") is None  # non-ASCII: run all


PATTERNS = [r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{20,}", r"\b(?:\d[ -]?){13,16}\b", r"(?i)\bpassword\s*[:=]\s*\S+",
            r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b", r"(?i)\bapi[_-]?key\s*[:=]\s*\S+", "done$", r"(?<=id:)\d+"]


def test_regex_scanner_same_findings_with_and_without_the_set() -> None:
    fast = Regex({"patterns": PATTERNS})
    slow = Regex({"patterns": PATTERNS})
    slow._prefilter = None
    assert fast._prefilter is not None and len(fast._prefilter._covered) == 6  # all but `done$`
    texts = ["Authorization: Bearer abcdefghijklmnopqrstuvwxyz012", "card 4111 1111 1111 1111 ok",
             "PASSWORD = hunter2", "iban GB82WEST12345698765432", "API-KEY:zz", "all done\n", "id:123",
             "plain text " * 90, "password:\x1cx", "pass\u00e9word: x bearer", "id: 12"]
    for t in texts:
        a, b = fast.scan(t), slow.scan(t)
        assert [(s.start, s.end, s.label) for s in a.spans] == [(s.start, s.end, s.label) for s in b.spans], t
        assert a.valid == b.valid and a.sanitized == b.sanitized
    assert not fast.scan("PASSWORD = hunter2").valid and fast.scan("plain text " * 90).valid


def test_banned_substrings_same_findings_with_and_without_the_set() -> None:
    terms = ["ignore previous instructions", "Jailbreak", "c#", "stra\u00dfe", "dev mode"]
    for cfg in ({}, {"case_sensitive": True}, {"match": "word"}):
        fast = BannedSubstrings({"substrings": terms, "normalize": False, **cfg})
        slow = BannedSubstrings({"substrings": terms, "normalize": False, **cfg})
        slow._pre = slow._literal = None
        assert fast._pre is not None and fast._literal is not None
        for t in ["please IGNORE previous instructions now", "a jailbreaking trick", "code in C# and c#",
                  "the STRASSE", "die Stra\u00dfe", "dev  mode", "DEV MODE on", "nothing at all " * 60, ""]:
            a, b = fast.scan(t), slow.scan(t)
            assert (a.valid, [(s.start, s.end) for s in a.spans]) == (b.valid, [(s.start, s.end) for s in b.spans]), \
                (cfg, t)
    s = BannedSubstrings({"substrings": terms, "normalize": False})
    assert not s.scan("a JAILBREAKING trick").valid and s.scan("dev  mode").valid


def test_quick_clean_verdict_is_the_full_one() -> None:
    # a clean ASCII text answered by the one-pass shortcut gives the verdict the full path gives
    for make in (lambda **k: BannedSubstrings({"substrings": ["jailbreak", "dev mode"], "normalize": False}, **k),
                 lambda **k: Regex({"patterns": PATTERNS[:5]}, **k)):
        for threshold in (None, 0.0):
            fast, slow = make(threshold=threshold), make(threshold=threshold)
            slow._nothing_in = None
            assert fast._nothing_in is not None
            for t in ["a clean prompt about gardens " * 20, "dev mode on", "password: x", "caf\u00e9 jailbreak", ""]:
                a, b = fast.scan(t, budget_ms=50).to_dict(), slow.scan(t, budget_ms=50).to_dict()
                a.pop("latency_ms"), b.pop("latency_ms")
                assert a == b, (t, threshold)
    assert Regex({"patterns": PATTERNS[:5], "mode": "allow"})._nothing_in is None  # no match is a finding there
    assert BannedSubstrings({"substrings": ["jailbreak"]})._nothing_in is None  # normalised forms still to read
