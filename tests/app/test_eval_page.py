"""The Evaluation page on a perplexity-only report (what `ablate` evaluates its arms with)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.registry import registered_run
from tests.app.apptest import open_page


def test_a_perplexity_only_report_shows_its_perplexity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws, out = tmp_path / "ws", tmp_path / "eval-ppl"
    out.mkdir()
    # as `eval run --perplexity heldout.jsonl` writes it: no benchmark scores, a perplexity block
    ppl = {"file": str(tmp_path / "heldout.jsonl"), "word_perplexity": 8235.35, "byte_perplexity": 4.909,
           "bits_per_byte": 2.2954}
    (out / "report.json").write_text(json.dumps({"fingerprint": {"model": {"path": "/m/tiny"}}, "scores": {},
                                                 "perplexity": ppl, "files": {}}), encoding="utf-8")
    with registered_run(ws, "eval", {"out": str(out)}, out):
        pass
    at = open_page(ws, "Evaluation", monkeypatch)
    runs = at.dataframe[0].value
    assert runs["word perplexity"].iloc[0] == pytest.approx(8235.35)
    assert runs["bits per byte"].iloc[0] == pytest.approx(2.2954)
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"word perplexity": "8235", "byte perplexity": "4.909", "bits per byte": "2.295"}
    assert not any(d.value.empty for d in at.dataframe)  # no empty scores table


def test_the_paired_table_carries_the_notes_eval_compare_prints() -> None:
    """A withheld CI, a CI that disagrees with McNemar's p and a forced short pairing are said on the page as
    `eval compare` says them, not left as blank cells."""
    import numpy as np

    from evaluation.compare import _bootstrap_entry, _disagreement, _short_pairs, mcnemar_exact, paired_notes

    few_a, few_b = np.zeros(3), np.ones(3)
    a = np.array([1.0] * 2 + [0.0] * 9 + [1.0] * 40 + [0.0] * 49)
    b = np.array([0.0] * 2 + [1.0] * 9 + [1.0] * 40 + [0.0] * 49)
    bs, mc = _bootstrap_entry(a, b, 10000, 0), mcnemar_exact(a, b)
    reps = [{"scores": {"mmlu": {"n": 57}}}, {"scores": {"mmlu": {"n": 57}}}]  # B's samples hold only 40
    result = {"paired": [
        {"benchmark": "arc_easy", "bootstrap": _bootstrap_entry(few_a, few_b, 1000, 0), "mean_a": 0.0, "mean_b": 1.0},
        {"benchmark": "hellaswag", "bootstrap": bs, "disagreement": _disagreement(bs, mc), "mean_a": 0.42,
         "mean_b": 0.49},
        {"benchmark": "mmlu", "bootstrap": {"reliable": True}, "mean_a": 0.25, "mean_b": None,
         "short": _short_pairs("mmlu", ["A", "B"], reps, 40, (57, 40))}]}
    notes = paired_notes(result)
    assert len(notes) == 3
    assert notes[0].startswith("arc_easy: no bootstrap CI") and "McNemar" in notes[0]
    assert notes[1].startswith("hellaswag: ") and "disagree" in notes[1]
    assert notes[2].startswith("* mmlu: only 40 items pair") and notes[2].count("mmlu") == 1
    assert notes[2].endswith("over those items A = 0.2500, B = -")


def test_items_an_old_run_could_not_place_are_counted_on_the_page(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ws, out = tmp_path / "ws", tmp_path / "eval-mmlu"
    out.mkdir()
    split = {"contaminated": {"n": 1, "value": 1.0, "stderr": None}, "clean": {"n": 54, "value": 0.25, "stderr": 0.06},
             "difference": 0.75, "difference_stderr": None, "ambiguous": {"n": 2}}
    rep = {"fingerprint": {"model": {"path": "/m/tiny"}}, "files": {},
           "scores": {"mmlu": {"metric": "acc", "value": 0.26, "stderr": 0.06, "n": 57}},
           "contamination": {"curated": ["/runs/old"], "source": "decontam_items (without splits)",
                             "items_in_training_data": 2, "unchecked": [], "benchmarks": {"mmlu": split}}}
    (out / "report.json").write_text(json.dumps(rep), encoding="utf-8")
    with registered_run(ws, "eval", {"out": str(out)}, out):
        pass
    at = open_page(ws, "Evaluation", monkeypatch)
    table = next(d.value for d in at.dataframe if "ambiguous n" in d.value.columns)
    assert table["ambiguous n"].iloc[0] == 2
    assert any("2 item(s) are in neither part" in c.value for c in at.caption)
