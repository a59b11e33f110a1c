"""Paired comparison statistics on hand-built report folders, and refusal on fingerprint mismatch."""

from __future__ import annotations

import copy
import json
from math import comb
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from curation.errors import WinnowError
from evaluation.compare import compare, mcnemar_exact, paired_bootstrap, render

FP = {"lm_eval_version": "0.4.13", "task_config": {"arc_easy": "h1", "truthfulqa_mc2": "h2"},
      "num_fewshot": {"arc_easy": 0, "truthfulqa_mc2": 0}, "data": {"arc_easy/test.jsonl": "abc"},
      "limit": None, "synthetic_data": False, "model": {"path": "m"}, "dtype": "float32", "batch_size": 1,
      "apply_chat_template": False, "add_bos_token": None}


def make_report(folder: Path, acc: list[int], mc2: list[float], fp: dict | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "s").mkdir()
    with open(folder / "s" / "arc.jsonl", "w") as fh:
        for i, v in enumerate(acc):
            fh.write(json.dumps({"doc_id": i, "acc": float(1 - v), "acc_norm": float(v)}) + "\n")
    with open(folder / "s" / "tq.jsonl", "w") as fh:
        for i, v in enumerate(mc2):
            fh.write(json.dumps({"doc_id": i, "acc": v}) + "\n")
    rep = {"fingerprint": copy.deepcopy(fp or FP),
           "scores": {"arc_easy": {"metric": "acc_norm", "value": float(np.mean(acc)), "stderr": 0.1,
                                   "tasks": ["arc_easy"]},
                      "truthfulqa_mc2": {"metric": "acc", "label": "mc2", "value": float(np.mean(mc2)),
                                         "stderr": 0.05, "tasks": ["truthfulqa_mc2"]}},
           "files": {"samples": {"arc_easy": "s/arc.jsonl", "truthfulqa_mc2": "s/tq.jsonl"}}}
    (folder / "report.json").write_text(json.dumps(rep))
    return folder


A_ACC = [1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0]
B_ACC = [1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0]  # only A right: docs 1,2,3,4,9 (5); only B right: doc 6 (1)


def test_mcnemar_by_hand() -> None:
    r = mcnemar_exact(np.array(A_ACC, float), np.array(B_ACC, float))
    assert (r["only_a_correct"], r["only_b_correct"], r["discordant"]) == (5, 1, 6)
    # two-sided exact binomial: 2 * P(X <= 1 | n=6, p=1/2) = 2 * (1 + 6) / 64
    assert r["p_value"] == pytest.approx(2 * (comb(6, 0) + comb(6, 1)) / 64)
    assert mcnemar_exact(np.ones(4), np.ones(4))["p_value"] == 1.0


def test_bootstrap_matches_loop_and_is_seeded() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 2, 200).astype(float), rng.integers(0, 2, 200).astype(float)
    r1, r2 = paired_bootstrap(a, b, iters=2000, seed=3), paired_bootstrap(a, b, iters=2000, seed=3)
    assert r1 == r2 and r1["diff"] == pytest.approx((b - a).mean())
    # the same draws in a plain loop give the same interval
    g = np.random.default_rng(3)
    idx = g.integers(0, 200, size=(2000, 200))
    means = np.array([(b - a)[row].mean() for row in idx])
    lo, hi = np.quantile(means, [0.025, 0.975])
    assert (r1["ci_low"], r1["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert r1["ci_low"] <= r1["diff"] <= r1["ci_high"]
    same = paired_bootstrap(a, a, iters=100)
    assert same["ci_low"] == same["ci_high"] == 0.0


def test_compare_two_reports(tmp_path: Path) -> None:
    a = make_report(tmp_path / "a", A_ACC, [0.5] * 12)
    b = make_report(tmp_path / "b", B_ACC[:10], [0.25] * 10)  # B has fewer samples: only shared ones pair
    with pytest.raises(WinnowError, match="only 10 items pair"):  # refused unless forced (see test_short_...)
        compare([a, b], iters=500)
    res = compare([a, b], iters=500, force=True)
    arc = next(p for p in res["paired"] if p["benchmark"] == "arc_easy")
    assert arc["n_pairs"] == 10
    assert arc["mcnemar"]["only_a_correct"] == 5 and arc["mcnemar"]["only_b_correct"] == 1
    assert arc["bootstrap"]["diff"] == pytest.approx((sum(B_ACC[:10]) - sum(A_ACC[:10])) / 10)
    tq = next(p for p in res["paired"] if p["benchmark"] == "truthfulqa_mc2")
    assert tq["mcnemar"] is None and tq["bootstrap"]["diff"] == pytest.approx(-0.25)
    md = render(res, "markdown")
    assert "| arc_easy | 10* |" in md and "the reports scored different items" in md
    assert json.loads(render(res, "json"))["paired"][0]["n_pairs"] == 10
    assert "McNemar p" in render(res, "table")


def test_refuses_mismatched_fingerprints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fp = copy.deepcopy(FP)
    fp["data"]["arc_easy/test.jsonl"] = "zzz"
    fp["num_fewshot"]["arc_easy"] = 5
    a = make_report(tmp_path / "a", A_ACC, [0.5] * 12)
    b = make_report(tmp_path / "b", B_ACC, [0.5] * 12, fp)
    with pytest.raises(WinnowError, match="checksum differs.*|few-shot differs"):
        compare([a, b])
    assert main(["eval", "compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "few-shot differs (0 vs 5)" in err and "checksum differs" in err and "--force" in err
    plot = tmp_path / "d.png"
    assert main(["eval", "compare", str(a), str(b), "--force", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "forced despite" in out and plot.stat().st_size > 1000
    # a soft difference only warns
    fp2 = copy.deepcopy(FP)
    fp2["batch_size"] = 8
    c = make_report(tmp_path / "c", B_ACC, [0.5] * 12, fp2)
    assert any("batch_size" in w for w in compare([a, c], iters=10)["warnings"])
    # three reports: side by side, no paired section
    assert "paired" not in compare([a, c, c], iters=10)


def test_not_a_report(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(WinnowError, match="not an evaluation report"):
        compare([tmp_path / "x", tmp_path / "x"])
    with pytest.raises(WinnowError, match="no such report folder"):
        compare([tmp_path / "nope", tmp_path / "x"])
    a = make_report(tmp_path / "a", A_ACC, [0.5] * 12)
    (a / "s" / "tq.jsonl").unlink()
    with pytest.raises(WinnowError, match="per-sample file for truthfulqa_mc2 is missing"):
        compare([a, a])


@pytest.mark.parametrize("iters", ["0", "-5"])
def test_bootstrap_iters_below_one_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     iters: str) -> None:
    a = make_report(tmp_path / "a", A_ACC, [0.5] * 12)
    b = make_report(tmp_path / "b", B_ACC, [0.5] * 12)
    assert main(["eval", "compare", str(a), str(b), "--bootstrap-iters", iters]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: --bootstrap-iters must be at least 1 (got {iters})"
    with pytest.raises(WinnowError, match="at least 1"):
        paired_bootstrap(np.ones(3), np.zeros(3), iters=int(iters))


def test_plot_is_written_where_the_printed_path_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    a = make_report(tmp_path / "a", A_ACC, [0.5] * 12)
    b = make_report(tmp_path / "b", B_ACC, [0.5] * 12)
    monkeypatch.chdir(tmp_path)
    for given in ("myplot", "plot.v2", "d.svg"):
        assert main(["eval", "compare", str(a), str(b), "--bootstrap-iters", "50", "--plot", given]) == 0
        printed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("plot: ")]
        assert printed == [f"plot: {given}"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["d.svg", "myplot", "plot.v2"]  # no .png
    assert (tmp_path / "myplot").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "plot.v2").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "d.svg").read_bytes()[:2000]


def test_three_reports_check_every_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A mismatch between the second and third report is refused even when the first shares no benchmark with
    them (each later report was checked only against the first, on the benchmarks it shared with the first)."""
    only_tq = make_report(tmp_path / "a", A_ACC, [0.5] * 12)
    rep = json.loads((only_tq / "report.json").read_text())
    del rep["scores"]["arc_easy"], rep["files"]["samples"]["arc_easy"]
    (only_tq / "report.json").write_text(json.dumps(rep))
    b = make_report(tmp_path / "b", A_ACC, [0.5] * 12)
    fp = copy.deepcopy(FP)
    fp["num_fewshot"]["arc_easy"] = 3
    c = make_report(tmp_path / "c", B_ACC, [0.5] * 12, fp)
    with pytest.raises(WinnowError, match=r"b vs .*c: arc_easy: few-shot differs \(0 vs 3\)"):
        compare([only_tq, b, c])
    # the same refusal as the two-report compare of b and c, and --force shows it as forced
    with pytest.raises(WinnowError, match=r"few-shot differs \(0 vs 3\)"):
        compare([b, c])
    assert main(["eval", "compare", str(only_tq), str(b), str(c), "--force"]) == 0
    out = capsys.readouterr().out
    assert "forced despite" in out and "few-shot differs (0 vs 3)" in out
    # a matching third report adds no refusal
    assert compare([only_tq, b, make_report(tmp_path / "d", B_ACC, [0.5] * 12)], iters=10)["forced"] == []


def _set_n(folder: Path, n: int) -> None:
    rep = json.loads((folder / "report.json").read_text())
    for s in rep["scores"].values():
        s["n"] = n
    (folder / "report.json").write_text(json.dumps(rep))


def test_short_report_is_refused_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A report whose per-sample file misses items its score counted is not paired silently on the overlap:
    refused without --force, naming the benchmark and the short report; forced, the pairs are marked and the
    paired means shown beside the full-set scores."""
    a = make_report(tmp_path / "a", A_ACC, [0.5] * 12)
    b = make_report(tmp_path / "b", B_ACC, [0.25] * 12)
    _set_n(a, 12)
    _set_n(b, 12)
    assert compare([a, b], iters=10)["forced"] == []  # complete reports pair on every item
    lines = (b / "s" / "arc.jsonl").read_text().splitlines()
    (b / "s" / "arc.jsonl").write_text("\n".join(lines[:9]) + "\n")  # 3 samples lost, score still over 12
    with pytest.raises(WinnowError) as e:
        compare([a, b], iters=10)
    msg = str(e.value)
    assert f"arc_easy: only 9 items pair, fewer than {a} n=12 and {b} n=12 (its per-sample files hold only 9)" in msg
    assert f"samples missing from {b}" in msg and "truthfulqa_mc2" not in msg and "--force" in msg
    assert main(["eval", "compare", str(a), str(b)]) == 2
    res = compare([a, b], iters=10, force=True)
    arc = next(p for p in res["paired"] if p["benchmark"] == "arc_easy")
    assert arc["n_pairs"] == 9 and arc["short"]["short"] == [str(b)] and arc["short"]["held"] == [12, 9]
    assert arc["mean_a"] == pytest.approx(np.mean(A_ACC[:9])) and arc["mean_b"] == pytest.approx(np.mean(B_ACC[:9]))
    text = render(res)
    assert "| arc_easy | 9* |" in render(res, "markdown")
    assert f"over those items A = {np.mean(A_ACC[:9]):.4f}, B = {np.mean(B_ACC[:9]):.4f}" in text
    assert "forced despite" in text
    tq = next(p for p in res["paired"] if p["benchmark"] == "truthfulqa_mc2")
    assert tq["short"] is None and tq["n_pairs"] == 12


def test_bootstrap_ci_withheld_below_minimum_pairs(tmp_path: Path) -> None:
    """3 items, A all wrong and B all right: every resample has mean 1, so the percentile 'CI' is [1, 1] while
    McNemar's exact p is 2 * 0.5**3 = 0.25. Below the minimum the CI is not shown as one; McNemar's p stays."""
    from evaluation.compare import plot_deltas

    a = make_report(tmp_path / "a", [0, 0, 0], [0.5] * 3)
    b = make_report(tmp_path / "b", [1, 1, 1], [0.5] * 3)
    res = compare([a, b], iters=2000)
    arc = next(p for p in res["paired"] if p["benchmark"] == "arc_easy")
    bs = arc["bootstrap"]
    assert bs["diff"] == 1.0 and bs["reliable"] is False and bs["ci_low"] is None and bs["ci_high"] is None
    assert bs["unreliable_ci"] == [1.0, 1.0]  # the collapsed interval, kept only under its own name
    assert arc["mcnemar"]["p_value"] == pytest.approx(2 * 0.5 ** 3)
    text = render(res)
    arc_line = next(ln for ln in text.splitlines() if ln.startswith("arc_easy") and "n/a" in ln)
    assert "n/a (too few pairs)" in arc_line and "0.25" in arc_line and "[1.0000, 1.0000]" not in text
    assert "note: arc_easy: no bootstrap CI: 3 pairs, 3 differing" in text
    assert json.loads(render(res, "json"))["paired"][0]["bootstrap"]["ci_low"] is None
    assert plot_deltas(res, tmp_path / "d.png").stat().st_size > 1000
    # enough pairs and enough that differ: the interval is shown
    rng = np.random.default_rng(1)
    xa = rng.integers(0, 2, 60)
    xb = xa.copy()
    xb[:15] = 1 - xb[:15]
    c, d = make_report(tmp_path / "c", list(xa), [0.5] * 60), make_report(tmp_path / "d", list(xb), [0.5] * 60)
    big = next(p for p in compare([c, d], iters=500)["paired"] if p["benchmark"] == "arc_easy")["bootstrap"]
    assert big["reliable"] is True and big["ci_low"] < big["diff"] < big["ci_high"]


def test_perplexity_side_by_side_only_on_the_same_held_out_text(tiny_model: Path, tmp_path: Path) -> None:
    """Word perplexity and bits per byte (what ablate decides on) of two real runs on the same held-out text:
    both values, B - A, and a bootstrap CI of the bits-per-byte difference over lm-eval's per-document values;
    on different held-out text the values are shown but not differenced."""
    from evaluation.runner import EvalConfig, run_eval
    from training.tiny import build_tiny_model

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("The cat sat on the mat. Nothing happens when you eat seeds.\n" * 20)
    other_model = build_tiny_model([corpus], tmp_path / "m2", vocab_size=400, hidden=32, layers=1, heads=2,
                                   max_positions=512, seed=1)
    held = tmp_path / "held.txt"
    held.write_text("\n\n".join(f"The cat {i} sat on the mat. Nothing happens when you eat seeds." for i in range(32)))
    other = tmp_path / "other.txt"
    other.write_text("\n\n".join(f"A man is sitting on a roof {i}." for i in range(32)))

    def run(model: Path, text: Path, out: str) -> Path:
        run_eval(EvalConfig(model=str(model), out=tmp_path / out, data_dir=tmp_path / "none",
                            cache_dir=tmp_path / "cache", device="cpu", perplexity=text, use_cache=False))
        return tmp_path / out

    a, b, c = run(tiny_model, held, "a"), run(other_model, held, "b"), run(tiny_model, other, "c")
    reps = [json.loads((x / "report.json").read_text()) for x in (a, b)]
    # lm-eval's own aggregate equals -sum(ll) / sum(bytes) / ln 2 over its per-document samples
    for x, rep in zip((a, b), reps, strict=True):
        recs = [json.loads(ln) for ln in (x / rep["files"]["samples"]["winnow_perplexity"]).read_text().splitlines()]
        assert len(recs) == 32
        bpb = -sum(r["bits_per_byte"][0] for r in recs) / sum(r["bits_per_byte"][1] for r in recs) / np.log(2)
        assert bpb == pytest.approx(rep["perplexity"]["bits_per_byte"])
    res = compare([a, b], iters=500)
    ppl = res["perplexity"]
    pa, pb = reps[0]["perplexity"], reps[1]["perplexity"]
    assert ppl["same_text"] is True and ppl["values"][0]["bits_per_byte"] == pa["bits_per_byte"]
    assert ppl["diff"]["bits_per_byte"] == pytest.approx(pb["bits_per_byte"] - pa["bits_per_byte"]) != 0
    assert ppl["diff"]["word_perplexity"] == pytest.approx(pb["word_perplexity"] - pa["word_perplexity"])
    ci = ppl["diff"]["bits_per_byte_ci"]
    assert ppl["diff"]["documents"] == 32 and ci["ci_low"] < ppl["diff"]["bits_per_byte"] < ci["ci_high"]
    text = render(res)
    bpb_line = next(ln for ln in text.splitlines() if ln.startswith("bits per byte"))
    assert f"{pa['bits_per_byte']:.4f}" in bpb_line and f"{pb['bits_per_byte']:.4f}" in bpb_line
    assert f"[{ci['ci_low']:.4f}, {ci['ci_high']:.4f}]" in bpb_line
    # different held-out text: both values, no difference, and a note saying why
    diff_text = compare([a, c], iters=50)["perplexity"]
    assert diff_text["same_text"] is False and diff_text["diff"] is None
    assert "different held-out text" in render(compare([a, c], iters=50))
    assert "B - A" not in render(compare([a, c], iters=50)).split("held-out text:")[1]


def test_a_borderline_difference_says_the_ci_and_mcnemar_disagree() -> None:
    """100 pairs, A alone right on 2, B alone right on 9: McNemar's exact p is above 0.05 (binomial tail,
    computed here by hand) while the percentile bootstrap's interval sits above 0; the comparison says so."""
    from evaluation.compare import _bootstrap_entry, _disagreement

    a = np.array([1.0] * 2 + [0.0] * 9 + [1.0] * 40 + [0.0] * 49)
    b = np.array([0.0] * 2 + [1.0] * 9 + [1.0] * 40 + [0.0] * 49)
    p = min(1.0, 2 * sum(comb(11, k) for k in range(3)) / 2 ** 11)  # two-sided exact binomial, 2 of 11
    assert p > 0.05
    bs, mc = _bootstrap_entry(a, b, 10000, 0), mcnemar_exact(a, b)
    assert mc["p_value"] == pytest.approx(p) and bs["reliable"] and bs["ci_low"] > 0
    note = _disagreement(bs, mc)
    assert note is not None and "disagree" in note
    same_way = np.array([0.0] * 20 + [1.0] * 80)  # B alone right on 20 of 100: both say B is better
    assert _disagreement(_bootstrap_entry(np.zeros(100), same_way, 2000, 0),
                         mcnemar_exact(np.zeros(100), same_way)) is None


def test_too_few_pairs_of_a_non_binary_score_are_called_untested() -> None:
    from evaluation.compare import _bootstrap_entry

    bs = _bootstrap_entry(np.linspace(0, 1, 5), np.linspace(0.1, 1, 5), 1000, 0, binary=False)
    assert bs["ci_low"] is None and "McNemar" not in bs["note"] and "untested" in bs["note"]


def test_held_out_text_that_differs_does_not_block_the_benchmarks() -> None:
    """The perplexity section itself says when the held-out texts differ; benchmark data that differs blocks."""
    from evaluation.compare import fingerprint_diffs

    def rep(data: dict[str, str]) -> dict:
        return {"scores": {"arc_easy": {}}, "fingerprint": {"data": data, "limit": None}}

    blocking, _ = fingerprint_diffs(rep({"perplexity/held.jsonl": "a" * 64, "arc_easy/test.jsonl": "c" * 64}),
                                    rep({"perplexity/held.jsonl": "b" * 64, "arc_easy/test.jsonl": "c" * 64}))
    assert blocking == []
    blocking, _ = fingerprint_diffs(rep({"arc_easy/test.jsonl": "c" * 64}), rep({"arc_easy/test.jsonl": "d" * 64}))
    assert len(blocking) == 1 and "arc_easy/test.jsonl" in blocking[0]
