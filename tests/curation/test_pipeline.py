"""curate + mix end to end: accounting, removal log, re-mix without re-scoring, resume, executors."""

import json
import os
from pathlib import Path

import polars as pl
import pytest

from curation.errors import WinnowError
from curation.mix import mix
from curation.pipeline import curate
from curation.recipe import parse_recipe
from curation.steps import SignalStep, register_step

CALLS: list[int] = []


@register_step
class _CountingStep(SignalStep):
    """Test-only step: records every batch it scores, fails on demand (a crash half-way)."""

    name = "test_counting"

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        CALLS.append(batch.height)
        fail_at = os.environ.get("WINNOW_TEST_FAIL_AT")
        if fail_at is not None and len(CALLS) == int(fail_at):
            raise RuntimeError("simulated crash")
        return batch.select("id", has_x=pl.col("text").str.contains("x"))


def _corpus(tmp_path: Path, n: int = 50) -> Path:
    p = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": f"d{i}", "text": ("x " if i % 5 == 0 else "") + " ".join(["word"] * (i % 12 + 1))})
             for i in range(n)]
    lines.insert(10, "{broken")
    p.write_text("\n".join(lines) + "\n")
    return p


RECIPE = {
    "batch_size": 8,
    "signals": {"length": {}, "test_counting": {}},
    "rules": [
        {"name": "too_short", "signal": "length", "column": "n_words", "min": 4},
        {"name": "has_x", "signal": "test_counting", "column": "has_x", "drop_if": True},
    ],
}


def test_curate_accounts_for_every_document(tmp_path: Path) -> None:
    m = curate([_corpus(tmp_path)], tmp_path / "run", parse_recipe(RECIPE))
    assert m["input"] == 51 and m["quarantined"] == 1
    assert m["input"] == m["kept"] + m["removed"] + m["quarantined"]
    removed = pl.read_parquet(tmp_path / "run" / "removed.parquet")
    assert removed.schema == {"id": pl.Utf8, "rule": pl.Utf8, "rules": pl.List(pl.Utf8), "value": pl.Float64,
                              "detail": pl.Utf8, "kept_id": pl.Utf8}
    row = removed.filter(pl.col("id") == "d0").row(0, named=True)  # 2 words and an x: both rules fail
    assert row["rule"] == "too_short" and row["rules"] == ["too_short", "has_x"] and row["value"] == 2.0
    assert removed.filter(pl.col("id") == "d10")["rule"].to_list() == ["has_x"]
    kept = pl.read_parquet(tmp_path / "run" / "kept" / "*.parquet")
    assert kept.height == m["kept"]
    assert not set(kept["id"]) & set(removed["id"])
    assert m["by_rule"] == dict(removed.group_by("rule").len().iter_rows())
    q = [json.loads(x) for x in (tmp_path / "run" / "quarantine.jsonl").read_text().splitlines()]
    assert q == [{"file": "in.jsonl", "line": 11, "reason": q[0]["reason"]}]
    assert m["words"]["kept"] == int(kept["text"].str.count_matches(r"\S+").sum())
    assert (tmp_path / "run" / "recipe.yaml").exists() and m["versions"]["polars"]


def test_mix_rethresholds_without_rescoring(tmp_path: Path) -> None:
    run = tmp_path / "run"
    curate([_corpus(tmp_path)], run, parse_recipe(RECIPE))
    n_calls = len(CALLS)
    stamps = {p: p.stat().st_mtime_ns for p in (run / "signals").rglob("*.parquet")}
    looser = parse_recipe({**RECIPE, "rules": [RECIPE["rules"][0] | {"min": 2}]})
    m = mix(run, looser)
    assert len(CALLS) == n_calls
    assert stamps == {p: p.stat().st_mtime_ns for p in (run / "signals").rglob("*.parquet")}
    assert set(m["by_rule"]) == {"too_short"}
    assert m["input"] == m["kept"] + m["removed"] + m["quarantined"]


def test_resume_after_crash_equals_uninterrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path)
    full = curate([corpus], tmp_path / "full", parse_recipe(RECIPE))
    CALLS.clear()
    monkeypatch.setenv("WINNOW_TEST_FAIL_AT", "4")
    with pytest.raises(Exception, match="simulated crash"):
        curate([corpus], tmp_path / "resumed", parse_recipe(RECIPE))
    assert len(CALLS) == 4
    monkeypatch.delenv("WINNOW_TEST_FAIL_AT")
    CALLS.clear()
    resumed = curate([corpus], tmp_path / "resumed", parse_recipe(RECIPE))
    assert len(CALLS) == 7 - 3  # 7 batches in all; the 3 finished before the crash are not redone
    for key in ("input", "kept", "removed", "quarantined", "by_rule"):
        assert resumed[key] == full[key]
    a = pl.read_parquet(tmp_path / "full" / "removed.parquet").sort("id")
    b = pl.read_parquet(tmp_path / "resumed" / "removed.parquet").sort("id")
    assert a.equals(b)


def test_other_run_in_same_folder_is_refused(tmp_path: Path) -> None:
    curate([_corpus(tmp_path)], tmp_path / "run", parse_recipe(RECIPE))
    with pytest.raises(WinnowError, match="different run"):
        curate([_corpus(tmp_path)], tmp_path / "run", parse_recipe({**RECIPE, "batch_size": 3}))


def test_duplicate_ids_are_quarantined(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text("".join(json.dumps({"id": "same", "text": f"text number {i} here"}) + "\n" for i in range(3)))
    m = curate([p], tmp_path / "run", parse_recipe({"signals": {"length": {}}, "rules": []}))
    assert (m["kept"], m["quarantined"]) == (1, 2)
    assert "duplicate id" in (tmp_path / "run" / "quarantine.jsonl").read_text()


def test_two_workers_and_datasets_readback(tmp_path: Path) -> None:
    from datasets import load_dataset

    # worker processes only know the built-in steps, not this module's test step
    recipe = parse_recipe({"batch_size": 8, "signals": {"length": {}}, "rules": [RECIPE["rules"][0]]})
    one = curate([_corpus(tmp_path)], tmp_path / "one", recipe)
    two = curate([_corpus(tmp_path)], tmp_path / "two", recipe, workers=2, tasks=2)
    assert (one["kept"], one["removed"], one["by_rule"]) == (two["kept"], two["removed"], two["by_rule"])
    ds = load_dataset("parquet", data_files=str(tmp_path / "two" / "kept" / "*.parquet"), split="train",
                      cache_dir=str(tmp_path / "hf"))
    assert len(ds) == two["kept"] and set(ds.column_names) >= {"id", "text"}


@pytest.mark.slow
def test_ray_executor_matches_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same decisions on Ray; the search index is built by a Ray task, not in this (the driver's) process, and
    equals the one the local mix builds in its own pass."""
    pytest.importorskip("ray")
    pytest.importorskip("numba")
    import numpy as np
    import ray

    import curation.text_index as text_index
    from curation.run_reader import RunReader

    recipe = parse_recipe({"batch_size": 8, "signals": {"length": {}},
                           "rules": [RECIPE["rules"][0]], "search_index": "always"})
    local = curate([_corpus(tmp_path)], tmp_path / "local", recipe, workers=2, tasks=2)

    class _NotInTheDriver(text_index.IndexBuilder):
        def __init__(self, *a: object, **k: object) -> None:
            raise AssertionError("the search index was built in the driver")

    monkeypatch.setattr(text_index, "IndexBuilder", _NotInTheDriver)
    try:
        on_ray = curate([_corpus(tmp_path)], tmp_path / "ray", recipe, executor="ray", workers=2, tasks=2)
    finally:
        ray.shutdown()
    assert (local["kept"], local["removed"], local["by_rule"]) == (on_ray["kept"], on_ray["removed"],
                                                                   on_ray["by_rule"])
    assert on_ray["search_index"]["n_docs"] == local["kept"] + local["removed"] == 50
    for name in ("keys.npy", "starts.npy", "postings.npy", "codes.npy"):
        assert np.array_equal(np.load(tmp_path / "local" / "search" / name),
                              np.load(tmp_path / "ray" / "search" / name)), name
    assert not list((tmp_path / "ray").glob(".mix-*")) and not list((tmp_path / "ray").glob(".search*"))
    # the app's reader uses the Ray-built index: a phrase's hits are the documents holding it
    reader = RunReader(tmp_path / "ray")
    assert reader.text_index is not None
    page, total = reader.page(search="x word", whole_words=True, limit=100)
    want = [f"d{i}" for i in range(50) if i % 5 == 0]  # _corpus: every fifth text starts "x word"
    assert list(page["id"]) == want and total == len(want)


def test_token_counts_with_a_local_tokenizer(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["word x some text"] * 20, trainers.BpeTrainer(vocab_size=60, special_tokens=["[UNK]"]))
    tok.save(str(tmp_path / "tokenizer.json"))
    recipe = parse_recipe({"batch_size": 8, "signals": {"length": {}}, "rules": [RECIPE["rules"][0]],
                           "tokenizer": str(tmp_path / "tokenizer.json")})
    m = curate([_corpus(tmp_path)], tmp_path / "run", recipe)
    kept = pl.read_parquet(tmp_path / "run" / "kept" / "*.parquet")
    expect = sum(len(e.ids) for e in tok.encode_batch(kept["text"].to_list(), add_special_tokens=False))
    assert m["tokens"]["kept"] == expect > 0 and m["tokens"]["removed"] > 0
    # with a transform (PII scrubbed), the kept tokens are those of the text as written, what a model trains on
    corpus = tmp_path / "pii.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"p{i}", "text": f"word x some text mail jane.doe{i}@example.com "
                                                                  "or call 212-555-0199 today"}) + "\n"
                              for i in range(6)), encoding="utf-8")
    scrub = parse_recipe({"batch_size": 8, "signals": {"pii": {"ner": "off"}}, "rules": [],
                          "tokenizer": str(tmp_path / "tokenizer.json"), "transforms": {"pii_scrub": {}}})
    m = curate([corpus], tmp_path / "scrubbed", scrub)
    kept = pl.read_parquet(tmp_path / "scrubbed" / "kept" / "*.parquet")
    assert not kept["text"].str.contains("jane.doe").any()  # scrubbed
    raw = sum(len(e.ids) for e in tok.encode_batch([json.loads(x)["text"] for x in corpus.read_text().splitlines()],
                                                    add_special_tokens=False))
    expect = sum(len(e.ids) for e in tok.encode_batch(kept["text"].to_list(), add_special_tokens=False))
    assert m["tokens"]["kept"] == expect != raw


def test_finalize_again_replaces_every_earlier_output(tmp_path: Path) -> None:
    """A corpus-wide step finalized again (its marker gone: e.g. the folder was last finalized by Ray's stages,
    whose outputs have other names) replaces every earlier output file, so mix never reads a document twice."""
    recipe = parse_recipe({"batch_size": 8, "signals": {"exact_dedup": {}}, "rules": [
        {"name": "exact_duplicate", "signal": "exact_dedup", "column": "duplicate", "drop_if": True,
         "kept_id_column": "kept_id"}]})
    first = curate([_corpus(tmp_path)], tmp_path / "run", recipe)
    out = tmp_path / "run" / "signals" / "exact_dedup"
    (out / "part-000000.parquet").write_bytes((out / "part-00000.parquet").read_bytes())  # a stage's name
    (tmp_path / "run" / "state" / "stages" / "finalize_exact_dedup").unlink()
    again = curate([_corpus(tmp_path)], tmp_path / "run", recipe)
    assert [p.name for p in out.glob("*.parquet")] == ["part-00000.parquet"]
    assert (again["input"], again["kept"], again["removed"]) == (first["input"], first["kept"], first["removed"])


def test_punctuation_in_a_setting_is_not_taken_for_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop characters such as "." are punctuation, not the working folder: a file written there between a run
    and its resume must not change the run key (it hashed the whole folder); a word list named by path still
    keys by content."""
    from curation.pipeline import _by_content

    monkeypatch.chdir(tmp_path)
    words = tmp_path / "words.txt"
    words.write_text("alpha\n")
    setting = {"stop_chars": [".", "!", "?", "..."], "root": "/", "wordlist": str(words)}
    before = _by_content(setting)
    (tmp_path / "editor.swp").write_text("x")
    assert _by_content(setting) == before
    assert before["stop_chars"] == [".", "!", "?", "..."] and before["root"] == "/"
    words.write_text("alpha\nbeta\n")
    assert _by_content(setting)["wordlist"] != before["wordlist"]
