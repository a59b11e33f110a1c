"""Contamination-aware scores: a report split into items found in the curated training data and clean items."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from curation.errors import WinnowError
from evaluation.runner import EvalConfig, run_eval
from tests.evaluation.conftest import write_jsonl

N = 10
PLANTED = (1, 4, 7)  # arc_easy test items whose question and answer appear in the corpus
FILLER = ("the weather report for the coming week says there will be rain on tuesday and sunshine on the "
          "weekend so plan your garden work accordingly ")


def _question(i: int) -> str:
    return f"Which material in the laboratory experiment number {i} conducts electricity best when it is warm?"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from curation.pipeline import curate
    from curation.recipe import Recipe
    from curation.steps.decontamination import add_decontamination

    d = tmp_path_factory.mktemp("contam")
    store = d / "benchmarks"
    rows = [{"id": f"Q{i}", "question": _question(i),
             "choices": {"text": ["copper wire", "dry wood", "glass rod", "rubber band"], "label": list("ABCD")},
             "answerKey": "A"} for i in range(N)]
    for split in ("test", "train"):
        write_jsonl(store / "arc_easy" / f"{split}.jsonl", rows)
    corpus = d / "corpus.jsonl"
    docs = [{"id": f"c{j}", "text": FILLER * 2} for j in range(4)]
    docs += [{"id": f"leak{i}", "text": FILLER + _question(i) + " copper wire. " + FILLER} for i in PLANTED]
    corpus.write_text("".join(json.dumps(x) + "\n" for x in docs), encoding="utf-8")
    signals = add_decontamination(Recipe(name="t", signals={}, rules=[]), store).signals
    run = d / "curated"
    curate([corpus], run, Recipe(name="keep-all", signals=signals, rules=[]), workspace=d / "ws")
    return {"store": store, "run": run, "dir": d}


def _samples(rep_dir: Path) -> dict[int, float]:
    f = next((rep_dir / "lm_eval").rglob("samples_arc_easy_*.jsonl"))
    return {r["doc_id"]: float(r["acc_norm"]) for r in map(json.loads, f.read_text().splitlines())}


@pytest.mark.slow
def test_report_splits_scores_by_items_found_in_kept_data(setup, tiny_model, tmp_path):
    out = tmp_path / "rep"
    cfg = EvalConfig(model=str(tiny_model), out=out, data_dir=setup["store"], cache_dir=tmp_path / "cache",
                     benchmarks=["arc_easy"], contamination=setup["run"])
    rep = run_eval(cfg)
    assert rep["contamination"]["source"] == "decontam_items"
    s = rep["contamination"]["benchmarks"]["arc_easy"]
    vals = _samples(out)
    dirty = [vals[i] for i in PLANTED]
    clean = [vals[i] for i in range(N) if i not in PLANTED]
    assert (s["contaminated"]["n"], s["clean"]["n"]) == (len(PLANTED), N - len(PLANTED))
    assert s["contaminated"]["value"] == pytest.approx(sum(dirty) / len(dirty))
    assert s["clean"]["value"] == pytest.approx(sum(clean) / len(clean))
    assert s["difference"] == pytest.approx(sum(dirty) / len(dirty) - sum(clean) / len(clean))
    m = sum(clean) / len(clean)
    se_clean = math.sqrt(sum((v - m) ** 2 for v in clean) / (len(clean) - 1) / len(clean))
    assert s["clean"]["stderr"] == pytest.approx(se_clean)
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["contamination"]["curated"] == [str(setup["run"].absolute())]
    # the report's manifest names the curated run as a parent, so lineage reaches it
    man = json.loads((out / "manifest.json").read_text())
    assert str(setup["run"].absolute()) in [p["path"] for p in man["lineage"]["parents"]]

    from evaluation.compare import compare, render

    text = render(compare([out, out], iters=100))
    assert "contamination split" in text and f"(n={len(PLANTED)})" in text


def test_curated_run_without_the_signal_is_a_clear_error(setup, tiny_model, tmp_path):
    from evaluation.runner import prepare

    bare = tmp_path / "bare"
    (bare / "signals").mkdir(parents=True)
    cfg = EvalConfig(model=str(tiny_model), out=tmp_path / "r", data_dir=setup["store"],
                     cache_dir=tmp_path / "cache", benchmarks=["arc_easy"], contamination=bare)
    with pytest.raises(WinnowError, match=r"--contamination .*bare: no decontamination signal"):
        prepare(cfg)


def _model_trained_on(data: Path, tiny_model: Path, model: Path, base: Path | None = None) -> Path:
    """A copy of the tiny model whose manifest says it was trained on `data` (from `base`, when given)."""
    import shutil

    from curation.lineage_record import lineage_block, stamp_fingerprint

    shutil.copytree(tiny_model, model)
    kind = "dpo" if base else "sft"
    man = {"kind": f"train-{kind}", "lineage": lineage_block(inputs=[data], parents=[base] if base else [],
                                                              command=["test"], kind=kind)}
    stamp_fingerprint(man, [model / "config.json"])
    (model / "manifest.json").write_text(json.dumps(man))
    return model


def _eval_model_trained_on(data: Path, setup: dict, tiny_model: Path, tmp_path: Path,
                           base: Path | None = None) -> Path:
    """`winnow eval run` (exit 0) on a copy of the tiny model whose manifest says it was trained on `data`
    (from `base`, when given); returns the report folder."""
    from app.cli import main

    model = _model_trained_on(data, tiny_model, tmp_path / "trained", base)
    out = tmp_path / "rep"
    assert main(["eval", "run", "--model", str(model), "--benchmarks", "arc_easy", "--data-dir", str(setup["store"]),
                 "--out", str(out), "--workspace", str(tmp_path / "ws")]) == 0
    return out


@pytest.mark.slow
def test_cli_finds_the_curated_run_through_the_models_lineage(setup, tiny_model, tmp_path, capsys):
    out = _eval_model_trained_on(setup["run"], setup, tiny_model, tmp_path)
    printed = capsys.readouterr().out
    assert "contamination split" in printed and f"(n={len(PLANTED)})" in printed
    rep = json.loads((out / "report.json").read_text())
    assert rep["contamination"]["curated"] == [str(setup["run"].absolute())]


@pytest.fixture(scope="module")
def mixed(setup):
    """`curate --decontaminate` (the leaked documents are dropped from its kept/) and a `mix --out` of it with
    no rules (they are kept again): a model trained on the mix saw them."""
    from curation.mix import mix
    from curation.pipeline import curate
    from curation.recipe import Recipe
    from curation.steps.decontamination import add_decontamination

    d = setup["dir"]
    decon = d / "decontaminated"
    curate([d / "corpus.jsonl"], decon, add_decontamination(Recipe(name="t", signals={}, rules=[]), setup["store"]),
           workspace=d / "ws")
    keep_all = d / "keep-all"
    mix(decon, Recipe(name="keep-all", signals={}, rules=[]), out_dir=keep_all)
    return {"decon": decon, "mix": keep_all}


def test_a_mix_is_split_by_its_own_kept_documents(mixed):
    from evaluation.contamination import contaminated_refs, has_signal

    planted = {f"arc_easy/test/Q{i}" for i in PLANTED}
    assert contaminated_refs(mixed["decon"]).keys == set()  # the parent dropped every leaked document
    assert has_signal(mixed["mix"])  # the mix reads its parent's signal in place
    assert contaminated_refs(mixed["mix"]).keys == planted


@pytest.mark.slow
def test_cli_splits_by_the_mix_the_model_was_trained_on(setup, mixed, tiny_model, tmp_path, capsys):
    out = _eval_model_trained_on(mixed["mix"], setup, tiny_model, tmp_path)
    assert f"contaminated {_mean_text(out)} ± " in capsys.readouterr().out
    rep = json.loads((out / "report.json").read_text())
    s = rep["contamination"]["benchmarks"]["arc_easy"]
    assert rep["contamination"]["curated"] == [str(mixed["mix"].absolute())]
    assert (s["contaminated"]["n"], s["clean"]["n"]) == (len(PLANTED), N - len(PLANTED))


def _mean_text(rep_dir: Path) -> str:
    vals = _samples(rep_dir)
    return f"{sum(vals[i] for i in PLANTED) / len(PLANTED):.4f}"


def _curated_leaking(setup: dict, name: str, leaked: tuple[int, ...], decontaminate: bool = True) -> Path:
    """A curated run of filler documents and the arc_easy questions `leaked` (with the signal, or without)."""
    from curation.pipeline import curate
    from curation.recipe import Recipe
    from curation.steps.decontamination import add_decontamination

    d = setup["dir"] / name
    d.mkdir()
    docs = [{"id": f"{name}-f{j}", "text": FILLER * 2} for j in range(3)]
    docs += [{"id": f"{name}-leak{i}", "text": FILLER + _question(i) + " copper wire. " + FILLER} for i in leaked]
    (d / "corpus.jsonl").write_text("".join(json.dumps(x) + "\n" for x in docs), encoding="utf-8")
    recipe = Recipe(name="keep-all", signals={}, rules=[])
    if decontaminate:
        recipe = Recipe(name="keep-all", signals=add_decontamination(recipe, setup["store"]).signals, rules=[])
    curate([d / "corpus.jsonl"], d / "run", recipe, workspace=d / "ws")
    return d / "run"


@pytest.mark.slow
def test_every_training_stage_counts_and_data_without_the_signal_is_named(setup, tiny_model, tmp_path, capsys):
    """SFT on the first curated run, then DPO on a second: an item either one kept was in front of the model.
    A third run in the lineage without the signal cannot be checked, and the report says so."""
    dpo_data = _curated_leaking(setup, "dpo_data", (2, 5))
    unchecked = _curated_leaking(setup, "unchecked", (8,), decontaminate=False)
    sft = _model_trained_on(setup["run"], tiny_model, tmp_path / "sft")
    mid = _model_trained_on(unchecked, tiny_model, tmp_path / "mid", base=sft)
    out = _eval_model_trained_on(dpo_data, setup, tiny_model, tmp_path, base=mid)
    printed = capsys.readouterr().out
    block = json.loads((out / "report.json").read_text())["contamination"]
    assert sorted(block["curated"]) == sorted([str(setup["run"].absolute()), str(dpo_data.absolute())])
    assert block["unchecked"] == [str(unchecked.absolute())]
    dirty = set(PLANTED) | {2, 5}  # item 8 sits in the unchecked run: the split cannot see it
    s = block["benchmarks"]["arc_easy"]
    assert (s["contaminated"]["n"], s["clean"]["n"]) == (len(dirty), N - len(dirty))
    vals = _samples(out)
    assert s["contaminated"]["value"] == pytest.approx(sum(vals[i] for i in dirty) / len(dirty))
    assert f"{unchecked} in the model's training data has no decontamination signal" in printed
    assert "not checked (no decontamination signal)" in printed
    man = json.loads((out / "manifest.json").read_text())
    assert {str(setup["run"].absolute()), str(dpo_data.absolute())} <= {p["path"] for p in man["lineage"]["parents"]}


_MMLU_QS = {("dev", 0): "Which cyclic group of integers under addition modulo seven has exactly the order asked for",
            ("dev", 1): "How many generators does the multiplicative group of a finite field with nine elements have",
            ("test", 0): "Find every value of c in the ring of integers modulo three so that the quotient is a field",
            ("test", 1): "What is the degree of the field extension got by adjoining two square roots to the rationals"}


def _mmlu_q(split: str, row: int) -> str:
    return _MMLU_QS[split, row] + "?"


MMLU_CHOICES = ["seven elements", "fourteen elements", "three elements", "one element"]


@pytest.fixture(scope="module")
def mmlu_runs(tmp_path_factory):
    """An MMLU store whose abstract_algebra dev and test files both hold rows 0 and 1 (ids `abstract_algebra-0`
    and `-1` in each), and curated runs that leak some of them:
    * `a`: one document with dev row 0, another with test row 1 (question and answer);
    * `b`: ONE document with dev row 0 (question and options: its best match) and test row 1 (with answer)."""
    from curation.pipeline import curate
    from curation.recipe import Recipe
    from tests.evaluation.conftest import mmlu_subjects, write_store

    d = tmp_path_factory.mktemp("mmlu_contam")
    store = write_store(d / "benchmarks", n=2, mmlu=False)
    for split in ("test", "dev"):
        rows = [{"question": _mmlu_q(split, i), "subject": "abstract_algebra", "choices": MMLU_CHOICES,
                 "answer": 0} for i in (0, 1)]
        rows += [{"question": f"In {s}, which {split} answer is right?", "subject": s, "choices": ["0", "1", "2", "3"],
                  "answer": 1} for s in mmlu_subjects() if s != "abstract_algebra"]
        write_jsonl(store / "mmlu" / f"{split}.jsonl", rows)
    qa = {k: _mmlu_q(*k) + " " + MMLU_CHOICES[0] + ". " for k in (("dev", 0), ("test", 1))}
    quiz = _mmlu_q("dev", 0) + " (A) " + " (B) ".join(MMLU_CHOICES) + ". "
    corpora = {"a": [FILLER + qa["dev", 0] + FILLER, FILLER + qa["test", 1] + FILLER],
               "b": [FILLER + quiz + FILLER + qa["test", 1] + FILLER]}
    recipe = Recipe(name="keep-all", signals={"decontamination": {"benchmarks_dir": str(store),
                                                                 "benchmarks": ["mmlu"]}}, rules=[])
    runs = {}
    for name, texts in corpora.items():
        docs = [{"id": f"{name}-f", "text": FILLER * 2}]
        docs += [{"id": f"{name}{i}", "text": t} for i, t in enumerate(texts)]
        (d / f"{name}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in docs), encoding="utf-8")
        curate([d / f"{name}.jsonl"], d / name, recipe, workspace=d / "ws")
        runs[name] = d / name
    return {"store": store, **runs}


def _as_curated_before_the_split_aware_refs(run: Path, to: Path) -> Path:
    """A copy of a curated run whose signal lists items as old runs did: `benchmark:item_id`, no split."""
    import shutil

    import polars as pl

    shutil.copytree(run, to)
    for f in (to / "signals" / "decontamination").glob("*.parquet"):
        df = pl.read_parquet(f)
        old = [[f"{k.split('/', 2)[0]}:{k.split('/', 2)[2]}" for k in ks] for ks in df["decontam_items"].to_list()]
        df.with_columns(pl.Series("decontam_items", old, dtype=pl.List(pl.String))).write_parquet(f)
    return to


def test_mmlu_dev_and_test_items_of_one_subject_and_row_are_told_apart(mmlu_runs, tmp_path):
    """MMLU numbers items by row within each split file: dev row 0 and test row 0 of a subject share an id. A
    document holding dev row 0 does not contaminate test row 0, for new runs and, through the signal's best
    match, for runs curated before refs named the split."""
    from evaluation.contamination import contaminated_refs, resolve_legacy

    a = contaminated_refs(mmlu_runs["a"])
    assert a.keys == {"mmlu/dev/abstract_algebra-0", "mmlu/test/abstract_algebra-1"} and not a.legacy
    old = contaminated_refs(_as_curated_before_the_split_aware_refs(mmlu_runs["a"], tmp_path / "a-old"))
    assert old.legacy and "without splits" in old.source
    exact, ambiguous = resolve_legacy(old, "mmlu", mmlu_runs["store"])
    assert exact | old.keys == {"mmlu/dev/abstract_algebra-0", "mmlu/test/abstract_algebra-1"} and not ambiguous
    # one document with dev row 0 (its best match) and test row 1: the old signal says `abstract_algebra-1` was
    # found but not in which split (dev and test both have a row 1): ambiguous, never silently clean
    old_b = contaminated_refs(_as_curated_before_the_split_aware_refs(mmlu_runs["b"], tmp_path / "b-old"))
    exact, ambiguous = resolve_legacy(old_b, "mmlu", mmlu_runs["store"])
    assert exact | old_b.keys == {"mmlu/dev/abstract_algebra-0"}
    assert ambiguous == {"mmlu/dev/abstract_algebra-1", "mmlu/test/abstract_algebra-1"}
    assert contaminated_refs(mmlu_runs["b"]).keys == {"mmlu/dev/abstract_algebra-0", "mmlu/test/abstract_algebra-1"}


@pytest.mark.slow
def test_eval_splits_mmlu_by_split_aware_items(mmlu_runs, tiny_model, tmp_path, capsys):
    """`eval run --benchmarks mmlu`: test row 1 of abstract_algebra is the one contaminated item (its doc_id is
    1 in mmlu_abstract_algebra); test row 0 shares its id with the leaked dev row 0 and stays clean. A run
    curated before refs named the split says how many items it cannot place instead of counting them."""
    from app.cli import main
    from evaluation import report as rpt
    from evaluation.contamination import contamination_block

    out = tmp_path / "rep"
    assert main(["eval", "run", "--model", str(tiny_model), "--benchmarks", "mmlu", "--data-dir",
                 str(mmlu_runs["store"]), "--contamination", str(mmlu_runs["a"]), "--out", str(out),
                 "--workspace", str(tmp_path / "ws")]) == 0
    s = json.loads((out / "report.json").read_text())["contamination"]["benchmarks"]["mmlu"]
    n_test = 57 + 1  # one row per subject, two for abstract_algebra
    f = next((out / "lm_eval").rglob("samples_mmlu_abstract_algebra_*.jsonl"))
    acc = {r["doc_id"]: float(r["acc"]) for r in map(json.loads, f.read_text().splitlines())}
    assert (s["contaminated"]["n"], s["clean"]["n"]) == (1, n_test - 1)
    assert s["contaminated"]["value"] == pytest.approx(acc[1]) and s["ambiguous"]["n"] == 0
    capsys.readouterr()
    rep = {**rpt.load_report(out), "_dir": str(out)}
    old_b = _as_curated_before_the_split_aware_refs(mmlu_runs["b"], tmp_path / "b-old")
    block = contamination_block(rep, [old_b])
    s = block["benchmarks"]["mmlu"]
    assert (s["contaminated"]["n"], s["clean"]["n"], s["ambiguous"]["n"]) == (0, n_test - 1, 1)
    from evaluation.contamination import render

    assert any("1 item(s) left out of both" in line for line in render(block))


@pytest.mark.slow
def test_a_model_trained_on_an_ablate_sample_is_split_by_the_sample(setup, mixed, tiny_model, tmp_path, capsys):
    """`ablate` trains each arm on a sample of its mix (one token budget for every arm): the model saw the
    sample's documents, not the mix's whole kept/, so only the leaked items the sample holds are contaminated."""
    import shutil

    import polars as pl

    from app.ablate import Arm, write_sample
    from app.cli import main
    from curation.lineage_record import lineage_block, stamp_fingerprint

    arm = Arm("keep-all", "keep-all.yaml", mixed["mix"], tmp_path / "samples" / "keep-all")
    write_sample(arm, budget=100, seed=3, tok_file=tiny_model / "tokenizer.json")
    in_sample = set(pl.read_parquet(arm.sample_dir / "sample.parquet")["id"].to_list())
    seen = {i for i in PLANTED if f"leak{i}" in in_sample}
    assert 0 < len(seen) < len(PLANTED)  # the sample holds some leaked documents, not all
    model = tmp_path / "trained"
    shutil.copytree(tiny_model, model)
    man = {"kind": "train-sft", "lineage": lineage_block(inputs=[tiny_model], parents=[arm.sample_dir],
                                                          command=["test"], kind="pretrain")}
    stamp_fingerprint(man, [model / "config.json"])
    (model / "manifest.json").write_text(json.dumps(man))
    out = tmp_path / "rep"
    assert main(["eval", "run", "--model", str(model), "--benchmarks", "arc_easy", "--data-dir", str(setup["store"]),
                 "--out", str(out), "--workspace", str(tmp_path / "ws")]) == 0
    block = json.loads((out / "report.json").read_text())["contamination"]
    s = block["benchmarks"]["arc_easy"]
    assert (s["contaminated"]["n"], s["clean"]["n"]) == (len(seen), N - len(seen))
    assert block["curated"] == [str(arm.sample_dir.absolute())]
    assert f"(n={len(seen)})" in capsys.readouterr().out


def test_a_repeated_id_does_not_make_an_old_runs_item_look_found_in_two_splits(mmlu_runs, tmp_path):
    """An old signal lists a ref once per split it was found in, so a ref listed twice meant dev AND test. A
    repeated id has one signal row per copy (the later copy is quarantined but scored): two copies of a dev-row-0
    leak must not read as a document listing the ref twice."""
    from curation.pipeline import curate
    from curation.recipe import Recipe
    from evaluation.contamination import contaminated_refs, resolve_legacy

    leak = FILLER + _mmlu_q("dev", 0) + " " + MMLU_CHOICES[0] + ". " + FILLER
    docs = [{"id": "f", "text": FILLER * 2}, {"id": "dup", "text": leak}, {"id": "dup", "text": leak + " again"}]
    corpus = tmp_path / "dup.jsonl"
    corpus.write_text("".join(json.dumps(x) + "\n" for x in docs), encoding="utf-8")
    recipe = Recipe(name="keep-all", signals={"decontamination": {"benchmarks_dir": str(mmlu_runs["store"]),
                                                                 "benchmarks": ["mmlu"]}}, rules=[])
    curate([corpus], tmp_path / "run", recipe, workspace=tmp_path / "ws")
    old = contaminated_refs(_as_curated_before_the_split_aware_refs(tmp_path / "run", tmp_path / "run-old"))
    exact, ambiguous = resolve_legacy(old, "mmlu", mmlu_runs["store"])
    assert exact | old.keys == {"mmlu/dev/abstract_algebra-0"} and not ambiguous


def test_an_item_listed_by_a_new_and_an_old_run_counts_once(mmlu_runs, tiny_model, tmp_path):
    """items_in_training_data: the distinct items the model's training data holds, whether a run names them with
    their split (new) or without (old, placed through its best match)."""
    from evaluation.contamination import contamination_block
    from evaluation.runner import EvalConfig, run_eval

    out = tmp_path / "rep"
    rep = run_eval(EvalConfig(model=str(tiny_model), out=out, data_dir=mmlu_runs["store"], cache_dir=tmp_path / "c",
                              benchmarks=["mmlu"], limit=1))
    old_a = _as_curated_before_the_split_aware_refs(mmlu_runs["a"], tmp_path / "a-old")
    block = contamination_block({**rep, "_dir": str(out)}, [mmlu_runs["a"], old_a])
    assert block["items_in_training_data"] == 2  # dev row 0 and test row 1, each in both runs
