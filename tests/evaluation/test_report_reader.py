"""The report reader's picked choice on a real lm-eval run: it follows the metric the report scores by."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluation.report_reader import ReportReader
from evaluation.runner import EvalConfig, run_eval
from tests.evaluation.conftest import write_jsonl, write_store


def test_picked_choice_agrees_with_lm_evals_own_acc_norm(tiny_model: Path, tmp_path: Path) -> None:
    """ARC and HellaSwag are scored by acc_norm (log-likelihood per character of the choice): the pick the app
    shows must agree with each sample's acc_norm, as lm-eval computed it, on every item. The raw log-likelihood
    argmax (what the reader used) disagrees with it where a longer choice is less likely in total."""
    store = write_store(tmp_path / "store", n=16, mmlu=False)
    # choices of very different lengths, some the tiny model's own training text: a short choice has the
    # higher total log-likelihood, a familiar long one the higher per character
    texts = ["x", "the cat sat on the mat.", "q z", "Nothing happens when you eat seeds; they pass through."]
    write_jsonl(store / "arc_easy" / "test.jsonl", [
        {"id": f"t{i}", "question": f"Which one is number {i}?", "answerKey": "ABCD"[i % 4],
         "choices": {"text": texts[i % 4:] + texts[:i % 4], "label": ["A", "B", "C", "D"]}} for i in range(16)])
    rep = run_eval(EvalConfig(model=str(tiny_model), out=tmp_path / "r", data_dir=store, cache_dir=tmp_path / "c",
                              benchmarks=["arc_easy", "hellaswag"], batch_size=8, device="cpu", use_cache=False))
    reader = ReportReader(tmp_path / "r")
    raw_differs = 0
    for bench in ("arc_easy", "hellaswag"):
        assert rep["scores"][bench]["metric"] == reader.metric(bench) == "acc_norm"
        samples = reader.samples(bench, "acc_norm")
        records = {r["doc_id"]: r for r in map(json.loads, (tmp_path / "r" / rep["files"]["samples"][bench])
                                               .read_text().splitlines())}
        assert len(samples) == 16
        for doc, s in samples.items():
            assert s.target is not None and s.picked is not None
            assert (s.picked == s.target) == (records[doc]["acc_norm"] == 1.0), (bench, doc)
            lls = [float(r[0]) for r in records[doc]["filtered_resps"]]
            raw_differs += int(np.argmax(lls)) != s.picked
    assert raw_differs > 0  # the fixture has items where the two rules pick differently
