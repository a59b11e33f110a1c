"""The search index `mix` writes (curation/text_index.py): every hit is real, none is missed, pages come in
input order, and the index follows the run (built by mix, rebuilt by a re-mix, ignored when stale)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curation.run_reader import RunReader
from curation.text_index import BLOCK, TextIndex, build_index

COMMON = ["the", "of", "and", "to", "in", "a", "is", "that"]
RARE = ["zephyrine", "quokka", "Café", "naïve"]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = [rng.choice(COMMON) for _ in range(rng.randint(5, 30))]
        if i % 97 == 5:
            words.insert(rng.randint(0, len(words)), rng.choice(RARE))
        if i % 13 == 0:
            words.insert(rng.randint(0, len(words)), "Item-42.")
        if i % 50 == 7:
            words.insert(0, "subzephyrine")  # contains a rare word, not as a whole word
        out.append(" ".join(words).capitalize())
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder laid out as curate writes it: three docs files whose names are NOT in input order (the
    first file holds the last documents), so corpus order must come from `order`, not from file names."""
    root = tmp_path_factory.mktemp("tindex") / "run"
    (root / "docs").mkdir(parents=True)
    texts = _texts(3 * 300, seed=3)
    parts = {"00000_000000": range(600, 900), "00000_000001": range(0, 300), "00001_000000": range(300, 600)}
    for name, rows in parts.items():
        pl.DataFrame({"id": [f"doc{i:04d}" for i in rows], "text": [texts[i] for i in rows],
                      "order": list(rows), "source": ["t.jsonl"] * len(rows), "metadata": ["{}"] * len(rows)}
                     ).write_parquet(root / "docs" / f"{name}.parquet")
    (root / "manifest.json").write_text(json.dumps({"input": len(texts)}), encoding="utf-8")
    build_index(root)
    return root


def _truth(run: Path, query: str, whole_words: bool) -> list[str]:
    """Ids of matching documents in input order, by Python's own lowercase and re (not the index's code)."""
    docs = pl.concat([pl.read_parquet(f) for f in sorted((run / "docs").glob("*.parquet"))]).sort("order")
    q = query.strip().lower() if whole_words else query.lower()
    return [i for i, t in zip(docs["id"], docs["text"], strict=True)
            if (_whole_word_in(q, t.lower()) if whole_words else q in t.lower())]


def _whole_word_in(q: str, t: str) -> bool:
    """Some occurrence of `q` in `t` extends no word: where q starts (ends) with a letter or digit, the
    character before (after) it is not one. Punctuation at an end of q needs nothing beside it."""
    def word(c: str) -> bool:
        return c.isalnum() or c == "_"

    i = t.find(q)
    while i >= 0:
        before = i == 0 or not (word(q[0]) and word(t[i - 1]))
        after = i + len(q) == len(t) or not (word(q[-1]) and word(t[i + len(q)]))
        if before and after:
            return True
        i = t.find(q, i + 1)
    return False


QUERIES = [("zephyrine", True), ("zephyrine", False), ("QUOKKA", True), ("café", True), ("naïve", False),
           ("item-42", True), ("item-42.", False), ("42", True), ("the of and", True), ("of the", False),
           ("he of", False), ("that is a", True), ("subzephyrine", True), ("absent", True), ("é", False),
           # whole words with punctuation at an end: no word boundary is asked for beside the punctuation
           ("-42.", True), ("42.", True), ("-42", True)]


@pytest.mark.parametrize(("query", "whole"), QUERIES)
def test_every_match_and_only_matches_in_input_order(run: Path, query: str, whole: bool) -> None:
    reader = RunReader(run)
    assert reader.text_index is not None
    want = _truth(run, query, whole)
    page, total = reader.page(search=query, whole_words=whole, limit=10_000)
    assert list(page["id"]) == want and total == len(want)
    assert "table" not in reader.__dict__  # answered from the index alone
    with_table = RunReader(run)
    _ = with_table.table  # the app's reader once another view needed the document table: the same page
    page2, total2 = with_table.page(search=query, whole_words=whole, limit=10_000)
    assert page2.equals(page) and total2 == total


def test_first_page_is_the_first_matches_in_input_order_and_stops_early(run: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import curation.text_index as ti

    monkeypatch.setattr(ti, "FIRST_BATCH", 1)  # one block first, as a big run's first batch is a small part of it
    reader = RunReader(run)
    want = _truth(run, "the", True)
    assert len(want) > 100
    page, total = reader.page(search="the", whole_words=True, limit=20)
    assert list(page["id"]) == want[:20]
    assert total is None  # stopped once the page was full: the rest was never read
    page2, _ = reader.page(search="the", whole_words=True, limit=20, offset=20)
    assert list(page2["id"]) == want[20:40]
    kept_only = reader.page(search="zephyrine", whole_words=True, status="removed")[0]
    assert kept_only.height == 0  # no removal log: nothing is removed


def test_a_rare_word_narrows_to_exactly_the_blocks_holding_it(run: Path) -> None:
    idx = TextIndex.open(run / "search", sorted((run / "docs").glob("*.parquet")))
    blocks = pl.read_parquet(run / "search" / "blocks.parquet").with_row_index("b")
    holding = set()
    for f in sorted((run / "docs").glob("*.parquet")):
        d = pl.read_parquet(f).with_row_index("r")
        for r, t in zip(d["r"], d["text"], strict=True):
            if re.search(r"\bquokka\b", t.lower()):
                holding.add((f.name, r // BLOCK))
    want = sorted(b for b, f, g in blocks.select("b", "file", "rg").iter_rows() if (f, g) in holding)
    got = idx.candidates("quokka", whole_words=True).tolist()
    assert holding and got == want
    assert idx.n_blocks == sum((300 + BLOCK - 1) // BLOCK for _ in range(3))
    # blocks are numbered in input order: the block holding input position 0 comes first
    assert blocks.sort("b")["min_order"].is_sorted() and blocks["min_order"][0] == 0


def test_an_index_of_other_documents_is_not_used(run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    f = copy / "docs" / "00000_000001.parquet"
    d = pl.read_parquet(f)
    d.with_columns(text=pl.when(pl.col("id") == "doc0001").then(pl.lit("A brand new quokka text")).otherwise(
        pl.col("text"))).write_parquet(f)  # the documents changed after the index was built
    reader = RunReader(copy)
    assert reader.text_index is None
    page, total = reader.page(search="brand new quokka", whole_words=True, limit=1000)
    assert "doc0001" in list(page["id"])  # found by reading the docs files


def test_mix_builds_the_index_and_a_remix_rebuilds_it(tmp_path: Path) -> None:
    from curation.mix import mix
    from curation.pipeline import curate
    from curation.recipe import parse_recipe
    from curation.run_folder import clear_owned

    corpus = tmp_path / "c.jsonl"
    texts = _texts(300, seed=5)
    corpus.write_text("".join(json.dumps({"id": f"x{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
                      encoding="utf-8")
    recipe = parse_recipe({"name": "t", "signals": {"length": {}}, "search_index": "always",
                           "rules": [{"name": "short", "signal": "length", "column": "n_words", "min": 8}]})
    out = tmp_path / "run"
    m = curate([corpus], out, recipe)
    assert (out / "search" / "index.json").is_file() and m["search_index"]["n_docs"] == 300
    reader = RunReader(out)
    want = [f"x{i}" for i, t in enumerate(texts) if re.search(r"\bzephyrine\b", t.lower())]
    assert want and list(reader.page(search="Zephyrine", whole_words=True)[0]["id"]) == want
    # a re-mix into a new folder indexes there and leaves the parent's index as it was
    before = (out / "search" / "index.json").read_text()
    m2 = mix(out, recipe.model_copy(update={"rules": []}), out_dir=tmp_path / "all")
    assert m2["kept"] == 300 and (tmp_path / "all" / "search" / "index.json").is_file()
    assert (out / "search" / "index.json").read_text() == before
    assert list(RunReader(tmp_path / "all").page(search="zephyrine", whole_words=True)[0]["id"]) == want
    # a re-mix in place swaps in a fresh index and leaves no old copy behind
    mix(out, recipe)
    assert json.loads((out / "search" / "index.json").read_text())["n_docs"] == 300
    assert not (out / ".search-old").exists() and not list(out.glob(".mix-*"))
    # the index is the run's own output: --overwrite removes it with the rest
    assert "search" in clear_owned(out)


def test_a_small_run_gets_no_index_by_default_and_search_reads_its_documents(tmp_path: Path) -> None:
    from curation.pipeline import curate
    from curation.recipe import parse_recipe
    from curation.text_index import INDEX_FROM_DOCS

    corpus = tmp_path / "c.jsonl"
    texts = _texts(120, seed=9)
    corpus.write_text("".join(json.dumps({"id": f"x{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
                      encoding="utf-8")
    assert len(texts) < INDEX_FROM_DOCS
    for when in ("auto", "never"):
        recipe = parse_recipe({"name": "t", "signals": {"length": {}}, "search_index": when})
        m = curate([corpus], tmp_path / when, recipe)
        assert not (tmp_path / when / "search").exists() and m["search_index"] is None
        want = [f"x{i}" for i, t in enumerate(texts) if re.search(r"\bzephyrine\b", t.lower())]
        got = RunReader(tmp_path / when).page(search="Zephyrine", whole_words=True)[0]["id"]
        assert want and list(got) == want


def _phrase_absent(run: Path, n: int) -> str:
    """A phrase of `n` common words that no document holds in a row (found by Python, not the index)."""
    texts = [t.lower() for t in pl.concat([pl.read_parquet(f) for f in (run / "docs").glob("*.parquet")])["text"]]
    words = [re.findall(r"[0-9a-z]+", t) for t in texts]
    seen = {tuple(w[i:i + n]) for w in words for i in range(len(w) - n + 1)}
    rng = random.Random(1)
    for _ in range(10_000):
        phrase = tuple(rng.choice(COMMON) for _ in range(n))
        if phrase not in seen:
            return " ".join(phrase)
    raise AssertionError(f"every phrase of {n} common words is in the fixture")


def test_a_phrase_of_common_words_reads_only_blocks_holding_it_in_a_row(run: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every word of the phrase is in every block, so the word postings cannot narrow it; the word codes
    must: an absent phrase reads no text, a present one only blocks holding its words in a row."""
    reader = RunReader(run)
    idx = reader.text_index
    assert idx is not None and idx.codes is not None
    scanned: list[int] = []
    real_scan = TextIndex._scan

    def spy(self: TextIndex, blocks, test):  # noqa: ANN001, ANN202
        scanned.extend(blocks.tolist())
        return real_scan(self, blocks, test)

    monkeypatch.setattr(TextIndex, "_scan", spy)
    absent = _phrase_absent(run, 4)
    assert len(idx.candidates(absent, True)) == idx.n_blocks  # each of its words is in every block
    page, total = reader.page(search=absent, whole_words=True, limit=1000)
    assert page.height == 0 and total == 0 and scanned == []
    # a present phrase: the same hits as Python finds, reading only blocks whose documents hold it
    blocks = pl.read_parquet(run / "search" / "blocks.parquet").with_row_index("b")
    for query in ("the of and", "that is a", "a is"):
        scanned.clear()
        want = _truth(run, query, True)
        page, total = reader.page(search=query, whole_words=True, limit=10_000)
        assert list(page["id"]) == want and total == len(want)
        docs = pl.concat([pl.read_parquet(f).with_row_index("r").with_columns(file=pl.lit(f.name))
                          for f in (run / "docs").glob("*.parquet")])
        holding = {(f, r // BLOCK) for f, r, i in docs.select("file", "r", "id").iter_rows() if i in set(want)}
        assert set(scanned) >= {b for b, f, g in blocks.select("b", "file", "rg").iter_rows() if (f, g) in holding}


@pytest.mark.parametrize("table", [1 << 4, 1 << 17])
def test_phrases_are_found_exactly_whatever_word_codes_a_file_gets(tmp_path: Path, table: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With a word table of 16 slots most words get a shared bucket code (as in a file of more distinct words
    than the table takes): phrase search must still find every match and nothing else."""
    import curation.text_index as ti

    monkeypatch.setattr(ti, "WORD_TABLE", table)
    monkeypatch.setattr(ti, "N_CODES", 4)  # few words of their own: the rest share buckets
    root = tmp_path / "run"
    (root / "docs").mkdir(parents=True)
    texts = _texts(700, seed=11)
    pl.DataFrame({"id": [f"d{i}" for i in range(700)], "text": texts, "order": list(range(700))}).write_parquet(
        root / "docs" / "a.parquet")
    (root / "manifest.json").write_text(json.dumps({"input": 700}), encoding="utf-8")
    build_index(root)
    reader = RunReader(root)
    assert reader.text_index is not None and reader.text_index.codes is not None
    for query, whole in [("the of and", True), ("item-42. the", False), ("is zephyrine", True),
                         ("quokka the", True), ("of the a", False), (_phrase_absent(root, 5), True)]:
        want = _truth(root, query, whole)
        page, total = reader.page(search=query, whole_words=whole, limit=10_000)
        assert list(page["id"]) == want and total == len(want), query


def test_a_run_opens_on_its_first_page_without_reading_the_whole_table(run: Path, tmp_path: Path) -> None:
    """The first page (every document, input order) comes from the docs files holding the first documents:
    the same rows as the whole table gives, with and without the index's block list to find them."""
    import shutil

    removed = pl.DataFrame({"id": ["doc0003", "doc0650"], "rule": ["short", "short"], "rules": [["short"]] * 2,
                            "value": [1.0, 2.0], "detail": [None, None], "kept_id": [None, None]})
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    removed.write_parquet(copy / "removed.parquet")
    no_index = tmp_path / "bare"
    shutil.copytree(copy, no_index)
    shutil.rmtree(no_index / "search")
    for folder in (copy, no_index):
        for offset in (0, 250):
            lazy = RunReader(folder)
            page, total = lazy.page(limit=100, offset=offset)
            assert "table" not in lazy.__dict__  # the million-row table was never read
            full = RunReader(folder)
            _ = full.table
            want, want_total = full.page(limit=100, offset=offset)
            assert page.equals(want) and total == want_total == 900
            assert list(page["id"]) == [f"doc{i:04d}" for i in range(offset, offset + 100)]
        first = RunReader(folder).page(limit=10)[0]
        assert first.filter(pl.col("id") == "doc0003")["status"].to_list() == ["removed"]


def test_part_of_a_word_narrows_by_its_trigrams(run: Path) -> None:
    """A substring inside a word ("uokk" of "quokka") has no whole word to look up: its 3-character runs
    narrow the search to the blocks holding a word that contains them, and the hits are exactly Python's."""
    idx = TextIndex.open(run / "search", sorted((run / "docs").glob("*.parquet")))
    assert idx is not None
    blocks = pl.read_parquet(run / "search" / "blocks.parquet").with_row_index("b")
    holding = set()
    for f in sorted((run / "docs").glob("*.parquet")):
        d = pl.read_parquet(f).with_row_index("r")
        holding |= {(f.name, r // BLOCK) for r, t in zip(d["r"], d["text"], strict=True) if "uokk" in t.lower()}
    want_blocks = {b for b, f, g in blocks.select("b", "file", "rg").iter_rows() if (f, g) in holding}
    got = set(idx.candidates("uokk", whole_words=False).tolist())
    assert holding and got == want_blocks and len(got) < idx.n_blocks
    reader = RunReader(run)
    for query in ("uokk", "ephyrin", "phyrine the", "the subzeph", "Caf"):
        page, total = reader.page(search=query, whole_words=False, limit=10_000)
        assert list(page["id"]) == _truth(run, query, False) and total == page.height, query


def test_the_kernel_keys_equal_the_reference_keys() -> None:
    """The numba kernel and the plain-Python reference give the same (word and trigram) keys per block."""
    pytest.importorskip("numba")  # without it block_keys is the reference itself
    from curation.text import utf8_buffers
    from curation.text_index import _block_keys_py, block_keys

    text = pl.Series(_texts(600, seed=4)).str.to_lowercase()
    data, offs = utf8_buffers(text)
    want = _block_keys_py(data, offs, 64)
    got = np.unique(block_keys(text, 64))
    assert got.tolist() == want.tolist()


def test_a_page_of_hits_shows_the_original_text_as_preview(run: Path) -> None:
    """Previews of hits come from the index's copy (no docs file read) yet show the text as written, not
    lowercased: the same preview as a page without search shows."""
    docs = pl.concat([pl.read_parquet(f) for f in (run / "docs").glob("*.parquet")])
    original = dict(zip(docs["id"], docs["text"], strict=True))
    page, _ = RunReader(run).page(search="quokka", whole_words=True, limit=50)
    assert page.height > 0
    for doc_id, preview in zip(page["id"], page["preview"], strict=True):
        assert preview == re.sub(r"\s+", " ", original[doc_id][:160])
        assert preview != preview.lower() or original[doc_id][:160] == original[doc_id][:160].lower()


def _one_file_run(root: Path, texts: list[str]) -> RunReader:
    (root / "docs").mkdir(parents=True)
    pl.DataFrame({"id": [f"d{i}" for i in range(len(texts))], "text": texts, "order": list(range(len(texts)))}
                 ).write_parquet(root / "docs" / "a.parquet")
    (root / "manifest.json").write_text(json.dumps({"input": len(texts)}), encoding="utf-8")
    build_index(root)
    return RunReader(root)


def test_a_phrase_at_the_first_occurrence_of_common_words_is_found(tmp_path: Path) -> None:
    """The first time a file meets a word, that word's code must be the one its later occurrences get (a
    common word's own code): here "zeta omega" occurs only in the first document."""
    texts = ["zeta omega"] + ["omega omega x zeta zeta y"] * 50
    reader = _one_file_run(tmp_path / "run", texts)
    assert reader.text_index is not None and reader.text_index.codes is not None
    page, total = reader.page(search="zeta omega", whole_words=True, limit=100)
    assert list(page["id"]) == _truth(tmp_path / "run", "zeta omega", True) == ["d0"] and total == 1


def test_word_codes_of_many_one_letter_documents() -> None:
    """More words than half the bytes (one letter per document, no separator): the id buffer must hold them."""
    from curation.text_index import word_codes

    codes, per_doc, _ = word_codes(pl.Series(["a"] * 200_000))
    assert codes.size == 200_000 and per_doc.sum() == 200_000


@pytest.mark.slow
def test_a_document_with_one_huge_word_is_indexed(tmp_path: Path) -> None:
    """A long run of word characters (a base64 blob, lowercased) adds ~one trigram a byte within one word: the
    block's key set must start afresh before it fills, not loop for ever."""
    rng = random.Random(5)
    blob = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(400_000))
    reader = _one_file_run(tmp_path / "run", [" ".join(str(i) for i in range(10_000, 41_000)), blob, "plain words"])
    page, total = reader.page(search=blob[1000:1012], whole_words=False, limit=10)
    assert list(page["id"]) == ["d1"] and total == 1


def test_an_index_is_stale_once_a_docs_file_is_rewritten_even_to_the_same_size(tmp_path: Path) -> None:
    import os

    texts = ["alpha beta gamma"] * 10 + ["delta epsilon zeta"] * 10
    reader = _one_file_run(tmp_path / "run", texts)
    assert reader.text_index is not None
    f = tmp_path / "run" / "docs" / "a.parquet"
    size = f.stat().st_size
    pl.DataFrame({"id": [f"d{i}" for i in range(20)], "text": ["gamma beta alpha"] * 10 + ["zeta epsilon delta"] * 10,
                  "order": list(range(20))}).write_parquet(f)
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000_000))
    assert f.stat().st_size == size  # same length, other words: only the time tells
    fresh = RunReader(tmp_path / "run")
    assert fresh.text_index is None
    page, total = fresh.page(search="zeta epsilon", whole_words=True, limit=100)
    assert total == 10  # answered from the documents, not from the stale index


def test_build_index_replaces_the_index_whole_and_clears_a_killed_build(tmp_path: Path) -> None:
    reader = _one_file_run(tmp_path / "run", ["one two three"] * 30)
    stale = tmp_path / "run" / ".search.building"
    (stale / "text").mkdir(parents=True)  # what a build killed half-way leaves
    (stale / "text" / "a.parquet").write_bytes(b"half")
    build_index(tmp_path / "run")
    assert not stale.exists() and (tmp_path / "run" / "search" / "index.json").is_file()
    assert reader.text_index is not None and RunReader(tmp_path / "run").text_index is not None
