"""Exact duplicates on normalised text: case, spacing, punctuation and NFKC variants; keep rules."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import xxhash

from curation.errors import WinnowError
from curation.steps import get_step
from curation.steps.exact_dedup import ExactDedupConfig, ExactDedupStep, normalised_text_expr, text_keys
from curation.text import dedup_words

TEXTS = {
    "a": "The quick brown fox jumps over the lazy dog.",
    "b": "the   QUICK brown fox\n\tjumps over the lazy dog",        # case and whitespace
    "c": "The quick brown fox -- jumps over the lazy dog!!!  ",   # punctuation
    "d": "The quick brown fox jumps over the lazy cat.",          # a different word
    "e": "ﬁne Ｗｉｄｅ text",                                      # NFKC: ligature, full-width letters
    "f": "fine wide TEXT",
    "g": "",
    "h": "   ...   ",
    "i": "The quick brown fox jumps over the lazy dog. And a longer tail.",
}


def _frame(ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"id": ids, "text": [TEXTS[i] for i in ids], "order": list(range(len(ids)))},
                        schema={"id": pl.Utf8, "text": pl.Utf8, "order": pl.Int64})


def _run(df: pl.DataFrame, tmp: Path, keep: str = "first", batch: int = 3) -> pl.DataFrame:
    step = ExactDedupStep(ExactDedupConfig(keep=keep))
    parts_dir = tmp / "parts"
    parts_dir.mkdir(parents=True)
    parts = []
    for k, s in enumerate(range(0, len(df), batch)):
        p = parts_dir / f"0_{k}.parquet"
        step.score(df.slice(s, batch)).write_parquet(p)
        parts.append(p)
    step.finalize(parts, tmp / "out")
    return pl.read_parquet(tmp / "out" / "*.parquet")


def test_normalisation_matches_dedup_words() -> None:
    df = _frame(list(TEXTS))
    norm = df.select(normalised_text_expr()).to_series().to_list()
    assert norm == [" ".join(dedup_words(t)) for t in df["text"]]


def test_keys_hash_the_dedup_words(kernel_path: str) -> None:
    use_numba = kernel_path != "reference"
    texts = pl.Series(list(TEXTS.values()) + [None], dtype=pl.Utf8)
    keys = text_keys(texts, use_numba=use_numba).to_list()
    want = [xxhash.xxh3_128_digest(" ".join(dedup_words(t or "")).encode("utf-8")) for t in texts]
    assert keys == want


def test_case_whitespace_punctuation_variants(tmp_path: Path) -> None:
    df = _frame(list(TEXTS))
    out = _run(df, tmp_path)
    assert out["id"].to_list() == df["id"].to_list()
    r = {row["id"]: row for row in out.iter_rows(named=True)}
    assert [r[i]["kept_id"] for i in "abc"] == [None, "a", "a"]
    assert [r[i]["duplicate"] for i in "abcd"] == [False, True, True, False]
    assert r["a"]["group_size"] == 3 and r["d"]["group_size"] == 1
    assert r["f"]["kept_id"] == "e"          # NFKC-equal
    assert r["h"]["kept_id"] == "g"          # both normalise to nothing
    assert r["i"]["duplicate"] is False


def test_keep_longest_prefers_raw_length(tmp_path: Path) -> None:
    out = _run(_frame(["b", "a", "c"]), tmp_path, keep="longest")
    r = {row["id"]: row for row in out.iter_rows(named=True)}
    # c has the most characters (trailing punctuation), so it is the copy kept
    assert r["c"]["kept_id"] is None and r["a"]["kept_id"] == "c" and r["b"]["kept_id"] == "c"


def test_bad_part_is_a_winnow_error(tmp_path: Path) -> None:
    bad = tmp_path / "0_0.parquet"
    bad.write_text("not parquet")
    with pytest.raises(WinnowError, match="0_0.parquet"):
        ExactDedupStep().finalize([bad], tmp_path / "out")


def test_registered() -> None:
    assert get_step("exact_dedup") is ExactDedupStep


def test_copies_of_an_earlier_run_are_exact_duplicates_named_with_that_run(tmp_path: Path) -> None:
    """--against: a document whose text an earlier run already holds is an exact duplicate of that copy."""
    old = _frame(["a", "d"])
    _run(old, tmp_path / "old" / "signals" / "exact_dedup.parts_src")  # writes parts + out below it
    parts_dir = tmp_path / "old" / "signals" / "exact_dedup.parts"
    parts_dir.mkdir(parents=True)
    for p in (tmp_path / "old" / "signals" / "exact_dedup.parts_src" / "parts").glob("*.parquet"):
        p.rename(parts_dir / p.name)
    new = pl.DataFrame({"id": ["a", "x", "y"], "text": [TEXTS["b"], TEXTS["i"], TEXTS["i"]], "order": [0, 1, 2]},
                       schema={"id": pl.Utf8, "text": pl.Utf8, "order": pl.Int64})
    step = ExactDedupStep(ExactDedupConfig(), context={"against": [str(tmp_path / "old")]})
    p = tmp_path / "new_parts" / "0_0.parquet"
    p.parent.mkdir()
    step.score(new).write_parquet(p)
    step.finalize([p], tmp_path / "new_out")
    rows = {r["id"]: r for r in pl.read_parquet(tmp_path / "new_out" / "*.parquet").iter_rows(named=True)}
    # "a" here has the same id as the old "a" and a variant of its text: the kept copy is old:a, not itself
    assert (rows["a"]["duplicate"], rows["a"]["kept_id"], rows["a"]["kept_run"]) == (True, "old:a", "old")
    assert rows["a"]["group_size"] == 2
    assert (rows["x"]["duplicate"], rows["x"]["kept_id"], rows["x"]["kept_run"]) == (False, None, None)
    assert (rows["y"]["duplicate"], rows["y"]["kept_id"], rows["y"]["kept_run"]) == (True, "x", None)
    with pytest.raises(WinnowError, match="no stored exact_dedup keys"):
        ExactDedupStep(ExactDedupConfig(), context={"against": [str(tmp_path / "nope")]}).finalize(
            [p], tmp_path / "out2")


@pytest.mark.slow
def test_against_through_curate_reports_exact_duplicates_with_the_run(tmp_path: Path) -> None:
    """Two real runs: an exact copy of a document of the first run is `exact_duplicate` in the second, and its
    kept_id names the first run, even though both runs number their documents the same way."""
    import json

    from curation.pipeline import curate
    from curation.recipe import Recipe
    from curation.recipes import load_fragment

    words = [f"w{i}" for i in range(400)]
    base = [" ".join(words[i * 40:(i + 1) * 40] * 2) for i in range(6)]
    first = tmp_path / "first.jsonl"
    first.write_text("".join(json.dumps({"text": t}) + "\n" for t in base[:3]), encoding="utf-8")
    second = tmp_path / "second.jsonl"
    near = base[0].replace("w5 ", "x5 ", 1)
    second.write_text("".join(json.dumps({"text": t}) + "\n" for t in [base[1].upper(), near, base[4]]),
                      encoding="utf-8")
    recipe = Recipe(**{**load_fragment("dedup"), "name": "d"})
    curate([first], tmp_path / "run1", recipe, workspace=tmp_path / "ws")
    curate([second], tmp_path / "run2", recipe, against=[tmp_path / "run1"], workspace=tmp_path / "ws")
    removed = pl.read_parquet(tmp_path / "run2" / "removed.parquet").sort("rule")
    kept1 = pl.read_parquet(tmp_path / "run1" / "kept" / "*.parquet")
    id_of = dict(zip(kept1["text"], kept1["id"], strict=True))
    assert removed["rule"].to_list() == ["exact_duplicate", "near_duplicate"]
    assert removed["kept_id"].to_list() == [f"run1:{id_of[base[1]]}", f"run1:{id_of[base[0]]}"]
