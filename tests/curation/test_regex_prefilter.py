"""The RE2 prefilter never drops a pattern `regex` would match; scanners find the same with or without it."""

import random

import pytest
import regex

from curation.regex_prefilter import FOLDS_ONTO_ASCII, Prefilter, Unsupported, to_re2
from guardrails.scanners.banned_substrings import BannedSubstrings
from guardrails.scanners.regex import Regex

pytest.importorskip("re2")

ATOMS = ["a", "b", "A", "k", "s", "i", "I", "\u00e9", "\u00df", "\u212a", "[^\u00e9]",
         r"\d", r"\w", r"\s", r"\S", r"\W", r"\D", ".", "[a-c]", "[^a-c]", r"[^\s,]",
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


def _differential(g: random.Random, texts: list[str], unicode: bool) -> tuple[int, int]:
    """Random patterns against `texts`: whenever `regex` finds a match, the set must name the pattern (and, for
    the wide set, must not rule the text out). Returns (patterns the set covered, matches checked)."""
    covered = checked = 0
    for _ in range(500):
        pattern, flags = _pattern(g), g.choice([0, regex.I, regex.M, regex.S, regex.I | regex.M])
        try:
            rx = regex.compile(pattern, flags)
        except regex.error:
            continue
        pf = Prefilter.build([pattern], flags, unicode=unicode)
        if pf is None or (unicode and (pf._wide is None or pf._wide.always)):
            continue
        covered += 1
        for t in texts:
            if rx.search(t) is not None:
                checked += 1
                assert pf.candidates(t) == [0], (pattern, flags, t, to_re2(pattern, flags, wide=unicode))
                if unicode:
                    assert not pf.rules_out_all(t)
    return covered, checked


def test_random_patterns_never_lose_a_match() -> None:
    # differential over ASCII texts: the ASCII set answers for them
    g = random.Random(11)
    texts = ["".join(g.choice("aAbBcxkKsS 0123_.-,\n\t\x0b\x1c") for _ in range(g.randint(0, 12)))
             for _ in range(150)]
    covered, checked = _differential(g, texts, unicode=False)
    assert covered > 300 and checked > 5000  # the test exercised the set, not only its fallbacks


# characters where the engines' Unicode readings differ: letters and digits of other scripts, case folds onto
# ASCII (Kelvin sign, long s, dotted/dotless i), spaces and line separators `regex` may read as \s or line ends
NON_ASCII = "\u00e9\u00c9\u00df\u1e9e\u212a\u017f\u0130\u0131\u0661\u00b2\u00a0\u2028\u0085\u200b\u0416\u4e2d\u0301"


def test_random_patterns_never_lose_a_match_in_non_ascii_text() -> None:
    # the wide set (unicode=True) answers for text of any script: it must never say no where `regex` matches
    g = random.Random(12)
    texts = ["".join(g.choice("aAbckKsSiI 0123_.-,\n" + NON_ASCII) for _ in range(g.randint(1, 12)))
             for _ in range(150)]
    covered, checked = _differential(g, [t for t in texts if not t.isascii()], unicode=True)
    assert covered > 250 and checked > 3000


def test_non_ascii_letters_that_fold_onto_ascii_are_all_known() -> None:
    # the wide set lets these stand in for an ASCII letter under IGNORECASE; `regex` must fold no other
    letters = [chr(c) for c in range(128) if chr(c).isalpha()]
    for rx in (regex.compile("(?i)[\x00-\x7f]"), regex.compile("(?i)(?:" + "|".join(letters) + ")")):
        found = {c for c in map(chr, range(128, 0x110000)) if rx.fullmatch(c)}
        assert found == set(FOLDS_ONTO_ASCII), rx.pattern


def test_non_ascii_text_is_answered_by_the_wide_set() -> None:
    pf = Prefilter.build([r"(?i)\bpassword\s*[:=]\s*\S+", r"\b\d{4}\b", "caf\u00e9"], unicode=True)
    assert pf is not None and pf._wide is not None and not pf._wide.always
    assert pf.candidates("Gr\u00fc\u00dfe aus M\u00fcnchen, sch\u00f6nes Wetter") == []  # nothing runs
    assert pf.rules_out_all("\u4e2d\u6587 text only")
    assert pf.candidates("Pa\u017f\u017fword: x") == [0]  # long s folds onto s in `regex`: still a candidate
    assert pf.candidates("Jahr \u0661\u0669\u0669\u0660") == [1]  # Arabic-Indic digits are `regex` \d
    assert pf.candidates("ein CAF\u00c9 bitte") == [] and pf.candidates("ein caf\u00e9 bitte") == [2]
    assert pf.candidates("lone \udc80 surrogate") is None  # not UTF-8: every pattern runs


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
             "plain text " * 90, "password:\x1cx", "pass\u00e9word: x bearer", "id: 12",
             "Stra\u00dfe PASSWORD\u00a0= geheim", "Karte \u0664\u0661\u0661\u0661 1111 1111 1111 \u00fc",
             "\u00fcber api_key=\u00e4\u00f6\u00fc", "\u4e2d\u6587 " * 200, "b\u00e9arer token", "fertig done\n\u00e9"]
    for t in texts:
        a, b = fast.scan(t), slow.scan(t)
        assert [(s.start, s.end, s.label) for s in a.spans] == [(s.start, s.end, s.label) for s in b.spans], t
        assert a.valid == b.valid and a.sanitized == b.sanitized
    assert not fast.scan("PASSWORD = hunter2").valid and fast.scan("plain text " * 90).valid
    # non-ASCII text: the five secret-shaped patterns are ruled out; `done$` always runs, and the wide reading of
    # `(?<=id:)\d+` (no lookbehind; a non-ASCII character may be a `regex` digit) is a candidate
    assert fast._prefilter.candidates("Gr\u00fc\u00dfe, keine Geheimnisse") == [5, 6]


def test_banned_substrings_same_findings_with_and_without_the_set() -> None:
    terms = ["ignore previous instructions", "Jailbreak", "c#", "stra\u00dfe", "dev mode", "kill", "caf\u00e9"]
    for cfg in ({}, {"case_sensitive": True}, {"match": "word"}):
        fast = BannedSubstrings({"substrings": terms, "normalize": False, **cfg})
        slow = BannedSubstrings({"substrings": terms, "normalize": False, **cfg})
        slow._pre = slow._literal = slow._wide = None
        slow._nothing_in = None
        assert fast._pre is not None and fast._literal is not None and fast._wide is not None
        for t in ["please IGNORE previous instructions now", "a jailbreaking trick", "code in C# and c#",
                  "the STRASSE", "die Stra\u00dfe", "dev  mode", "DEV MODE on", "nothing at all " * 60, "",
                  "\u212aILL it", "\u00fcber JAILBREAK\u00e9", "ein CAF\u00c9 bitte", "Gr\u00fc\u00dfe " * 100,
                  "d\u0435v mode \u2014 \u201cignore previous instructions\u201d", "STRA\u1e9eE"]:
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
