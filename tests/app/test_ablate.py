"""`winnow ablate`: score once, mix each recipe, equal token budgets, train + evaluate each arm, paired report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from app.ablate import paired_stats
from app.cli import main
from tests.app.apptest import open_page

PLANTED = "buy cheap pills now best price click here " * 12


def _recipes(d):
    signals = {"gopher_repetition": {}, "exact_dedup": {"keep": "first"}}
    strict = {"name": "strict", "signals": signals, "rules": [
        {"name": "dup", "signal": "exact_dedup", "column": "duplicate", "drop_if": True},
        {"name": "rep", "signal": "gopher_repetition", "column": "top_2_gram_char_frac", "max": 0.2}]}
    keep = {"name": "keep-everything", "signals": signals, "rules": []}
    paths = []
    for r in (strict, keep):
        p = d / f"{r['name']}.yaml"
        p.write_text(yaml.safe_dump(r))
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from training.tiny import build_tiny_model

    d = tmp_path_factory.mktemp("ablate")
    words = ("river stone garden window morning letter music paper winter market bridge forest").split()
    rng = np.random.default_rng(0)
    clean = [" ".join(rng.choice(words, 60)) + "." for _ in range(40)]
    docs = [{"id": f"c{i}", "text": t} for i, t in enumerate(clean)]
    docs += [{"id": f"s{i}", "text": PLANTED} for i in range(15)]  # repeated spam: duplicates, repetitive
    corpus = d / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(x) + "\n" for x in docs))
    heldout = d / "heldout.jsonl"
    heldout.write_text("".join(json.dumps({"text": " ".join(rng.choice(words, 40))}) + "\n" for _ in range(12)))
    model = build_tiny_model([corpus], d / "base", vocab_size=300, hidden=32, layers=1, heads=2, max_positions=256)
    train = d / "train.yaml"
    train.write_text(yaml.safe_dump({"max_length": 64, "batch_size": 4, "learning_rate": 1e-3, "device": "cpu",
                                     "logging_steps": 1, "save_steps": 1000}))
    return {"d": d, "corpus": corpus, "heldout": heldout, "model": model, "train": train,
            "recipes": _recipes(d)}


@pytest.mark.slow
def test_two_arm_ablation_end_to_end_and_resume(setup, capsys):
    s, d = setup, setup["d"]
    out, ws = d / "abl", d / "ws"
    args = ["ablate", str(s["corpus"]), "--recipes", str(s["recipes"][0]), str(s["recipes"][1]),
            "--model", str(s["model"]), "--train-config", str(s["train"]), "--heldout", str(s["heldout"]),
            "--seeds", "2", "--max-steps", "3", "--max-length", "32", "--out", str(out), "--workspace", str(ws)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    rep = json.loads((out / "ablation.json").read_text())
    arms = {a["name"]: a for a in rep["arms"]}
    assert set(arms) == {"strict", "keep-everything"}
    # --max-length overrides the train config's 64 for every arm's training
    assert rep["max_length"] == 32
    for a in arms.values():
        for m in a["models"].values():
            assert yaml.safe_load((Path(m) / "config.yaml").read_text())["max_length"] == 32
    assert arms["strict"]["kept_docs"] == 40 and arms["keep-everything"]["kept_docs"] == 55
    # same budget: the smallest arm's tokens; every sample reaches it within one document
    assert rep["budget_tokens"] == arms["strict"]["kept_tokens"]
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(s["model"] / "tokenizer.json"))
    longest = max(len(tok.encode(json.loads(x)["text"], add_special_tokens=False).ids)
                  for x in s["corpus"].read_text().splitlines())
    for a in arms.values():
        assert rep["budget_tokens"] <= a["sample_tokens"] < rep["budget_tokens"] + longest
    # bits per byte recomputed from each eval's own per-sample file
    m = rep["metrics"]["bits_per_byte"]
    for name, a in arms.items():
        for seed in a["evals"]:
            f = next((out / "evals" / f"{name}-s{seed}" / "lm_eval").rglob("samples_winnow_perplexity_*.jsonl"))
            rows = [json.loads(x)["bits_per_byte"] for x in f.read_text().splitlines()]
            expected = -sum(r[0] for r in rows) / sum(r[1] for r in rows) / math.log(2)
            assert m["per_seed"][name][int(seed)] == pytest.approx(expected)
    diff = m["vs_first"]["keep-everything"]
    expected_diff = np.mean(m["per_seed"]["keep-everything"]) - np.mean(m["per_seed"]["strict"])
    assert diff["diff"] == pytest.approx(expected_diff)
    assert diff["ci_items"][0] <= diff["diff"] <= diff["ci_items"][1]
    assert "diff vs strict" in printed and (out / "ablation.png").stat().st_size > 0
    # every arm model is a registered run whose lineage reaches the raw corpus
    from app.lineage import lineage

    g = lineage(out / "evals" / "keep-everything-s1", ws)
    assert str(s["corpus"]) in g.nodes and not any(n.stale for n in g.nodes.values())
    from app.registry import RunRegistry

    with RunRegistry(ws) as reg:
        kinds = [r.kind for r in reg.list(limit=100)]
    assert kinds.count("train-sft") == 4 and kinds.count("eval") == 4 and kinds.count("mix") == 2
    # resume: a second run redoes nothing (no new train/eval runs) and gives the same report
    assert main(args) == 0
    with RunRegistry(ws) as reg:
        assert [r.kind for r in reg.list(limit=100)].count("train-sft") == 4
    assert json.loads((out / "ablation.json").read_text())["metrics"]["bits_per_byte"]["per_seed"] == m["per_seed"]


def test_bad_input_is_one_line(setup, capsys, tmp_path):
    s = setup
    base = ["ablate", str(s["corpus"]), "--model", str(s["model"]), "--heldout", str(s["heldout"]),
            "--workspace", str(tmp_path / "ws")]
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"name": "o", "signals": {"gopher_repetition": {},
                                                               "exact_dedup": {"keep": "longest"}}}))
    assert main([*base, "--recipes", str(s["recipes"][0]), str(other), "--out", str(tmp_path / "a")]) == 2
    assert "configure signal 'exact_dedup' differently" in capsys.readouterr().err
    assert main([*base, "--recipes", str(s["recipes"][0]), str(s["recipes"][1]), "--budget-tokens", "10000000",
                 "--max-steps", "1", "--train-config", str(s["train"]), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "--budget-tokens 10000000 is larger than the smallest arm: strict" in err
    no_tok = tmp_path / "m"
    no_tok.mkdir()
    (no_tok / "config.json").write_text("{}")
    assert main(["ablate", str(s["corpus"]), "--recipes", str(s["recipes"][0]), str(s["recipes"][1]),
                 "--model", str(no_tok), "--heldout", str(s["heldout"]), "--out", str(tmp_path / "c"),
                 "--workspace", str(tmp_path / "ws")]) == 2
    assert "no tokenizer.json" in capsys.readouterr().err


def test_paired_stats_over_seeds_and_items():
    rng = np.random.default_rng(1)
    base = [rng.normal(0, 1, 50) for _ in range(3)]
    arm = [b + 0.5 for b in base]  # a constant shift: every interval is the shift itself
    st = paired_stats(base, arm, lambda x: float(x.mean()), iters=200)
    assert st["diff"] == pytest.approx(0.5)
    assert st["ci_items"] == pytest.approx((0.5, 0.5)) and st["ci_seeds"] == pytest.approx((0.5, 0.5))
    assert st["per_seed"] == pytest.approx([0.5, 0.5, 0.5])


def test_recipe_that_does_not_fit_the_scored_signals_is_named(tmp_path):
    from app.ablate import check_fit, load_recipes
    from curation.errors import WinnowError

    paths = [str(p) for p in _recipes(tmp_path)]
    recipes = load_recipes(paths)
    check_fit(recipes, paths, ["gopher_repetition", "exact_dedup"])
    with pytest.raises(WinnowError, match=r"strict.yaml: rule 'rep' reads signal 'gopher_repetition', which the "
                                          r"corpus was not scored with \(scored: exact_dedup\)"):
        check_fit(recipes, paths, ["exact_dedup"])
    keep = load_recipes([paths[0], "keep-everything"])[1]
    assert keep.rules == [] and set(keep.signals) == {"gopher_repetition", "exact_dedup"}


def _runs_by_kind(ws):
    from collections import Counter

    from app.registry import RunRegistry

    with RunRegistry(ws) as reg:
        return Counter(r.kind for r in reg.list(limit=1000))


@pytest.mark.slow
def test_rerun_redoes_exactly_the_stages_whose_inputs_or_settings_changed(setup, tmp_path, capsys):
    """Stale results are never reused: a new step count retrains and re-evaluates, an edited recipe re-mixes
    (and everything after it), an unchanged rerun reuses every stage."""
    from app.lineage import lineage

    s = setup
    recipe = tmp_path / "strict.yaml"
    recipe.write_text(s["recipes"][0].read_text())
    out, ws = tmp_path / "abl", tmp_path / "ws"
    args = ["ablate", str(s["corpus"]), "--recipes", str(recipe), str(s["recipes"][1]), "--model", str(s["model"]),
            "--train-config", str(s["train"]), "--heldout", str(s["heldout"]), "--max-length", "32",
            "--out", str(out), "--workspace", str(ws)]
    folders = {"score": out / "score", "mix": out / "arms" / "strict", "sample": out / "samples" / "strict",
               "train": out / "models" / "strict-s0", "eval": out / "evals" / "strict-s0"}

    def mtimes():
        return {k: (p / "manifest.json").stat().st_mtime_ns for k, p in folders.items()}

    assert main([*args, "--max-steps", "1"]) == 0
    first, t1, runs1 = json.loads((out / "ablation.json").read_text()), mtimes(), _runs_by_kind(ws)
    assert runs1["train-sft"] == 2 and runs1["eval"] == 2

    # unchanged: every stage reused, the same numbers
    assert main([*args, "--max-steps", "1"]) == 0
    assert mtimes() == t1 and _runs_by_kind(ws) - runs1 == {"ablate": 1}
    again = json.loads((out / "ablation.json").read_text())
    assert again["metrics"]["bits_per_byte"]["per_seed"] == first["metrics"]["bits_per_byte"]["per_seed"]
    capsys.readouterr()

    # more steps: models and evals redone, scoring, mixes and samples reused
    assert main([*args, "--max-steps", "3"]) == 0
    err = capsys.readouterr().err
    t3, runs3 = mtimes(), _runs_by_kind(ws)
    assert {k for k in t3 if t3[k] != t1[k]} == {"train", "eval"}
    assert runs3 - runs1 == {"ablate": 2, "train-sft": 2, "eval": 2}
    assert "training arm strict seed 0 (3 steps; changed: train)" in err
    rep = json.loads((out / "ablation.json").read_text())
    assert rep["steps"] == 3
    for arm in ("strict", "keep-everything"):
        assert json.loads((out / "models" / f"{arm}-s0" / "manifest.json").read_text())["steps"] == 3
    # the report's number is what a fresh evaluation of the 3-step model gives, and lineage sees nothing stale
    fresh = tmp_path / "fresh"
    assert main(["eval", "run", "--model", str(folders["train"]), "--perplexity", str(s["heldout"]),
                 "--out", str(fresh), "--workspace", str(ws)]) == 0
    fresh_bpb = json.loads((fresh / "report.json").read_text())["perplexity"]["bits_per_byte"]
    assert rep["metrics"]["bits_per_byte"]["per_seed"]["strict"][0] == pytest.approx(fresh_bpb, rel=1e-6)
    assert fresh_bpb != pytest.approx(first["metrics"]["bits_per_byte"]["per_seed"]["strict"][0], rel=1e-6)
    g = lineage(folders["eval"], ws)
    assert str(s["corpus"]) in g.nodes and not any(n.stale for n in g.nodes.values())
    capsys.readouterr()

    # an edited recipe (no rules: keeps everything): its mix and everything downstream redone, scoring reused
    recipe.write_text(yaml.safe_dump({**yaml.safe_load(recipe.read_text()), "rules": []}))
    assert main([*args, "--max-steps", "3"]) == 0
    err = capsys.readouterr().err
    t4 = mtimes()
    assert t4["score"] == t3["score"] and all(t4[k] != t3[k] for k in ("mix", "sample", "train", "eval"))
    assert "mixing arm strict" in err and "changed: recipe" in err and "mixing arm keep-everything" not in err
    rep = json.loads((out / "ablation.json").read_text())
    arms = {a["name"]: a for a in rep["arms"]}
    assert arms["strict"]["kept_docs"] == arms["keep-everything"]["kept_docs"] == 55  # 40 clean + 15 spam
    # the same documents, budget, seed and steps on both arms now: the same model, the same score
    per_seed = rep["metrics"]["bits_per_byte"]["per_seed"]
    assert per_seed["strict"] == pytest.approx(per_seed["keep-everything"], rel=1e-6)
    assert not any(n.stale for n in lineage(folders["eval"], ws).nodes.values())


def _per_seed_items(shifts: list[float], n: int = 200) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Base items all 0; arm items of seed s: shifts[s] +/- 0.001 alternately (mean exactly shifts[s])."""
    wiggle = np.where(np.arange(n) % 2 == 0, 0.001, -0.001)
    return [np.zeros(n) for _ in shifts], [np.full(n, x) + wiggle for x in shifts]


def _report(st: dict, k: int) -> dict:
    return {"arms": [{"name": "strict"}, {"name": "keep-everything"}], "first": "strict", "seeds": list(range(k)),
            "budget_tokens": 1000, "steps": 1,
            "metrics": {"bits_per_byte": {"lower_is_better": True, "n_items": 200,
                                          "per_seed": {"strict": [1.0] * k,
                                                       "keep-everything": [1.0 + x for x in st["per_seed"]]},
                                          "mean": {"strict": 1.0, "keep-everything": 1.0 + st["diff"]},
                                          "vs_first": {"keep-everything": st}}}}


def test_one_seed_never_establishes_a_difference_on_the_items_ci(capsys):
    """With the default --seeds 1 the items CI (+0.0085, far from 0) leaves out seed-to-seed variation: the
    summary says so plainly and does not call the difference established."""
    from app.ablate import summary_lines

    base, arm = _per_seed_items([0.0085])
    st = paired_stats(base, arm, lambda x: float(x.mean()), iters=300)
    assert st["ci_items"][0] > 0  # on the items alone the difference looks clear
    text = "\n".join(summary_lines(_report(st, 1)))
    assert "seed-to-seed variation is not measured" in text and "--seeds 3" in text
    assert "understate the uncertainty" in text
    assert "verdict: not established across seeds" in text
    assert "verdict: worse than strict" not in text


def test_two_seeds_verdict_rests_on_the_interval_over_seeds():
    """The reviewer's case: per-seed differences +0.0085 and +0.0038, each with a narrow items CI. The 95% t
    interval over the 2 seeds is 0.00615 +/- t(0.975, 1) * 0.00235 = 0.00615 +/- 12.706 * 0.00235
    = [-0.0237, +0.0360]: it includes 0, so the difference is not established. Three seeds at +0.0085, +0.0080,
    +0.0090: 0.0085 +/- 4.303 * 0.0005 / sqrt(3) = [+0.0073, +0.0097]: established, and for bits per byte
    (lower is better) a positive difference is worse."""
    from app.ablate import summary_lines, verdict

    base, arm = _per_seed_items([0.0085, 0.0038])
    st = paired_stats(base, arm, lambda x: float(x.mean()), iters=300)
    assert st["ci_items"][0] > 0
    assert st["ci_seeds_t"] == pytest.approx((-0.0237, 0.0360), abs=1e-4)
    v = verdict(st, lower_is_better=True, first="strict")
    assert v.startswith("not established across seeds") and "[-0.0237, +0.0360]" in v
    assert f"verdict: {v}" in summary_lines(_report(st, 2))[-1]
    assert not any("note:" in line for line in summary_lines(_report(st, 2)))
    base, arm = _per_seed_items([0.0085, 0.0080, 0.0090])
    st = paired_stats(base, arm, lambda x: float(x.mean()), iters=300)
    assert st["ci_seeds_t"] == pytest.approx((0.0073, 0.0097), abs=1e-4)
    assert verdict(st, lower_is_better=True, first="strict").startswith("worse than strict")
    assert verdict(st, lower_is_better=False, first="strict").startswith("better than strict")
    base, arm = _per_seed_items([0.0, 0.0])
    st = paired_stats(base, arm, lambda x: float(x.mean()), iters=300)
    assert verdict(st, lower_is_better=True, first="strict").startswith("no clear difference")


def test_the_app_shows_the_same_verdict(tmp_path, monkeypatch):
    """The Lineage page's ablation view (app/ui/lineage_page.py) warns about one seed and shows the verdict
    the terminal prints."""

    from app.ablate import SEED_NOTE, verdict

    base, arm = _per_seed_items([0.0085])
    st = paired_stats(base, arm, lambda x: float(x.mean()), iters=300)
    abl = tmp_path / "abl"
    abl.mkdir()
    (abl / "ablation.json").write_text(json.dumps(_report(st, 1)))
    (abl / "manifest.json").write_text(json.dumps({"kind": "ablation", "lineage": {"kind": "ablation"}}))
    ws = tmp_path / "ws"
    ws.mkdir()
    at = open_page(ws, "Lineage", monkeypatch, query={"target": str(abl)}, allow=tmp_path)
    assert SEED_NOTE in [w.value for w in at.warning]
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    row = table[table["arm"] == "keep-everything"].iloc[0]
    assert row["verdict"] == verdict(st, True, "strict") and row["verdict"].startswith("not established across seeds")
