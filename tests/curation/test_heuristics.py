"""The heuristic steps against datatrove's own filters, document by document.

Documents are built here to hit every rule and every splitting pitfall (line-break kinds, empty pieces,
spaCy special cases, top-n-gram ties, "".join n-gram collisions, citations, whitespace tokens).
"""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest

from curation.heuristics.decide import decisions, heuristics_recipe, score_all

PROSE = [
    "The river runs past the old mill and into the valley where the farmers have planted wheat.",
    "Every spring the town holds a market, and people come from the hills to sell cheese and wool.",
    "It is said that the bridge was built with stones taken from the castle that once stood there.",
    "Visitors should bring warm clothes, because the wind from the lake can be cold in the evening.",
    "The school was opened in 1894 and it still teaches the children of the valley today.",
    "Walkers often stop at the inn to have a meal with a view of the water and the mountains.",
    "A new path was made last year so that families with small children can reach the falls.",
    "Some of the houses have roofs of slate, and others have roofs of thatch that must be renewed.",
]


def _prose(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(PROSE) for _ in range(n))


def _docs() -> list[str]:
    rng = random.Random(7)
    long_para = "\n\n".join(_prose(rng, 3) for _ in range(4))
    docs = [
        long_para,                                                     # clean prose
        "Hello world. This is short.",                                 # too short
        "# " * 80 + _prose(rng, 3),                                    # hashes
        "\n".join(f"- item number {i} of the list" for i in range(30)),  # bullets
        "\n".join(f"{_prose(rng, 1)[:-1]}..." for _ in range(8)) + "\n" + _prose(rng, 3),  # ellipsis lines
        "\n".join([_prose(rng, 1)] * 6 + [_prose(rng, 2) for _ in range(4)]),  # repeated lines
        "\n\n".join([_prose(rng, 2)] * 3 + [_prose(rng, 2)]),            # repeated paragraphs
        (" the quick brown fox jumps over the lazy dog and " * 12) + _prose(rng, 4),  # repeated n-grams
        _prose(rng, 4) + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.\n" + _prose(rng, 3),
        _prose(rng, 4) + "\nThe function returns {x: 1} to the caller when done.\n" + _prose(rng, 3),
        "\n".join(" ".join(rng.choice(PROSE).split()[:6]) for _ in range(20)),  # no punctuation
        "\n".join(f"{w}" for w in "apples pears plums cherries grapes lemons limes figs dates".split() * 4),
        _prose(rng, 3) + "\nPlease enable JavaScript to view this page, it is needed.\n" + _prose(rng, 3),
        _prose(rng, 3) + "\nThis site uses cookies to improve your experience here.\n" + _prose(rng, 3)
        + "\nRead our privacy policy and terms of use before you go.",
        "\n".join(f"{_prose(rng, 1)[:-1]} [{i}] and more [edit] text [citation needed]." for i in range(6)),
        "",                                                            # empty
        "   \n  \t ",                                                  # whitespace only
        _prose(rng, 3).replace(". ", ".\r\n") + "\r\n",                # CRLF
        _prose(rng, 3).replace(". ", ".\x0b") + "\u2028" + _prose(rng, 3).replace(". ", ".\x1c"),
        "I dont know, but we cannot go. U.S. troops e.g. left at 5 p.m. :) Isn't it?  It's 3.5km away. "
        "See https://example.com/a-b?c=d and e-mail me at a@b.org! (Really.) \"Quoted.\" — yes; ok... "
        + _prose(rng, 5),
        "Two  spaces.  After periods.\tTabs.  !" + "\n" + _prose(rng, 5) + "  .",
        _prose(rng, 3) + " ……  ... … " + _prose(rng, 2),
        ("ab c " * 3 + "a bc " * 3 + "x y z w v ") * 5 + _prose(rng, 3),  # "".join n-gram collisions
        ("red fish blue fish " * 4 + "one two three four " * 4 + "cat " * 3) + _prose(rng, 2),  # top ties
        "\n\n" + _prose(rng, 3) + "\n\n\n" + _prose(rng, 3) + "\n\n",    # empty first/last line pieces
        "\n" + _prose(rng, 2) + "\n" + _prose(rng, 2) + "\n",
        "numbers 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 " * 4 + "and the end of it.",
        "x" * 1200 + " is a very long word. " + _prose(rng, 6),
        "\n".join(_prose(rng, 1) for _ in range(12)),                  # one sentence per line
        "Cat sat. Dog ran. Sun set. Moon rose. Bird sang. Fish swam. " * 3,
        "\n".join(["Short line."] * 3 + [_prose(rng, 2)] * 1 + ["ok", "yes", "no"] * 5),
        "• first bullet point of mine\n• second bullet point here\n" * 6,
        "Ünïcödé wörds ärë fïnë, and the café serves crème brûlée to the people who come by.\n" * 2
        + _prose(rng, 4),
        "He said \"Go.  \" and left.\nShe said 'Stop!' then ran. Then?  ! She hid.\n" + _prose(rng, 4),
        "The word [12] here. " + _prose(rng, 5) + "\n[3] " + _prose(rng, 2),
        "... " * 30 + _prose(rng, 2),
        "\n".join(f"Line {i}: {_prose(rng, 1)}" for i in range(10)) + "\n" + "\n".join(["ok"] * 3),
        "end.Next sentence starts.Here without a space, and it ends here. " * 4 + _prose(rng, 3),
        "a\x1fb c\x85d e\u2029f " + _prose(rng, 6),
    ]
    return docs


@pytest.fixture(scope="module")
def scored():
    docs = _docs()
    batch = pl.DataFrame({"id": [f"d{i}" for i in range(len(docs))], "text": docs})
    recipe = heuristics_recipe()
    signals = score_all(batch, recipe)
    raw = recipe.model_copy(deep=True)
    raw_signals = {"fineweb_quality": score_all(batch, parse_raw_recipe())["fineweb_quality"]}
    return docs, recipe, signals, raw, raw_signals


def parse_raw_recipe():
    from curation.recipe import parse_recipe

    r = heuristics_recipe().model_dump(mode="json", exclude_none=True)
    r["signals"]["fineweb_quality"] = {"text": "raw"}
    return parse_recipe(r)


def _dt(text: str, flt) -> tuple[bool, str]:
    from datatrove.data import Document

    d = Document(text=text, id="x")
    r = flt.filter(d)
    return (r is True), d.text


def test_whitespace_constant_is_pythons():
    from curation.heuristics.chars import PY_WHITESPACE

    assert PY_WHITESPACE == "".join(c for c in map(chr, range(0x110000)) if c.isspace())


def test_words_equal_datatrove(scored):
    from datatrove.utils.text import split_into_words

    from curation.heuristics.words import word_cache

    docs = scored[0]
    wc = word_cache()
    for t in docs:
        assert wc.words_of(t) == split_into_words(t), t[:60]


def test_python_port_equals_spacy_on_tricky_chunks():
    from curation.heuristics.words import WordCache

    wc = WordCache()
    chunks = ["dont", "Cannot", "U.S.", "e.g.", ":)", "(:", "<3", "isn't", "It's", "3.5km", "5p.m.", "a.m.)",
              "(hello)", "\"Quoted.\"", "end.Next", "https://example.com/a-b?c=d", "a@b.org!", "—yes;",
              "ok...", "1,000,000.", "$5.00", "US$10", "well-known", "o'clock", "rock'n'roll", "''",
              "Mr.", "(Mr.)", "...", "…", "#hashtag", "C++", "x:)y", "'s", "n't", "ya'll", "Ph.D.", "°F."]
    assert wc._spacy_words(chunks) == wc._spacy_words(chunks, force_spacy=True)
    # our tokenizer settings are spacy.blank("en")'s, which datatrove uses
    import spacy

    ref = spacy.blank("en").tokenizer
    assert {k: [t[65] for t in v] for k, v in ref.rules.items()} == wc._rules
    for ours, theirs in [(wc._prefix, ref.prefix_search), (wc._suffix, ref.suffix_search),
                         (wc._infix, ref.infix_finditer), (wc._url_match, ref.url_match)]:
        assert ours.__self__.pattern == theirs.__self__.pattern
    assert ref.token_match is None and wc._token_match is None


def test_special_case_matcher_equals_spacy_on_overlapping_matches():
    """Chunks where spaCy's special-case matcher finds overlapping runs (emoticons, quotes, contractions)."""
    import random

    from curation.heuristics.words import WordCache

    wc = WordCache()
    chunks = ["’Coz...Wis.’", "\":(('ö.'", "]=(:’)°C.", "''ll-", "'nuff:)", "'11p.m.,:'(", ".>:(:)",
              "'s[:'s", "'s(*_*)", ".Bros.w/o-’’'", ":);-)Ill.\":')", ".how’s\"8):)", "'s:'(:)", ":):'):):x's",
              ":-}Mt.):’(,", "(don't)", "\"Let’s", "'O'clock.'", "a.m.)", "(Mr.)", "<3<3", ":'):'(", "''''"]
    # random glue of special cases: overlap resolution (longest first, then leftmost) decides the words
    keys = sorted("".join(q) for qs in wc._matcher_first.values() for q in qs)
    glue = ["", "(", ")", "'", '"', ".", ",", "-", "’", "'s", "n't", ":)", "..."]
    rng = random.Random(7)
    for _ in range(3000):
        chunks.append("".join(rng.choice(glue) + rng.choice(keys) for _ in range(rng.randint(1, 3)))
                      + rng.choice(glue))
    ours = wc._spacy_words(chunks)
    ref = wc._spacy_words(chunks, force_spacy=True)
    assert [c for c, a, b in zip(chunks, ours, ref, strict=True) if a != b] == []
    # spaCy's own words for one overlapping case, written out: ":')" wins over ":'" + ")" and "):"
    assert ours[chunks.index(":):'):):x's")] == [":)", ":')", ":", ")", ":x", "'s"]


def test_each_filter_matches_datatrove(scored):
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    docs, recipe, signals, _, raw_signals = scored
    ours = decisions(signals, recipe)
    ours_raw_fw = decisions(raw_signals, parse_raw_recipe())["fineweb_quality"]
    filters = {"gopher_repetition": GopherRepetitionFilter(), "gopher_quality": GopherQualityFilter(),
               "c4_quality": C4QualityFilter()}
    fw = FineWebQualityFilter()
    seen = {k: [False, False] for k in [*filters, "fineweb_quality"]}
    for i, t in enumerate(docs):
        chain = True
        for name, flt in filters.items():
            if name == "gopher_quality" and not t.strip():
                ref = False  # datatrove divides by zero words only after the min-words rule fired
            else:
                ref, _ = _dt(t, flt)
            assert ours[name][i] == ref, (name, i, t[:80], signals[name].row(i, named=True))
            seen[name][ref] = True
            chain &= ref
        if t.strip():
            ref_raw, _ = _dt(t, fw)
            assert ours_raw_fw[i] == ref_raw, ("fineweb raw", i, raw_signals["fineweb_quality"].row(i, named=True))
        c4_ok, c4_text = _dt(t, C4QualityFilter())
        if c4_ok:
            ref_fw, _ = _dt(c4_text, fw)
            assert ours["fineweb_quality"][i] == ref_fw, ("fineweb", i, signals["fineweb_quality"].row(i, named=True))
            seen["fineweb_quality"][ref_fw] = True
            chain &= ref_fw
        else:
            chain = False
        assert ours["all"][i] == chain, i
    # the fixture exercises both outcomes of every filter
    assert all(v == [True, True] for v in seen.values()), seen


def test_statistics_equal_datatrove_numbers(scored):
    import re

    from datatrove.pipeline.filters.gopher_repetition_filter import (
        find_all_duplicate,
        find_duplicates,
        find_top_duplicate,
        get_n_grams,
    )
    from datatrove.utils.text import PUNCTUATION_SET, split_into_words

    docs, _, signals, _, _ = scored
    gq, gr = signals["gopher_quality"], signals["gopher_repetition"]
    for i, t in enumerate(docs):
        if not t:
            continue
        words = split_into_words(t)
        nonsym = [w for w in words if any(c not in PUNCTUATION_SET for c in w)]
        assert gq["words"][i] == len(words)
        assert gq["non_symbol_words"][i] == len(nonsym)
        if nonsym:
            assert gq["avg_word_length"][i] == float(np.mean([len(w) for w in nonsym]))
        lines = t.splitlines()
        if lines:
            assert gq["bullet_lines_ratio"][i] == sum(s.lstrip().startswith(("•", "-")) for s in lines) / len(lines)
            assert gq["ellipsis_lines_ratio"][i] == sum(s.rstrip().endswith(("...", "…")) for s in lines) / len(lines)
        paras = re.split(r"\n{2,}", t.strip())
        assert gr["dup_para_frac"][i] == find_duplicates(paras)[0] / len(paras)
        assert gr["dup_para_char_frac"][i] == find_duplicates(paras)[1] / len(t)
        ls = re.split("\n+", t)
        assert gr["dup_line_frac"][i] == find_duplicates(ls)[0] / len(ls)
        assert gr["dup_line_char_frac"][i] == find_duplicates(ls)[1] / len(t)
        for n in (2, 3, 4):
            g = get_n_grams(words, n)
            assert gr[f"top_{n}_gram_char_frac"][i] == (find_top_duplicate(g) / len(t) if g else 0.0), (i, n)
        for n in range(5, 11):
            assert gr[f"dup_{n}_gram_char_frac"][i] == find_all_duplicate(words, n) / len(t), (i, n)


def test_c4_kept_text_and_sentences_equal_datatrove(scored):
    from datatrove.pipeline.filters import C4QualityFilter
    from datatrove.utils.text import split_into_sentences

    from curation.heuristics.c4 import C4Params, kept_text
    from curation.heuristics.signals import Analysis

    docs = scored[0]
    a = Analysis(texts=pl.Series(docs))
    c4 = a.c4(C4Params())
    kept = kept_text(c4, len(docs)).to_list()
    lines = c4.lines
    for i, t in enumerate(docs):
        ok, new = _dt(t, C4QualityFilter())
        if ok:
            assert kept[i] == new, i
        ref = sum(len(split_into_sentences(s)) for s in lines.filter((pl.col("doc") == i) & pl.col("kept"))["text"])
        assert c4.docs["sentences"][i] == ref, i


def test_batches_share_one_tokenization_and_order_is_kept(scored):
    from curation.heuristics.signals import analyse

    docs = scored[0][:10]
    batch = pl.DataFrame({"id": [f"x{i}" for i in range(10)], "text": docs, "order": list(range(10))})
    assert analyse(batch) is analyse(batch)
    out = score_all(batch, heuristics_recipe())
    for frame in out.values():
        assert frame["id"].to_list() == batch["id"].to_list()
    # a second, reversed batch gives the same rows reversed (no state leaks between batches)
    rev = batch.reverse()
    out2 = score_all(rev, heuristics_recipe())
    for name, frame in out.items():
        assert frame.reverse().equals(out2[name]), name


def test_recipe_has_every_default_threshold():
    r = heuristics_recipe()
    names = {x.name for x in r.rules}
    assert len(names) == len(r.rules) == 32
    by = {x.name: x for x in r.rules}
    assert by["gopher_quality.min_words"].min == 50 and by["gopher_quality.max_words"].max == 100000
    assert by["gopher_repetition.dup_10_grams"].max == 0.10 and by["gopher_repetition.top_3_gram"].max == 0.18
    assert by["c4_quality.min_sentences"].min == 5
    assert by["fineweb_quality.line_punct_ratio"].min == 0.12 and by["fineweb_quality.list_ratio"].max == 0.3


def test_bucket_filter_is_a_superset():
    """(the scan itself is compared with datatrove's find_all_duplicate, numpy and numba paths, in
    test_ngram_kernels_equal_datatrove_functions)"""
    from curation.heuristics import ngrams

    rng = np.random.default_rng(0)
    keys = rng.integers(0, 1 << 63, 50_000, dtype=np.int64).astype(np.uint64)
    keys[::50] = keys[1::50]
    cand = set(ngrams._maybe_repeated(keys).tolist())
    _, inv, cnt = np.unique(keys, return_inverse=True, return_counts=True)
    assert set(np.flatnonzero(cnt[inv] >= 2).tolist()) <= cand


def test_ngram_kernels_equal_datatrove_functions():
    """Top and duplicated n-gram statistics, numba kernel and numpy path, against datatrove's own functions."""
    import random

    import polars as pl
    from datatrove.pipeline.filters.gopher_repetition_filter import (
        find_all_duplicate,
        find_top_duplicate,
        get_n_grams,
    )
    from datatrove.utils.text import split_into_words

    from curation.heuristics.signals import Analysis

    rng = random.Random(3)
    docs = [
        "",
        "one",
        "a b",
        # ties: "xx y" occurs first, "p q" reaches two occurrences first; Counter keeps the earliest
        "xx y p q p q xx y",
        "a a a a a a a a a a a a a a",
        # equal when joined without spaces ("ab c" == "a bc"): datatrove's duplicated n-grams join with ""
        "ab c d e f g a bc d e f g ab c d e f g",
        "the cat sat. the cat sat. the cat sat, on the mat; the cat sat!",
    ]
    vocab = ["a", "b", "ab", "ba", "c", "the", "cat", ".", ",", "a.", "b,", "'s"]
    for _ in range(300):
        docs.append(" ".join(rng.choice(vocab[:rng.randint(2, len(vocab))]) for _ in range(rng.randint(0, 60))))
    a = Analysis(texts=pl.Series(docs))
    words = [split_into_words(d) for d in docs]
    for n in (2, 3, 4):
        want = [find_top_duplicate(get_n_grams(w, n)) if len(w) >= n else 0 for w in words]
        for kernel in (True, False):
            assert a.ngrams.top_ngram_chars(n, kernel=kernel).tolist() == want, (n, kernel)
    for n in (5, 6, 7, 8, 9, 10):
        want = [find_all_duplicate(w, n) for w in words]
        for kernel in (True, False):
            assert a.ngrams.dup_ngram_chars(n, kernel=kernel).tolist() == want, (n, kernel)
