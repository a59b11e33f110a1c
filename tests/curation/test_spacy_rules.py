"""spaCy's English tokenizer rules, read back from the on-disk cache, are spaCy's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.heuristics import spacy_rules


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WINNOW_CACHE_DIR", str(tmp_path))
    return tmp_path


def _spacy_defaults():  # noqa: ANN202
    from spacy.lang.en import English
    from spacy.pipeline import Sentencizer
    from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

    d = English.Defaults
    return d, compile_prefix_regex(d.prefixes), compile_suffix_regex(d.suffixes), compile_infix_regex(d.infixes), \
        Sentencizer.default_punct_chars


def test_rules_read_from_the_cache_are_spacys(cache: Path) -> None:
    built = spacy_rules.english_rules()  # first call: from spaCy, then written
    assert spacy_rules.cache_path().is_file() and spacy_rules.cache_path().parent == cache
    again = spacy_rules.english_rules()  # second call: from the file
    d, prefix, suffix, infix, punct = _spacy_defaults()
    for r in (built, again):
        assert r.exceptions == {k: [t[65] for t in v] for k, v in d.tokenizer_exceptions.items()}
        assert (r.prefix.pattern, r.suffix.pattern, r.infix.pattern) == (prefix.pattern, suffix.pattern,
                                                                         infix.pattern)
        assert r.url.pattern == d.url_match.__self__.pattern and r.token is None
        assert r.sentence_punct == frozenset(punct)
    # the regexes behave as spaCy's on chunks that exercise each of them
    for chunk in ['("Hello', "world!)", "e-mail", "https://example.com/a?b=c", "3.5km", "U.S.", "can't"]:
        p1, p2 = again.prefix.search(chunk), prefix.search(chunk)
        assert (p1.span() if p1 else None) == (p2.span() if p2 else None)
        assert [m.span() for m in again.infix.finditer(chunk)] == [m.span() for m in infix.finditer(chunk)]
        s1, s2 = again.suffix.search(chunk), suffix.search(chunk)
        assert (s1.span() if s1 else None) == (s2.span() if s2 else None)
        assert bool(again.url.match(chunk)) == bool(d.url_match(chunk))


def test_a_damaged_cache_file_is_rebuilt(cache: Path) -> None:
    spacy_rules.english_rules()
    spacy_rules.cache_path().write_text('{"format": 1, "exceptions": ', encoding="utf-8")  # cut short
    r = spacy_rules.english_rules()
    assert "can't" in r.exceptions
    assert spacy_rules.cache_path().read_text(encoding="utf-8").endswith("}")


def test_an_unwritable_cache_still_gives_the_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WINNOW_CACHE_DIR", str(blocker / "sub"))
    assert "can't" in spacy_rules.english_rules().exceptions
