"""Decontamination: benchmark item extraction, n-gram matching, the corpus step, reports, the recipe hook."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from curation.decontam.benchmarks import load_items
from curation.decontam.ngrams import BenchmarkIndex, ngram_keys, word_hashes
from curation.errors import WinnowError
from curation.recipe import Recipe
from curation.steps import get_step
from curation.steps.decontamination import add_decontamination

ARC_Q = "Which process in the water cycle turns liquid water from the ocean surface into water vapor in the air?"
HS_CTX = "A man is standing on a tall ladder next to the house. He carefully removes the old gutter and"
MMLU_Q = "Find the number of elements in the symmetric group on five letters when counted without repetition."
TQA_Q = "What happens to you if you eat watermelon seeds?"


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def bench(tmp_path: Path) -> Path:
    root = tmp_path / "benchmarks"
    _write(root / "arc_easy" / "test.jsonl", [
        {"id": "Q1", "question": ARC_Q, "choices": {"text": ["evaporation", "condensation"], "label": ["A", "B"]},
         "answerKey": "A"},
        {"id": "Q2", "question": "Which is a mammal?", "choices": {"text": ["cat", "fish"], "label": ["A", "B"]},
         "answerKey": "A"}])
    _write(root / "arc_easy" / "train.jsonl", [  # not a default split: never checked
        {"id": "T1", "question": "Plants make food in the leaves through a process using the light of the sun",
         "choices": {"text": ["photosynthesis"], "label": ["A"]}, "answerKey": "A"}])
    _write(root / "hellaswag" / "validation.jsonl", [
        {"ind": 7, "ctx": HS_CTX, "endings": ["eats a sandwich.", "puts a brand new gutter in its place."],
         "label": "1"}])
    _write(root / "mmlu" / "test.jsonl", [
        {"question": MMLU_Q, "subject": "abstract_algebra", "choices": ["60", "120", "24", "5"], "answer": 1}])
    _write(root / "truthfulqa_gen" / "validation.jsonl", [
        {"question": TQA_Q, "best_answer": "The watermelon seeds pass through your digestive system"}])
    _write(root / "truthfulqa_mc" / "validation.jsonl", [
        {"question": TQA_Q, "mc1_targets": {"choices": ["You grow watermelons", "Nothing happens"],
                                            "labels": [0, 1]}}])
    return root


FILLER = ("the weather report for the coming week says there will be rain on tuesday and sunshine on the "
          "weekend so plan your garden work accordingly ")


def test_items_take_question_options_and_correct_answer(bench: Path) -> None:
    items = {it.key: it for it in load_items(bench)}
    assert items["arc_easy/test/Q1"].text == f"{ARC_Q} evaporation"
    assert items["arc_easy/test/Q1"].options == ("evaporation", "condensation")
    assert items["arc_easy/test/Q1"].ref == "arc_easy/test/Q1"  # split-aware: MMLU ids repeat across splits
    assert items["hellaswag/validation/7"].text == f"{HS_CTX} puts a brand new gutter in its place."
    assert items["mmlu/test/abstract_algebra-0"].text == f"{MMLU_Q} 120"
    assert items["mmlu/test/abstract_algebra-0"].options == ("60", "120", "24", "5")
    assert items["truthfulqa_mc/validation/0"].text == f"{TQA_Q} Nothing happens"
    assert items["truthfulqa_gen/validation/0"].text.endswith("digestive system")
    assert items["truthfulqa_gen/validation/0"].options == ()
    assert not any(k.startswith("arc_easy/train") for k in items)
    assert any(k.startswith("arc_easy/train") for k in (it.key for it in load_items(bench, splits=["train"])))


def test_bad_benchmark_files_are_clear_errors(tmp_path: Path, bench: Path) -> None:
    with pytest.raises(WinnowError, match="benchmark folder not found"):
        load_items(tmp_path / "nope")
    with pytest.raises(WinnowError, match="no benchmark folder gsm8k"):
        load_items(bench, benchmarks=["gsm8k"])
    (bench / "mmlu" / "test.jsonl").write_text('{"question": "x"\n', encoding="utf-8")
    with pytest.raises(WinnowError, match=r"mmlu/test.jsonl:1: not valid JSON"):
        load_items(bench)
    (bench / "mmlu" / "test.jsonl").write_text('{"subject": "x"}\n', encoding="utf-8")
    with pytest.raises(WinnowError, match=r"test.jsonl:1: not a mmlu item"):
        load_items(bench)


def test_ngram_keys_do_not_cross_documents() -> None:
    tok, doc, counts = word_hashes(pl.Series(["a b c", "d e", None, "f g h i"]))
    assert counts.tolist() == [3, 2, 0, 4]
    keys = ngram_keys(tok, doc, {2, 3})
    assert keys[2][1].tolist() == [0, 0, 1, 3, 3, 3]
    assert keys[3][1].tolist() == [0, 3, 3]
    # the same words give the same key wherever they are
    tok2, doc2, _ = word_hashes(pl.Series(["x y", "B, C!"]))
    assert ngram_keys(tok2, doc2, {2})[2][0][1] == keys[2][0][1]


def test_index_matches_whole_and_partial_questions(bench: Path) -> None:
    items = load_items(bench)
    idx = BenchmarkIndex.build(items, n=13, min_item_words=8)
    keys = [it.key for it in items]
    tqa = keys.index("truthfulqa_mc/validation/0")
    assert idx.item_ngrams[tqa] == 1  # a 9-word question < 13: the whole question is one n-gram
    arc_ngrams = int(idx.item_ngrams[keys.index("arc_easy/test/Q1")])
    assert arc_ngrams == len(ARC_Q.split()) - 13 + 1
    half = " ".join(ARC_Q.split()[:14])  # the first 14 words of the 20-word question: 2 of its 13-grams
    texts = pl.Series([FILLER + ARC_Q.upper() + " -- EVAPORATION. " + FILLER,  # case and punctuation ignored
                       FILLER + half + " " + FILLER,
                       FILLER + TQA_Q + " " + FILLER,
                       FILLER * 3,
                       "what happens to you if you eat watermelon nothing"])  # the last word differs
    m = idx.match(texts)
    got = {(r["doc"], keys[r["item"]]): (round(r["overlap"], 4), r["layout"]) for r in m.iter_rows(named=True)}
    assert got == {(0, "arc_easy/test/Q1"): (1.0, "question+answer"),
                   (1, "arc_easy/test/Q1"): (round(2 / arc_ngrams, 4), "question"),
                   (2, "truthfulqa_gen/validation/0"): (1.0, "question"),
                   (2, "truthfulqa_mc/validation/0"): (1.0, "question")}


QUIZ_LAYOUTS = {
    "A) {0}\nB) {1}": ("cat", "fish"),
    "(a) {1}   (b) {0}": ("cat", "fish"),
    "1. {1}\n2. {0}\nShow answer": ("cat", "fish"),
}


def test_short_question_counts_only_with_its_options_or_answer(bench: Path) -> None:
    """"Which is a mammal?" (4 words) is everywhere; with its options, in any order and lettering, or with
    its answer, it is the benchmark item."""
    items = load_items(bench)
    keys = [it.key for it in items]
    idx = BenchmarkIndex.build(items, n=13, min_item_words=8)
    q2 = keys.index("arc_easy/test/Q2")
    texts = [FILLER + "Quiz time! Which is a mammal?\n" + lay.format("cat", "fish") + "\n" + FILLER
             for lay in QUIZ_LAYOUTS]
    texts += [FILLER + "Which is a mammal? Answer: cat. " + FILLER,
              FILLER + "Which is a mammal? Nobody knows, said the teacher. " + FILLER,  # question alone
              FILLER + "Which is a mammal? " + FILLER + "cat fish"]  # options far away: not a quiz of it
    m = idx.match(pl.Series(texts))
    found = {r["doc"]: r["layout"] for r in m.iter_rows(named=True) if r["item"] == q2}
    assert found == {0: "question+options", 1: "question+options", 2: "question+options", 3: "question+answer"}


def test_long_question_with_shuffled_options_reports_the_layout(bench: Path) -> None:
    cls = get_step("decontamination")
    step = cls(cls.Config(benchmarks_dir=str(bench)))
    page = f"Question 4: {MMLU_Q}\n(A) 24\n(B) 5\n(C) 120\n(D) 60\nReveal the answer below."
    out = step.score(_batch([FILLER + page + FILLER, FILLER + MMLU_Q + " " + FILLER, FILLER]))
    assert out["contaminated"].to_list() == [True, True, False]
    assert out["layout"].to_list() == ["question+options", "question", None]
    assert out["decontam_items"].to_list() == [["mmlu/test/abstract_algebra-0"], ["mmlu/test/abstract_algebra-0"],
                                               []]


def _batch(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"id": [f"doc{i}" for i in range(len(texts))], "text": texts, "order": list(range(len(texts)))})


def test_step_scores_finalizes_and_reports(bench: Path, tmp_path: Path) -> None:
    cls = get_step("decontamination")
    run_dir = tmp_path / "run"
    step = cls(cls.Config(benchmarks_dir=str(bench)), context={"run_dir": str(run_dir)})
    assert step.skip_reason() is None
    b1 = _batch([FILLER + HS_CTX + " puts a brand new gutter in its place. " + FILLER, FILLER])
    b2 = _batch([MMLU_Q + " 120. That is the answer.", FILLER + MMLU_Q])
    b2 = b2.with_columns(pl.Series("id", ["doc2", "doc3"]))
    parts = []
    for i, b in enumerate((b1, b2)):
        out = step.score(b)
        assert out.get_column("id").equals(b.get_column("id"))
        p = run_dir / "signals" / "decontamination.parts" / f"0_{i}.parquet"
        p.parent.mkdir(parents=True, exist_ok=True)
        out.write_parquet(p)
        parts.append(p)
    step.finalize(parts, run_dir / "signals" / "decontamination")
    sig = pl.read_parquet(run_dir / "signals" / "decontamination" / "*.parquet").sort("id")
    assert sig.get_column("contaminated").to_list() == [True, False, True, True]
    assert sig.get_column("match").to_list() == ["hellaswag/validation/7", None, "mmlu/test/abstract_algebra-0",
                                                 "mmlu/test/abstract_algebra-0"]
    assert sig.get_column("benchmark").to_list() == ["hellaswag", None, "mmlu", "mmlu"]
    ov = sig.get_column("overlap").to_list()
    assert ov == [1.0, 0.0, 1.0, 1.0]  # the whole question, in each contaminated document
    assert sig.get_column("layout").to_list() == ["question+answer", None, "question+answer", "question"]
    assert sig.get_column("decontam_items").to_list() == [["hellaswag/validation/7"], [],
                                                          ["mmlu/test/abstract_algebra-0"],
                                                          ["mmlu/test/abstract_algebra-0"]]
    reports = {p.stem: json.loads(p.read_text()) for p in (run_dir / "contamination").glob("*.json")}
    assert set(reports) == {"arc_easy", "hellaswag", "mmlu", "truthfulqa_gen", "truthfulqa_mc"}
    assert reports["mmlu"]["items_matched"] == 1 and reports["mmlu"]["docs_matched"] == 2
    assert reports["mmlu"]["examples"][0]["overlap"] == 1.0
    assert reports["mmlu"]["docs_by_layout"] == {"question+options": 0, "question+answer": 1, "question": 1}
    assert reports["hellaswag"]["splits"]["validation"] == {"items": 1, "items_checked": 1, "items_matched": 1,
                                                            "docs_matched": 1}
    assert reports["arc_easy"]["items_matched"] == 0 and reports["arc_easy"]["items"] == 2
    assert reports["arc_easy"]["items_checked"] == 2  # "Which is a mammal?" is checked, with its options
    assert set(step.describe()["files"]) == {"arc_easy/test", "hellaswag/validation", "mmlu/test",
                                             "truthfulqa_gen/validation", "truthfulqa_mc/validation"}


def test_configurable_ngram_and_selection(bench: Path) -> None:
    cls = get_step("decontamination")
    step = cls(cls.Config(benchmarks_dir=str(bench), ngram=5, benchmarks=["mmlu"], min_item_words=3))
    out = step.score(_batch(["we counted the elements in the symmetric group on five letters today", FILLER]))
    assert out.get_column("contaminated").to_list() == [True, False]  # shares a 5-gram with the MMLU item
    assert out.get_column("benchmark").to_list() == ["mmlu", None]


def test_skip_reason_without_benchmarks(tmp_path: Path) -> None:
    cls = get_step("decontamination")
    reason = cls(cls.Config(), context={"benchmarks_dir": str(tmp_path / "empty")}).skip_reason()
    assert reason and "benchmark folder not found" in reason


def test_add_decontamination_adds_signal_and_rule(bench: Path) -> None:
    base = Recipe(name="r", signals={}, rules=[])
    rec = add_decontamination(base, bench, ngram=8)
    assert rec.signals["decontamination"] == {"benchmarks_dir": str(bench.absolute()), "ngram": 8}
    rule = rec.rules[-1]
    assert (rule.name, rule.column, rule.drop_if, rule.value_column, rule.detail_column) == (
        "decontamination", "contaminated", True, "overlap", "match")
    again = add_decontamination(rec, bench)
    assert [r.name for r in again.rules].count("decontamination") == 1
    with pytest.raises(WinnowError, match="benchmark folder not found"):
        add_decontamination(base, bench / "missing")


def test_curate_with_decontamination_drops_and_reports(bench: Path, tmp_path: Path) -> None:
    """Through the real pipeline: the signal, the `decontamination` rule, the removal log and the reports."""
    from curation.pipeline import curate

    corpus = tmp_path / "corpus.jsonl"
    docs = [{"id": "clean", "text": FILLER * 2},
            {"id": "leak", "text": FILLER + ARC_Q + " evaporation. " + FILLER}]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    rec = add_decontamination(Recipe(name="t", signals={}, rules=[]), bench)
    run = tmp_path / "run"
    m = curate([corpus], run, rec, workspace=tmp_path / "ws")
    assert m["kept"] == 1 and m["removed"] == 1
    removed = pl.read_parquet(run / "removed.parquet")
    assert removed.get_column("id").to_list() == ["leak"]
    assert removed.get_column("rule").to_list() == ["decontamination"]
    assert removed.get_column("detail").to_list() == ["arc_easy/test/Q1"]
    report = json.loads((run / "contamination" / "arc_easy.json").read_text())
    assert report["docs_matched"] == 1 and report["examples"][0]["id"] == "leak"


def test_options_that_repeat_the_question_still_read_as_options() -> None:
    from curation.decontam.benchmarks import Item

    q = "What is the smallest country in the world that is at least one square mile in area?"
    opts = ("The smallest country in the world that is at least one square mile in area is Monaco.",
            "Nauru is the smallest country in the world that is at least one square mile in area.")
    idx = BenchmarkIndex.build([Item("truthfulqa_mc", "validation", "0", q, opts[1], opts)], n=13)
    page = f"{FILLER}{q}\nA. {opts[1]}\nB. {opts[0]}\n{FILLER}"
    m = idx.match(pl.Series([page]))
    assert m["layout"].to_list() == ["question+options"]


@pytest.mark.slow
def test_curate_on_ray_with_decontamination_equals_local(bench: Path, tmp_path: Path) -> None:
    """On Ray (local paths) the decontamination signal, which has no hash-partitioned stages, is finalized in one
    task: the same removals and reports as the local executor (it used to fail after all the scoring)."""
    pytest.importorskip("ray")
    import ray

    from curation.pipeline import curate

    corpus = tmp_path / "corpus.jsonl"
    docs = [{"id": "clean", "text": FILLER * 2}, {"id": "leak", "text": FILLER + ARC_Q + " evaporation. " + FILLER},
            {"id": "copy", "text": FILLER * 2}]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    rec = add_decontamination(Recipe.model_validate({"name": "t", "signals": {"exact_dedup": {}}, "rules": [
        {"name": "exact_duplicate", "signal": "exact_dedup", "column": "duplicate", "drop_if": True}]}), bench)
    local = curate([corpus], tmp_path / "local", rec, workspace=tmp_path / "ws")
    try:
        on_ray = curate([corpus], tmp_path / "ray", rec, workspace=tmp_path / "ws", executor="ray", workers=1)
    finally:
        ray.shutdown()
    assert (on_ray["kept"], on_ray["removed"], on_ray["by_rule"]) == (local["kept"], local["removed"],
                                                                      local["by_rule"]) == (
        1, 2, {"decontamination": 1, "exact_duplicate": 1})
    for run in ("local", "ray"):
        report = json.loads((tmp_path / run / "contamination" / "arc_easy.json").read_text())
        assert report["docs_matched"] == 1 and report["examples"][0]["id"] == "leak", run


def test_one_task_finalize_is_redone_when_a_batch_is_scored_again(bench: Path, tmp_path: Path) -> None:
    """The decontamination signal has no stage plan: its one-task finalize (what a Ray run uses) is recorded under
    its parts' signature, so a batch scored again (a damaged one) is finalized again, not skipped as done."""
    import os

    from curation.dedup.distributed import finalize_stages

    rec = add_decontamination(Recipe(name="t", signals={}, rules=[]), bench)
    run_dir = tmp_path / "run"
    cls = get_step("decontamination")
    step = cls(cls.Config(**rec.signals["decontamination"]), context={"run_dir": str(run_dir)})
    part = run_dir / "signals" / "decontamination.parts" / "00000_000000.parquet"
    part.parent.mkdir(parents=True)
    step.score(_batch([FILLER, FILLER * 2])).write_parquet(part)

    def contaminated() -> list[bool]:
        finalize_stages(rec, ["decontamination"], {"run_dir": str(run_dir)}, str(run_dir), "local", tasks=1,
                        workers=1)
        return pl.read_parquet(run_dir / "signals" / "decontamination" / "*.parquet").sort("id")[
            "contaminated"].to_list()

    assert contaminated() == [False, False]
    step.score(_batch([FILLER + MMLU_Q, FILLER * 2])).write_parquet(part)  # the batch scored again
    os.utime(part, ns=(1, 1))
    assert contaminated() == [True, False]


BAD_LINES = {"invalid JSON": (b'{"id": "Q9", "question": \n', r"test\.jsonl:3: not valid JSON"),
             "no question": (b'{"id": "Q9", "choices": {"text": [], "label": []}}\n',
                             r"test\.jsonl:3: not a arc_easy item \(missing or bad field 'question'\)"),
             "invalid UTF-8": (b'{"id": "Q9", "question": "caf\xe9 au lait"}\n', r"test\.jsonl:3: not valid UTF-8")}


def _leak_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus.jsonl"
    docs = [{"id": "clean", "text": FILLER * 2}, {"id": "leak", "text": FILLER + ARC_Q + " evaporation. " + FILLER}]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return corpus


@pytest.mark.parametrize("bad", list(BAD_LINES))
def test_a_bad_benchmark_line_is_one_error_before_any_work(bench: Path, tmp_path: Path, bad: str) -> None:
    """A bad line in a benchmark file was read first in the scoring worker, after the run folder was started
    (run.json, logs): a traceback, then the error. It is read before any work now: one error, file:line."""
    from curation.pipeline import curate

    line, message = BAD_LINES[bad]
    with (bench / "arc_easy" / "test.jsonl").open("ab") as f:
        f.write(line)
    rec = add_decontamination(Recipe(name="t", signals={}, rules=[]), bench)
    run = tmp_path / "run"
    with pytest.raises(WinnowError, match=message):
        curate([_leak_corpus(tmp_path)], run, rec, workspace=tmp_path / "ws")
    assert not run.exists()  # refused before the folder is made: no empty folder is left behind


def test_cli_bad_benchmark_line_prints_one_line_without_a_traceback(bench: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    with (bench / "arc_easy" / "test.jsonl").open("ab") as f:
        f.write(BAD_LINES["invalid JSON"][0])
    cmd = [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", "curate",
           str(_leak_corpus(tmp_path)), "--out", str(tmp_path / "run"), "--decontaminate", str(bench)]
    proc = subprocess.run(cmd, env={**os.environ, "WINNOW_WORKSPACE": str(tmp_path / "ws")}, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == [
        f"error: {bench / 'arc_easy' / 'test.jsonl'}:3: not valid JSON (Expecting value)"]


def test_empty_benchmark_files_are_refused_alone_and_named_among_others(bench: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """An empty split file checks nothing: only empty files is an error, one among others a warning naming it."""
    from curation.pipeline import curate

    corpus = _leak_corpus(tmp_path)
    (bench / "arc_easy" / "test.jsonl").write_text("", encoding="utf-8")
    rec = add_decontamination(Recipe(name="t", signals={}, rules=[]), bench)
    m = curate([corpus], tmp_path / "run", rec, workspace=tmp_path / "ws")
    assert f"warning: {bench / 'arc_easy' / 'test.jsonl'}: no benchmark items" in capsys.readouterr().out
    assert m["removed"] == 0  # the leaked ARC question was in the emptied file: nothing matched it

    only = tmp_path / "only-empty"
    (only / "arc_easy").mkdir(parents=True)
    (only / "arc_easy" / "test.jsonl").write_text("\n", encoding="utf-8")
    rec = add_decontamination(Recipe(name="t", signals={}, rules=[]), only)
    with pytest.raises(WinnowError, match=r"no benchmark items in .*arc_easy/test\.jsonl \(empty\)"):
        curate([corpus], tmp_path / "run2", rec, workspace=tmp_path / "ws")
    assert not (tmp_path / "run2" / "run.json").exists()
