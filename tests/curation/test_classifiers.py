"""fastText classifiers: data loading, training, metrics, the quality/toxicity steps, word lists, the CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from app.cli import main
from curation.classifiers import fasttext_model
from curation.classifiers.data import load_labelled, load_pair, load_texts
from curation.classifiers.fasttext_model import BinaryClassifier, TrainParams, normalise, train_binary
from curation.classifiers.jobs import stratified_split, train
from curation.classifiers.metrics import binary_metrics, roc_auc
from curation.errors import WinnowError
from curation.steps import get_step

GOOD = ("the study measured photosynthesis in algae and found that energy from sunlight drives growth "
        "researchers explain the method results and limitations of the experiment in detail").split()
BAD = ("click here buy now cheap deals free shipping best price login subscribe share comments "
       "copyright all rights reserved privacy policy cookie").split()


def _doc(rng: random.Random, words: list[str], other: list[str], n: int = 60) -> str:
    """A document mostly from `words` with some noise from `other`, in lines (newlines must be handled)."""
    ws = [rng.choice(words if rng.random() < 0.85 else other) for _ in range(n)]
    return "\n".join(" ".join(ws[i:i + 12]) for i in range(0, n, 12)).capitalize()


def _labelled(n: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = [(_doc(rng, GOOD, BAD), True) if i % 2 else (_doc(rng, BAD, GOOD), False) for i in range(n)]
    return pl.DataFrame({"text": [r[0] for r in rows], "label": [r[1] for r in rows]})


SMALL = TrainParams(dim=16, bucket=20_000, epoch=10)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "quality.bin"
    train_binary(_labelled(), out, SMALL)
    return out


# -- data loading ---------------------------------------------------------------------------------------

def test_load_jsonl_parquet_csv_agree(tmp_path: Path) -> None:
    df = pl.DataFrame({"tweet": ["a b", "c d", "e f"], "class": [0, 1, 2]})
    df.write_ndjson(tmp_path / "d.jsonl")
    df.write_parquet(tmp_path / "d.parquet")
    df.write_csv(tmp_path / "d.csv")
    for name in ("d.jsonl", "d.parquet", "d.csv"):
        got = load_labelled(tmp_path / name, "tweet", "class", ["0", "1"])
        assert got.get_column("label").to_list() == [True, True, False], name
        assert got.get_column("text").to_list() == ["a b", "c d", "e f"]


def test_load_errors_name_file_line_and_field(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": "ok", "label": 1}\n{"text": broken}\n', encoding="utf-8")
    with pytest.raises(WinnowError, match=r"bad.jsonl:2: not valid JSON"):
        load_labelled(p)
    q = tmp_path / "q.jsonl"
    q.write_text('{"body": "x", "label": 1}\n', encoding="utf-8")
    with pytest.raises(WinnowError, match=r"q.jsonl: no text field 'text'; fields are: body, label"):
        load_texts(q)
    with pytest.raises(WinnowError, match="no row has 'label' in"):
        load_labelled(q, "body", "label", ["yes"])
    with pytest.raises(WinnowError, match="data file not found"):
        load_texts(tmp_path / "missing.jsonl")
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(WinnowError, match="unknown file type"):
        load_texts(tmp_path / "x.xlsx")


def test_load_pair_and_txt(tmp_path: Path) -> None:
    (tmp_path / "pos.txt").write_text("one doc\n\nsecond doc\n", encoding="utf-8")
    pl.DataFrame({"text": ["neg"]}).write_parquet(tmp_path / "neg.parquet")
    df = load_pair([tmp_path / "pos.txt"], [tmp_path / "neg.parquet"])
    assert df.rows() == [("one doc", True), ("second doc", True), ("neg", False)]


# -- training, prediction, metrics ----------------------------------------------------------------------

def test_normalise_lowercases_and_removes_newlines() -> None:
    assert normalise(pl.Series(["A\nB\r\nÉTÉ", None])).to_list() == ["a b\r été", ""]  # \r is whitespace to fastText


def test_prediction_lines_are_the_normalised_text_encoded() -> None:
    from curation.classifiers.fasttext_model import prediction_lines

    texts = pl.Series(["A\nB\r\nÉTÉ", None, "", "\n\nΣΊΣΥΦΟΣ ŞEHİR\n", "plain ascii text"] * 3)
    expected = [(t + "\n").encode() for t in normalise(texts).to_list()]
    assert prediction_lines(texts) == expected
    assert prediction_lines(texts.slice(4, 6)) == expected[4:10]  # a slice of a column (Arrow offset)


def test_trained_model_separates_held_out_data(tmp_path: Path) -> None:
    res = train("quality", _labelled(400, seed=1), tmp_path / "m.bin", SMALL, holdout=0.25, seed=3)
    h = res["holdout"]
    assert h["n"] == 100 and h["positives"] == 50
    assert h["f1"] > 0.9 and h["roc_auc"] > 0.95
    assert res["size_bytes"] < 5_000_000  # small defaults: no 800 MB model
    held = pl.read_ndjson(res["holdout_file"])
    assert held.height == 100 and set(held.columns) == {"text", "label"}


def test_stratified_split_is_reproducible() -> None:
    df = _labelled(100)
    a1, b1 = stratified_split(df, 0.2, seed=5)
    a2, b2 = stratified_split(df, 0.2, seed=5)
    assert b1.equals(b2) and a1.height == 80 and int(b1.get_column("label").sum()) == 10


def test_one_class_and_nan_are_clear_errors(tmp_path: Path) -> None:
    df = pl.DataFrame({"text": ["a", "b"], "label": [True, True]})
    with pytest.raises(WinnowError, match="both classes"):
        train_binary(df, tmp_path / "x.bin", SMALL)
    tiny = pl.DataFrame({"text": ["good text here", "bad text there"] * 2, "label": [True, False] * 2})
    with pytest.raises(WinnowError, match="Encountered NaN.*lower --lr"):
        train_binary(tiny, tmp_path / "x.bin", TrainParams(lr=1e30, bucket=1000, min_count=1))
    assert not (tmp_path / "x.bin").exists()


@pytest.mark.parametrize("poison", ["nan_weights", "huge_weights"])
def test_divergence_fasttext_did_not_notice_is_the_same_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poison: str) -> None:
    """Under load fastText's Hogwild threads can finish a diverged run without raising "Encountered NaN":
    the run is real, its weights are then set to what such a run leaves (NaN, or finite but so large that
    every prediction is NaN). It must be the same error, retried, and leave nothing at `out`."""
    real_train = fasttext_model.train_supervised
    calls: list[int] = []

    def diverged(input_path: str, **kwargs: object) -> object:
        model = real_train(input_path, **kwargs)
        calls.append(1)
        wi, wo = model.get_input_matrix().copy(), model.get_output_matrix().copy()
        if poison == "nan_weights":
            wi[0, 0] = np.nan
        else:
            wi[:], wo[:] = 1e30, 1e30
        model.set_matrices(wi, wo)
        return model

    monkeypatch.setattr(fasttext_model, "train_supervised", diverged)
    tiny = pl.DataFrame({"text": ["good text here", "bad text there"] * 4, "label": [True, False] * 4})
    out = tmp_path / "m" / "x.bin"
    out.parent.mkdir()
    out.write_bytes(b"the model of an earlier run")
    with pytest.raises(WinnowError, match="Encountered NaN.*lower --lr") as err:
        train_binary(tiny, out, TrainParams(bucket=1000, min_count=1))
    # it retried, and the message says how many attempts diverged
    assert len(calls) > 1 and f"diverged (Encountered NaN) {len(calls)} times" in str(err.value)
    assert out.read_bytes() == b"the model of an earlier run"  # the old model is neither replaced nor cut
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.bin"]  # no half-written temp file


def test_a_divergence_fasttext_did_not_notice_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_train = fasttext_model.train_supervised
    calls: list[int] = []

    def first_diverges(input_path: str, **kwargs: object) -> object:
        model = real_train(input_path, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            wi = model.get_input_matrix().copy()
            wi[:] = np.inf
            model.set_matrices(wi, model.get_output_matrix())
        return model

    monkeypatch.setattr(fasttext_model, "train_supervised", first_diverges)
    out = tmp_path / "x.bin"
    train_binary(_labelled(60), out, SMALL)
    assert len(calls) == 2
    clf = BinaryClassifier(out)
    assert np.isfinite(clf.model.get_input_matrix()).all()
    assert np.isfinite(clf.predict_proba(["the study measured algae"])).all()


def test_predict_proba_matches_bare_fasttext(model_path: Path) -> None:
    clf = BinaryClassifier(model_path)
    texts = _labelled(50, seed=9).get_column("text")
    prob = clf.predict_proba(texts)
    labels, probs = clf.model.predict(normalise(texts).to_list(), k=2)
    bare = np.array([p[list(lab).index("__label__pos")] for lab, p in zip(labels, probs, strict=True)])
    np.testing.assert_allclose(prob, bare, atol=1e-4)  # fastText adds 1e-5 inside its log


def test_metrics_match_sklearn() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    p = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1).round(2)  # rounded: ties exercise the AUC
    m = binary_metrics(y, p, 0.5)
    pred = p >= 0.5
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(sk.precision_score(y, pred))
    assert m["recall"] == pytest.approx(sk.recall_score(y, pred))
    assert m["f1"] == pytest.approx(sk.f1_score(y, pred))
    assert m["roc_auc"] == pytest.approx(sk.roc_auc_score(y, p))
    assert roc_auc(np.ones(3, bool), np.zeros(3)) is None


# -- steps ----------------------------------------------------------------------------------------------

def test_quality_step_scores_batch_and_describes_model(model_path: Path) -> None:
    cls = get_step("quality_classifier")
    step = cls(cls.Config(), context={"models_dir": model_path.parent})
    assert step.skip_reason() is None
    df = _labelled(40, seed=4)
    batch = df.select(pl.format("d{}", pl.int_range(pl.len())).alias("id"), "text",
                      pl.int_range(pl.len()).alias("order"))
    out = step.score(batch)
    assert out.columns == ["id", "quality_prob"] and out.get_column("id").equals(batch.get_column("id"))
    prob = out.get_column("quality_prob").to_numpy()
    assert ((prob >= 0) & (prob <= 1)).all()
    assert binary_metrics(df.get_column("label").to_numpy(), prob)["accuracy"] > 0.9
    d = step.describe()
    assert d["model"] == str(model_path) and len(d["sha256"]) == 64


def test_missing_model_names_the_train_command(tmp_path: Path) -> None:
    # with no model configured both fall back to a model Winnow ships (test_quality_step_falls_back_to_the_
    # shipped_model, tests/guardrails/test_toxicity.py); a configured model that is missing is skipped
    cls = get_step("quality_classifier")
    step = cls(cls.Config(model=str(tmp_path / "quality.bin")), context={"models_dir": tmp_path})
    reason = step.skip_reason()
    assert reason and str(tmp_path / "quality.bin") in reason
    assert "winnow classifier train quality" in reason
    tox = get_step("toxicity")
    missing = tmp_path / "none.bin"
    reason = tox(tox.Config(model=str(missing))).skip_reason()
    assert reason and str(missing) in reason and "winnow classifier train toxicity" in reason


def test_toxicity_step_uses_configured_model(model_path: Path) -> None:
    cls = get_step("toxicity")
    step = cls(cls.Config(model=str(model_path)))
    out = step.score(pl.DataFrame({"id": ["a"], "text": ["click here buy now cheap deals"], "order": [0]}))
    assert out.columns == ["id", "toxicity_prob"] and out.item(0, 1) < 0.5


def test_toxic_words_counts_whole_words_and_phrases(tmp_path: Path) -> None:
    wl = tmp_path / "words.txt"
    wl.write_text("# a comment\nass\nball gag\nf*ck\n\nASS\n", encoding="utf-8")
    cls = get_step("toxic_words")
    step = cls(cls.Config(wordlist=str(wl)))
    batch = pl.DataFrame({"id": ["a", "b", "c", "d"], "order": [0, 1, 2, 3],
                          "text": ["Ass! a BALL\n gag here, f*ck", "classic assassin bass", "", None]})
    out = step.score(batch)
    assert out.get_column("toxic_words").to_list() == [3, 0, 0, 0]
    assert out.get_column("toxic_word_share").to_list()[0] == pytest.approx(3 / 7)
    assert cls(cls.Config()).skip_reason() is not None
    with pytest.raises(WinnowError, match="word list not found"):  # a path given is meant: not a skip
        cls(cls.Config(wordlist=str(tmp_path / "no.txt"))).skip_reason()
    assert len(step.describe()["sha256"]) == 64


@pytest.mark.parametrize("case", ["missing", "not UTF-8"])
def test_a_given_word_list_that_cannot_be_read_is_an_error_before_any_work(tmp_path: Path, case: str) -> None:
    """`signals.toxic_words.wordlist` naming a missing file only printed 'note: skipping' and exited 0 (the step
    is optional in the default recipe); a file that is not UTF-8 failed in the scoring worker after the run
    folder was started, behind a traceback. Both are one error now, before run.json is written."""
    from curation.pipeline import curate
    from curation.recipe import Recipe

    wl = tmp_path / "words.txt"
    if case == "not UTF-8":
        wl.write_bytes(b"ass\ncaf\xe9\n")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "some plain words here"}\n', encoding="utf-8")
    rec = Recipe(name="t", signals={"toxic_words": {"wordlist": str(wl)}}, optional=["toxic_words"], rules=[])
    message = "word list not found" if case == "missing" else r"words\.txt:2: not valid UTF-8 \(byte 0xe9 at column 4\)"
    with pytest.raises(WinnowError, match=message):
        curate([corpus], tmp_path / "run", rec, workspace=tmp_path / "ws")
    assert not (tmp_path / "run" / "run.json").exists()


# -- CLI ------------------------------------------------------------------------------------------------

def test_cli_train_and_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = _labelled(300, seed=2)
    csv = tmp_path / "tox.csv"
    # labels as a 3-class column, like Davidson's (0 hate, 1 offensive, 2 neither)
    df.select(pl.col("text").alias("tweet"),
              pl.when(pl.col("label")).then(pl.int_range(pl.len()) % 2).otherwise(2).alias("class")
              ).write_csv(csv)
    ws = tmp_path / "ws"
    rc = main(["classifier", "train", "toxicity", "--data", str(csv), "--text-field", "tweet", "--label-field",
               "class", "--positive-labels", "0,1", "--holdout", "0.2", "--dim", "16", "--bucket", "20000",
               "--workspace", str(ws), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    model = ws / "models" / "toxicity.bin"
    assert res["model"] == str(model) and model.is_file() and res["holdout"]["f1"] > 0.9
    rc = main(["classifier", "eval", str(model), "--data", res["holdout_file"], "--json", "--workspace", str(ws)])
    assert rc == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["f1"] == pytest.approx(res["holdout"]["f1"]) and ev["n"] == 60
    rc = main(["classifier", "train", "quality", "--workspace", str(ws)])
    assert rc == 2 and "give --positive" in capsys.readouterr().err


def test_curate_uses_workspace_model_or_skips_it(model_path: Path, tmp_path: Path) -> None:
    """Through the real pipeline: a missing model is skipped (optional) with the train command named;
    a model in <workspace>/models is used and its checksum goes into the manifest."""
    import shutil

    from curation.pipeline import curate
    from curation.recipe import parse_recipe

    corpus = tmp_path / "c.jsonl"
    df = _labelled(20, seed=6).with_columns(pl.format("d{}", pl.int_range(pl.len())).alias("id"))
    df.select("id", "text").write_ndjson(corpus)
    ws = tmp_path / "ws"
    rules = [{"name": "quality", "signal": "quality_classifier", "column": "quality_prob", "min": 0.5}]
    missing = {"name": "t", "signals": {"quality_classifier": {"model": str(ws / "models" / "quality.bin")}},
               "optional": ["quality_classifier"], "rules": rules}
    m = curate([corpus], tmp_path / "run1", parse_recipe(missing), workspace=ws)
    assert "winnow classifier train quality" in m["skipped_signals"]["quality_classifier"]
    assert m["kept"] == 20
    (ws / "models").mkdir(parents=True, exist_ok=True)
    shutil.copy(model_path, ws / "models" / "quality.bin")
    recipe = {"name": "t", "signals": {"quality_classifier": {}}, "optional": ["quality_classifier"], "rules": rules}
    m = curate([corpus], tmp_path / "run2", parse_recipe(recipe), workspace=ws)
    low = int((BinaryClassifier(model_path).predict_proba(df.get_column("text")) < 0.5).sum())
    assert 8 <= low <= 12  # about the 10 low-quality documents
    assert m["steps"]["quality_classifier"]["model"] == str(ws / "models" / "quality.bin")  # not the shipped one
    assert m["steps"]["quality_classifier"]["sha256"] and m["removed"] == low


# -- the shipped quality model --------------------------------------------------------------------------

def _expected_shapes(text: str) -> str:
    """Line-shape tokens written out per line in plain Python (the module does it column-wise)."""
    import math

    toks = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        b = min(int(math.log2(max(len(line.split()), 1))), 6)
        toks.append(f"_l{b}{'p' if line[-1] in '.!?' + chr(34) + chr(39) + '”’)' else 'n'}_")
    w = int(math.log2(max(len(text.split()), 1)))
    return f"_w{w}_ _w{w}_ {' '.join(toks)} {text}"


def test_line_shapes_token_per_line_then_text() -> None:
    from curation.classifiers.line_shapes import with_line_shapes

    texts = ["Home\nAbout us\nContact", "One sentence here. Another one “quoted.”\n\n  \nshort",
             "word " * 200 + "end.", "", None, "A\r\nB?"]
    got = with_line_shapes(pl.Series("text", texts)).to_list()
    assert got == [_expected_shapes(t or "") for t in texts]
    assert got[0].startswith("_w2_ _w2_ _l0n_ _l1n_ _l0n_ Home")  # 4 words; three short unended lines


def _fixture_data_dir(root: Path) -> tuple[Path, Path, list[str]]:
    """A folder laid out like the shared data: DCLM majority/agreement files, a C4 sample and its labels."""
    import hashlib

    rng = random.Random(11)
    docs = [(_doc(rng, GOOD, BAD, 80), 1) if i % 2 else ("\n".join(rng.sample(BAD, 6)) + "\nmenu", 0)
            for i in range(60)]
    shared = [d for d in docs[:10]]
    web = root / "webtext"
    web.mkdir(parents=True)
    (web / "dclm_quality_agreement.jsonl").write_text(
        "".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in shared + docs[50:]), encoding="utf-8")
    (web / "dclm_quality_majority.jsonl").write_text(
        "".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in docs[:40]), encoding="utf-8")
    c4 = docs[40:50]
    unlabelled = [_doc(rng, GOOD, BAD, 80) if i % 3 else "\n".join(rng.sample(BAD, 6)) for i in range(10)]
    (web / "c4_demo.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in [t for t, _ in c4] + unlabelled),
                                       encoding="utf-8")
    labels = root / "c4_100.jsonl"
    labels.write_text("".join(json.dumps({"id": f"c4_demo-{i}", "line": i + 1, "label": lab,
                                          "text_sha256_16": hashlib.sha256(t.encode()).hexdigest()[:16]}) + "\n"
                              for i, (t, lab) in enumerate(c4)), encoding="utf-8")
    return root, labels, [t for t, _ in shared]


def test_quality_training_data_leaves_out_the_agreement_documents(tmp_path: Path) -> None:
    from curation.classifiers.quality_model import training_data

    data, labels, shared = _fixture_data_dir(tmp_path)
    df, files = training_data(data, labels)
    assert df.height == 30 + 10  # 40 majority rows, 10 of them also in the agreement file; 10 C4 rows
    assert not set(shared) & set(df.get_column("text").to_list())
    assert [f["use"].split(" ")[0] for f in files] == ["training", "training", "training", "reference", "evaluation"]
    assert files[3]["rows"] == 10  # the C4 documents nobody labelled: the cut's reference, never trained on
    lines = labels.read_text(encoding="utf-8").splitlines()
    labels.write_text("\n".join([lines[0].replace('"line": 1', '"line": 2'), *lines[1:]]), encoding="utf-8")
    with pytest.raises(WinnowError, match="c4_demo-0 does not match line 2"):
        training_data(data, labels)


def test_quality_build_writes_small_model_card_and_step_reads_it(tmp_path: Path) -> None:
    from curation.classifiers.quality_linear import LinearQualityModel
    from curation.classifiers.quality_model import build

    data, labels, _ = _fixture_data_dir(tmp_path / "data")
    with pytest.raises(WinnowError, match="saved as .npz"):
        build(data, tmp_path / "models" / "quality.bin", labels)
    out = tmp_path / "models" / "quality.npz"
    card = build(data, out, labels)
    saved = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert saved["sha256"] == card["sha256"] and len(saved["sha256"]) == 64 and saved["size_bytes"] < 1_000_000
    assert saved["features"] == "line_shapes+text" and saved["format"] == "tfidf_logreg"
    assert saved["rows"]["train"] == 40
    assert saved["scores"]["heldout_agreement"]["n"] == 20 and saved["scores"]["cv_training_split"]["n"] == 40
    assert "python -m curation.classifiers.quality_model" in out.with_suffix(".md").read_text(encoding="utf-8")
    # the card's cut removes its share of the 10 unlabelled C4 documents (2 of 10 at the shipped 20%)
    assert saved["cut"]["reference_docs"] == 10 and saved["cut"]["quantile"] == 0.2
    reference = pl.Series("text", [json.loads(line)["text"] for line in
                                   (data / "webtext" / "c4_demo.jsonl").read_text(encoding="utf-8").splitlines()[10:]])
    below = int((LinearQualityModel.load(out).predict_proba(reference) < saved["cut"]["quality_prob_min"]).sum())
    assert 1 <= below <= 3, below
    # the step reads the .npz as the linear model it is
    cls = get_step("quality_classifier")
    step = cls(cls.Config(model=str(out)))
    texts = pl.Series("text", [_doc(random.Random(i), GOOD, BAD) for i in range(5)] + ["Home\nLogin\nCart"])
    got = step.score(pl.DataFrame({"id": [str(i) for i in range(6)], "text": texts, "order": list(range(6))}))
    want = LinearQualityModel.load(out).predict_proba(texts)
    np.testing.assert_allclose(got.get_column("quality_prob").to_numpy(), want)
    assert got.get_column("quality_prob")[5] < got.get_column("quality_prob")[:5].min()


def test_quality_step_falls_back_to_the_shipped_model(tmp_path: Path) -> None:
    from curation.classifiers.fasttext_model import file_sha256
    from curation.classifiers.quality_model import shipped_model_path

    shipped = shipped_model_path()
    card = json.loads(shipped.with_suffix(".json").read_text(encoding="utf-8"))
    assert file_sha256(shipped) == card["sha256"] and shipped.stat().st_size < 1_000_000  # the card is current
    cls = get_step("quality_classifier")
    step = cls(cls.Config(), context={"models_dir": tmp_path})  # an empty workspace
    assert step.skip_reason() is None and step.describe()["sha256"] == card["sha256"]
    prose = ("The council met on Tuesday to discuss the new library. Residents said the building was too small, "
             "and the mayor agreed that the plans should change before the vote next month. The architects will "
             "present two designs: one keeps the old reading room, the other adds a garden by the river. ") * 3
    menu = "\n".join(["Home", "Products", "Cart (0)", "Login", "Sign up", "Privacy", "Terms", "Sitemap",
                      "Follow us on Facebook", "© 2014 All rights reserved"])
    out = step.score(pl.DataFrame({"id": ["prose", "menu"], "text": [prose, menu], "order": [0, 1]}))
    p = dict(out.iter_rows())
    assert p["prose"] > p["menu"]


def test_toxicity_step_prefers_curations_word_level_model(tmp_path: Path) -> None:
    """With no recipe or workspace model the step reads curation/models/toxicity.bin, a model without
    character n-grams (those cost ~4x on documents), whose card names the command and scores it."""
    from curation.classifiers.fasttext_model import file_sha256
    from curation.steps.toxicity import curation_toxicity_model

    cls = get_step("toxicity")
    step = cls(cls.Config(), context={"models_dir": tmp_path})  # an empty workspace
    path = step.model_path()
    assert path == curation_toxicity_model() and path.parent.name == "models" and path.parent.parent.name == "curation"
    card = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["sha256"] == file_sha256(path) and path.stat().st_size < 1_000_000  # the card is current
    assert "--minn 0 --maxn 0 --word-ngrams 1" in card["command"] and card["scores"]["heldout"]["f1"] > 0.9
    args = BinaryClassifier(path).model.f.getArgs()
    assert (args.minn, args.maxn, args.wordNgrams) == (0, 0, 1)
    out = step.score(pl.DataFrame({"id": ["a", "b"], "text": ["you stupid fucking bitch", "lovely weather today"],
                                   "order": [0, 1]}))
    probs = out.get_column("toxicity_prob").to_list()
    assert probs[0] > 0.5 > probs[1]
    # a model in the workspace still wins
    (tmp_path / "toxicity.bin").write_bytes(path.read_bytes())
    assert cls(cls.Config(), context={"models_dir": tmp_path}).model_path() == tmp_path / "toxicity.bin"


def test_a_nan_label_is_missing_not_a_negative(tmp_path: Path) -> None:
    """A float label column's NaN (pandas' 'missing') was read as the text "nan" and counted negative."""
    path = tmp_path / "labelled.parquet"
    pl.DataFrame({"text": ["good text", "bad text", "unlabelled text"], "label": [1.0, 0.0, float("nan")]}
                 ).write_parquet(path)
    with pytest.raises(WinnowError, match=r"row 3 has no 'label' \(null or NaN\)"):
        load_labelled(path)
    pl.DataFrame({"text": ["good text", "bad text"], "label": [1.0, 0.0]}).write_parquet(path)
    assert load_labelled(path).get_column("label").to_list() == [True, False]
