"""mix: a duplicate is never removed in favour of a copy that was itself quarantined as a repeated id."""

import json
import random
from pathlib import Path

import polars as pl
import pytest

from curation.pipeline import curate
from curation.recipe import parse_recipe

DEDUP = {
    "batch_size": 4,
    "signals": {"exact_dedup": {}, "minhash": {}},
    "rules": [
        {"name": "exact_duplicate", "signal": "exact_dedup", "column": "duplicate", "drop_if": True,
         "kept_id_column": "kept_id"},
        {"name": "near_duplicate", "signal": "minhash", "column": "duplicate", "drop_if": True,
         "kept_id_column": "kept_id"},
    ],
}


def _texts(n: int) -> list[str]:
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(2000)]
    return [" ".join(rng.choice(vocab) for _ in range(60)) for _ in range(n)]


def _run(tmp_path: Path, records: list[tuple[str, str]], rules: list[str]) -> tuple[dict, pl.DataFrame, Path]:
    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in records))
    recipe = parse_recipe({**DEDUP, "rules": [r for r in DEDUP["rules"] if r["name"] in rules]})
    m = curate([p], tmp_path / "run", recipe)
    kept = pl.read_parquet(tmp_path / "run" / "kept" / "*.parquet")
    return m, kept, tmp_path / "run"


@pytest.mark.parametrize("rules", [["exact_duplicate", "near_duplicate"], ["exact_duplicate"], ["near_duplicate"]])
def test_duplicate_of_a_quarantined_repeat_is_kept(tmp_path: Path, rules: list[str]) -> None:
    t1, t2 = _texts(2)
    # line 2 repeats id "a" (quarantined); "c" and "d" hold its text: the text must survive once, in "c"
    m, kept, run = _run(tmp_path, [("a", t1), ("a", t2), ("c", t2), ("d", t2)], rules)
    assert (m["input"], m["kept"], m["removed"], m["quarantined"]) == (4, 2, 1, 1)
    assert kept["text"].to_list().count(t1) == 1 and kept["text"].to_list().count(t2) == 1
    assert kept["id"].to_list() == ["a", "c"]
    removed = pl.read_parquet(run / "removed.parquet")
    assert removed["id"].to_list() == ["d"] and removed["kept_id"].to_list() == ["c"]


def test_duplicate_of_the_kept_first_copy_stays_removed(tmp_path: Path) -> None:
    t1, t2 = _texts(2)
    # the quarantined repeat of "a" holds a text no one else has: "c" duplicates the kept first "a"
    m, kept, run = _run(tmp_path, [("a", t1), ("a", t2), ("c", t1)], ["exact_duplicate", "near_duplicate"])
    assert (m["kept"], m["removed"], m["quarantined"]) == (1, 1, 1)
    assert kept["text"].to_list() == [t1]
    removed = pl.read_parquet(run / "removed.parquet")
    assert removed["id"].to_list() == ["c"] and removed["kept_id"].to_list() == ["a"]


@pytest.mark.parametrize("rules", [["exact_duplicate", "near_duplicate"], ["exact_duplicate"], ["near_duplicate"]])
def test_two_clusters_named_by_one_repeated_id_lose_no_text(tmp_path: Path, rules: list[str]) -> None:
    """The kept "a" heads t1's cluster and the quarantined "a" heads t2's: "c" (t1) and "d" (t2) both name "a" as
    their kept copy. Which one is whose cannot be read from the id, so neither is removed: every text stays in
    kept (t1 twice), where before "d" was removed in favour of "c" and t2 was in no kept file."""
    t1, t2, t3 = _texts(3)
    m, kept, run = _run(tmp_path, [("a", t1), ("a", t2), ("c", t1), ("d", t2), ("e", t3)], rules)
    assert (m["input"], m["kept"], m["removed"], m["quarantined"]) == (5, 4, 0, 1)
    texts = kept["text"].to_list()
    assert texts.count(t2) == 1 and texts.count(t3) == 1 and texts.count(t1) == 2
    assert sorted(kept["id"].to_list()) == ["a", "c", "d", "e"]


@pytest.mark.parametrize("records", [
    [("a", 0), ("a", 1), ("c", 1), ("d", 1)],  # the kept copy of "c" and "d" was quarantined
    [("a", 0), ("a", 1), ("c", 0)],  # "c" duplicates the kept first "a"
    [("a", 0), ("a", 1), ("c", 0), ("d", 1), ("e", 2)],  # one id names two clusters
])
def test_the_apps_recount_agrees_with_mix(tmp_path: Path, records: list[tuple[str, int]]) -> None:
    """The Corpus page's live recount (Recounter) says what mix writes, repeated ids included."""
    from curation.run_reader import RunReader

    texts = _texts(3)
    m, _, run = _run(tmp_path, [(i, texts[t]) for i, t in records], ["exact_duplicate", "near_duplicate"])
    counts = RunReader(run).recounter().count()
    assert (counts.kept, counts.removed, counts.quarantined) == (m["kept"], m["removed"], m["quarantined"])
    assert counts.by_rule == {k: v for k, v in m["by_rule"].items() if v}


def test_an_old_run_keyed_by_id_keeps_its_dedup_decisions(tmp_path: Path) -> None:
    """Signals of an old run are keyed by id, so a repeated id's copies share the first copy's row: the re-keep
    cannot tell them apart and must leave the rules as decided ("b" duplicates the kept first "a"), in mix and
    in the app's recount alike."""
    from curation.mix import mix
    from curation.run_reader import RunReader

    t1, t2 = _texts(2)
    m, _, run = _run(tmp_path, [("a", t1), ("b", t1), ("a", t2)], ["exact_duplicate", "near_duplicate"])
    assert (m["kept"], m["removed"], m["quarantined"]) == (1, 1, 1)
    for f in (run / "signals").glob("*/*.parquet"):  # as an old run stored them: no input position
        pl.read_parquet(f).drop("order").write_parquet(f)
    recipe = parse_recipe(DEDUP)
    again = mix(run, recipe, out_dir=tmp_path / "m")
    assert (again["kept"], again["removed"], again["quarantined"]) == (1, 1, 1)
    removed = pl.read_parquet(tmp_path / "m" / "removed.parquet")
    assert removed["id"].to_list() == ["b"] and removed["kept_id"].to_list() == ["a"]
    counts = RunReader(run).recounter(recipe).count()
    assert (counts.kept, counts.removed) == (1, 1)


def test_similar_and_against_read_a_mix_out_folder_through_its_parent(tmp_path: Path) -> None:
    """`similar` and `--against` on a `mix --out` folder read the run it was mixed from (they said "no stored
    MinHash signatures"), and `similar` shows the first copy of a repeated id, not the quarantined one."""
    from curation.dedup.similar import most_similar
    from curation.mix import mix

    t1, t2, t3 = _texts(3)
    _, _, run = _run(tmp_path, [("a", t1), ("b", t2), ("a", t3)], ["exact_duplicate", "near_duplicate"])
    mixed = tmp_path / "mixed"
    mix(run, parse_recipe(DEDUP), out_dir=mixed)
    me, _ = most_similar(mixed, "a", top=2, snippet_chars=1000)
    assert me.snippet == t1
    new = tmp_path / "new.jsonl"
    new.write_text(json.dumps({"id": "n1", "text": t2}) + "\n" + json.dumps({"id": "n2", "text": _texts(4)[3]}) + "\n")
    m = curate([new], tmp_path / "run2", parse_recipe(DEDUP), against=[mixed])
    removed = pl.read_parquet(tmp_path / "run2" / "removed.parquet")
    assert m["removed"] == 1 and removed["id"].to_list() == ["n1"]
    assert removed["kept_id"].to_list() == ["mixed:b"]
