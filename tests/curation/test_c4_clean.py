"""`c4_clean` writes the text datatrove's C4QualityFilter passes on, byte for byte."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from curation.heuristics.c4 import C4Params
from curation.heuristics.c4_clean import c4_clean_texts

LINES = [
    "The committee met on Tuesday to discuss the new budget proposal.",
    "  Leading and trailing spaces around a sentence that ends well.  ",
    "A line with a citation at the end.[1]",
    "Wikipedia style edits are removed too.[edit]",
    "This one needs a source.[citation needed]",
    "Please enable JavaScript to view the comments below.",
    "We use cookies to improve your experience on this site.",
    "Read our privacy policy before you continue here.",
    "Too short.",
    "no terminal punctuation in this line at all",
    "An ellipsis is not an ending...",
    "She said \"this ends with a quote.\"",
    "Is this a question that ends properly?",
    "What an exclamation this line makes!",
    "Tabs\tinside\tthe words of this sentence count as spaces.",
    "Non-breaking\u00a0spaces\u00a0split words in Python too.",
    "A word " + "x" * 1005 + " that is far too long.",
    # long lines whose words are short, or exactly at the limit: kept (the limit is on words, not lines)
    "Many short words. " * 80,
    "y" * 1000 + " is a word exactly at the limit.",
    "Tab\t" + "z" * 1001 + "\tafter a tab is too long.",
    "Mr. Smith went to Washington. He stayed there. Then he left.",
    "",
    "   ",
    "Numbers like 3.14 and 2.71 appear in this sentence.",
    "Unicode text: café, naïve, Zürich and Kraków are fine.",
]
SEPARATORS = ["\n", "\n", "\n\n", "\r\n", "\u2028", "\x0c", "\x1e", "\u0085"]


def _docs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        k = rng.randint(1, 14)
        parts = [rng.choice(LINES) for _ in range(k)]
        text = ""
        for p in parts:
            text += p + rng.choice(SEPARATORS)
        if rng.random() < 0.5:
            text = text.rstrip()
        docs.append(text)
    return docs


def _datatrove_outputs(docs: list[str]) -> list[str | None]:
    """datatrove's own filter: the text it passes on, or None when it drops the document."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import C4QualityFilter

    f = C4QualityFilter()
    out: list[str | None] = []
    for i, t in enumerate(docs):
        d = Document(text=t, id=str(i))
        out.append(d.text if f.filter(d) is True else None)
    return out


@pytest.mark.slow
def test_same_bytes_as_datatrove_c4_filter() -> None:
    docs = _docs(400)
    ref = _datatrove_outputs(docs)
    ours = c4_clean_texts(pl.Series(docs), C4Params()).to_list()
    passed = [i for i, r in enumerate(ref) if r is not None]
    assert len(passed) > 50, "the fixture should give C4 many documents to keep"
    changed = [i for i in passed if ref[i] != docs[i]]
    assert len(changed) > 40, "the fixture should make C4 rewrite many kept documents"
    bad = [i for i in passed if ours[i] != ref[i]]
    assert not bad, f"{len(bad)} texts differ, first: {docs[bad[0]]!r} -> ours {ours[bad[0]]!r} vs {ref[bad[0]]!r}"


def test_recipe_transform_end_to_end(tmp_path: Path) -> None:
    """A curate run with C4's document rules and `transforms: {c4_clean: {}}` keeps what datatrove keeps,
    with datatrove's text."""
    from curation.pipeline import curate
    from curation.recipe import load_recipe

    docs = _docs(120, seed=3)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(docs)), "utf-8")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "signals:\n  c4_quality: {}\n"
        "rules:\n"
        "  - {name: lorem, signal: c4_quality, column: lorem_ipsum, drop_if: true}\n"
        "  - {name: curly, signal: c4_quality, column: curly_bracket, drop_if: true}\n"
        "  - {name: sentences, signal: c4_quality, column: sentences, min: 5}\n"
        "transforms:\n  c4_clean: {}\n", encoding="utf-8")
    curate([src], tmp_path / "run", load_recipe(recipe), workers=1)
    kept = pl.read_parquet(tmp_path / "run" / "kept" / "*.parquet")
    got = dict(zip(kept["id"].to_list(), kept["text"].to_list(), strict=True))
    ref = {f"d{i}": r for i, r in enumerate(_datatrove_outputs(docs)) if r is not None}
    assert got == ref


def test_unknown_parameter_is_a_clear_error() -> None:
    from curation.errors import WinnowError
    from curation.heuristics.c4_clean import c4_clean

    with pytest.raises(WinnowError, match="transforms.c4_clean: min_word_per_line"):
        c4_clean(pl.DataFrame({"id": ["a"], "text": ["x"]}), {"min_word_per_line": 2}, Path("."))
