"""The quality model Winnow ships (`curation/models/quality.npz`) and the command that rebuilds it.

    python -m curation.classifiers.quality_model --data-dir ../shared/data

Why it looks like this:

* Trained on human labels only, from the sets issue 11 reserves for tuning: DCLM's majority-vote set minus
  every document that is also in DCLM's agreement set (that one is the held-out measure: it is read once,
  after training, to score the shipped model, never to choose anything), plus our 100 labelled C4
  documents (`docs/labels/c4_100.jsonl`, checked against the text by hash).
* 318 documents are few. The model is a logistic regression over TF-IDF of hashed word and line-shape
  n-grams (`quality_linear.py`; line shapes: `line_shapes.py`), 117 KB. Cross-validated on the training split
  (5 folds, fold seeds 0-2) it ranks documents at ROC-AUC 0.742 / 0.736 / 0.752 against 0.748 / 0.705 / 0.748
  for the fastText model that shipped before (`PARAMS`, still here for the comparison in
  `bench/curation_quality.py --only tune`), and at the same loss of high-quality tuning documents it
  removes more low ones (docs/benchmarks/quality.md).
* The recipe's cut (`quality_prob >= ...`, curation/recipes/models.yaml) is a quantile of the shipped model's
  scores on unlabelled reference documents (the C4 sample documents we did not label; never trained on), not a
  probability chosen on cross-validation models: a TF-IDF logistic regression trained on all the tuning
  documents scores differently from the ones trained on 4/5 of them that CV chooses on, and a share of a fixed
  reference set moves with the model. In nested CV on the tuning split (the cut chosen on inner folds, applied
  to a model trained on the whole outer training part) the quantile cut removed 39.8% of the low documents
  against 37.2% for the same choice as a fixed probability, within the same high-quality losses
  (docs/benchmarks/quality.md, round 5; `bench/curation_quality.py --only tune` chooses CUT_QUANTILE).
* The card beside the model (`quality.json`, `quality.md`) records the command, each data file with its
  sha256, the parameters, the cut, the 5-fold cross-validated scores on the training split and the held-out
  scores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.classifiers import quality_linear
from curation.classifiers.fasttext_model import BinaryClassifier, TrainParams, file_sha256, train_binary
from curation.classifiers.line_shapes import FEATURES, with_line_shapes
from curation.classifiers.metrics import binary_metrics, roc_auc
from curation.errors import WinnowError

MAX_MODEL_BYTES = 1_000_000
# the fastText model that shipped before the linear one (compared in `bench/curation_quality.py --only tune`)
PARAMS = TrainParams(dim=16, word_ngrams=2, bucket=30_000, epoch=25, lr=0.3, min_count=1, quantize=True,
                     quantize_retrain=False, seed=0)
MAJORITY = "webtext/dclm_quality_majority.jsonl"
AGREEMENT = "webtext/dclm_quality_agreement.jsonl"  # held out: evaluation only
C4 = "webtext/c4_demo.jsonl"
FOLDS = 5
# the cut: share of the reference documents (C4 sample documents not in docs/labels/c4_100.jsonl) the quality
# rule would remove; chosen by `bench/curation_quality.py --only tune` (round 5: 5-fold CV, fold seeds 0-2)
CUT_QUANTILE = 0.2


def shipped_model_path() -> Path:
    return Path(__file__).resolve().parents[1] / "models" / "quality.npz"


def default_c4_labels() -> Path:
    return Path(__file__).resolve().parents[2] / "docs" / "labels" / "c4_100.jsonl"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise WinnowError(f"{path} not found: pass --data-dir pointing at the shared data folder")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def training_data(data_dir: Path, c4_labels: Path) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """(`text, label, source` frame, file records): majority minus agreement, then the labelled C4 documents."""
    agree = {r["text"] for r in _read_jsonl(data_dir / AGREEMENT)}
    major = [r for r in _read_jsonl(data_dir / MAJORITY) if r["text"] not in agree]
    c4 = _read_jsonl(data_dir / C4)
    labels = _read_jsonl(c4_labels)
    c4_rows = []
    for lab in labels:
        text = c4[lab["line"] - 1]["text"]
        if hashlib.sha256(text.encode()).hexdigest()[:16] != lab["text_sha256_16"]:
            raise WinnowError(f"{c4_labels}: {lab['id']} does not match line {lab['line']} of {data_dir / C4}")
        c4_rows.append({"text": text, "label": int(lab["label"]) == 1, "source": "c4_100"})
    rows = [{"text": r["text"], "label": int(r["label"]) == 1, "source": "dclm_majority"} for r in major] + c4_rows
    files = [{"path": MAJORITY, "sha256": file_sha256(data_dir / MAJORITY), "rows": len(major),
              "use": "training (minus the documents also in the agreement file)"},
             {"path": C4, "sha256": file_sha256(data_dir / C4), "rows": len(c4_rows), "use": "training (texts)"},
             {"path": "docs/labels/c4_100.jsonl", "sha256": file_sha256(c4_labels), "rows": len(labels),
              "use": "training (labels)"},
             {"path": C4, "sha256": file_sha256(data_dir / C4), "rows": len(c4) - len({lab["line"] for lab in labels}),
              "use": "reference for the cut (the documents not labelled; scored, never trained on)"},
             {"path": AGREEMENT, "sha256": file_sha256(data_dir / AGREEMENT), "rows": len(agree),
              "use": "evaluation only (held out)"}]
    return pl.DataFrame(rows, schema={"text": pl.String, "label": pl.Boolean, "source": pl.String}), files


def reference_texts(data_dir: Path, c4_labels: Path) -> pl.Series:
    """The cut's reference documents: the C4 sample documents that are not labelled (so never trained on)."""
    labelled = {int(r["line"]) for r in _read_jsonl(c4_labels)}
    return pl.Series("text", [r["text"] for i, r in enumerate(_read_jsonl(data_dir / C4), start=1)
                              if i not in labelled])


def reference_cut(reference_scores: np.ndarray, quantile: float) -> float:
    """The `quality_prob` below which a rule removes `quantile` of the reference documents (rounded to 0.001,
    as the recipe writes it)."""
    if not 0.0 <= quantile < 1.0 or len(reference_scores) == 0:
        raise WinnowError(f"the cut's quantile must be in [0, 1) over a non-empty reference set, got {quantile}")
    return round(float(np.quantile(np.asarray(reference_scores, dtype=np.float64), quantile)), 3)


def reference_rank(reference_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Share of the reference documents scoring at or below each score (the scale CUT_QUANTILE lives on)."""
    ref = np.sort(np.asarray(reference_scores, dtype=np.float64))
    return np.searchsorted(ref, scores, side="right") / len(ref)


def _fit(df: pl.DataFrame, out: Path, params: TrainParams) -> BinaryClassifier:
    train_binary(pl.DataFrame({"text": with_line_shapes(df.get_column("text")), "label": df.get_column("label")}),
                 out, params)
    return BinaryClassifier(out)


def predict(clf: BinaryClassifier, texts: pl.Series) -> np.ndarray:
    return clf.predict_proba(with_line_shapes(texts))


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number of each row, each class spread evenly over the k folds."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=int)
    for cls in (True, False):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        fold[idx] = np.arange(len(idx)) % k
    return fold


def cross_validate_linear(df: pl.DataFrame, k: int = FOLDS, seed: int = 0,
                          reference: pl.Series | None = None, share: float = 1.0) -> np.ndarray:
    """Out-of-fold P(high) of the shipped (linear) model's recipe, same folds as `cross_validate`; with
    `reference`, each row's `reference_rank` under its fold's model instead (the scale of the cut). With
    `share` < 1 each fold's model trains on that share of its training part, each class alike: the first rows
    of one fixed order per fold and class, so a smaller share's rows are among a larger one's (a learning curve
    whose points differ only in how much was seen)."""
    y = df.get_column("label").to_numpy()
    fold = stratified_folds(y, k, seed)
    prob = np.zeros(df.height, dtype=np.float64)
    texts = df.get_column("text")
    rng = np.random.default_rng(1000 + seed)
    for i in range(k):
        train = np.flatnonzero(fold != i)
        if share < 1.0:
            train = np.sort(np.concatenate([rng.permutation(part)[:round(share * len(part))]
                                            for part in (train[y[train]], train[~y[train]])]))
        m = quality_linear.LinearQualityModel.fit(texts[train], y[train])
        prob[fold == i] = m.predict_proba(texts.filter(pl.Series(fold == i)))
        if reference is not None:
            prob[fold == i] = reference_rank(m.predict_proba(reference), prob[fold == i])
    return prob


def cross_validate(df: pl.DataFrame, params: TrainParams, k: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Out-of-fold P(high) of a fastText recipe for every row: each fold scored by a model trained the same way
    on the others."""
    y = df.get_column("label").to_numpy()
    fold = stratified_folds(y, k, seed)
    prob = np.zeros(df.height, dtype=np.float64)
    with tempfile.TemporaryDirectory(prefix="winnow-quality-cv-") as tmp:
        for i in range(k):
            clf = _fit(df.filter(pl.Series(fold != i)), Path(tmp) / f"fold{i}.bin", params)
            prob[fold == i] = predict(clf, df.filter(pl.Series(fold == i)).get_column("text"))
    return prob


THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55)


def _scores(y: np.ndarray, prob: np.ndarray) -> dict[str, Any]:
    """ROC-AUC, and per threshold the share of each class below it (what a `min` rule there removes)."""
    low, high = ~y.astype(bool), y.astype(bool)
    return {"n": int(len(y)), "high": int(high.sum()), "roc_auc": round(roc_auc(y, prob) or 0.0, 4),
            "accuracy@0.5": round(float(binary_metrics(y, prob)["accuracy"]), 4),
            "below": {str(t): {"low": round(float((prob[low] < t).mean()), 4),
                               "high": round(float((prob[high] < t).mean()), 4)} for t in THRESHOLDS}}


def build(data_dir: str | Path, out: str | Path | None = None, c4_labels: str | Path | None = None,
          command: str | None = None) -> dict[str, Any]:
    """Cross-validate on the training split, train the shipped model on all of it, score it on the held-out
    agreement set, write the model and its card; returns the card's data."""
    data_dir = Path(data_dir).expanduser()
    out = Path(out) if out else shipped_model_path()
    if out.suffix != ".npz":
        raise WinnowError(f"{out}: the quality model is saved as .npz (the quality_classifier step reads a .npz "
                          "model as a linear quality model, anything else as fastText)")
    c4_labels = Path(c4_labels) if c4_labels else default_c4_labels()
    df, files = training_data(data_dir, c4_labels)
    y = df.get_column("label").to_numpy()
    oof = cross_validate_linear(df)
    scores: dict[str, Any] = {"cv_training_split": _scores(y, oof)}
    for src in ("dclm_majority", "c4_100"):
        m = (df.get_column("source") == src).to_numpy()
        scores[f"cv_{src}"] = _scores(y[m], oof[m])
    out.parent.mkdir(parents=True, exist_ok=True)
    model = quality_linear.LinearQualityModel.fit(df.get_column("text"), y)
    model.save(out)
    reference = reference_texts(data_dir, c4_labels)
    cut = {"reference": f"{C4} documents not in docs/labels/c4_100.jsonl", "reference_docs": len(reference),
           "quantile": CUT_QUANTILE,
           "quality_prob_min": reference_cut(model.predict_proba(reference), CUT_QUANTILE)}
    agree = _read_jsonl(data_dir / AGREEMENT)
    ay = np.array([int(r["label"]) == 1 for r in agree])
    scores["heldout_agreement"] = _scores(ay, model.predict_proba(pl.Series("text", [r["text"] for r in agree])))
    size = out.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise WinnowError(f"{out} is {size} bytes, over the {MAX_MODEL_BYTES} shipped-model limit")
    params = {"model": "logistic regression over sublinear TF-IDF", "ngrams": list(quality_linear.NGRAMS),
              "min_df": quality_linear.MIN_DF, "C": quality_linear.C, "hash_slots": quality_linear.N_FEATURES,
              "vocabulary": int(len(model.slots))}
    card = {"kind": "quality", "model": out.name, "format": "tfidf_logreg", "features": FEATURES,
            "sha256": file_sha256(out), "size_bytes": size, "command": command or
            f"python -m curation.classifiers.quality_model --data-dir {data_dir}",
            "trained": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": platform.platform(),
            "rows": {"train": df.height, "train_high": int(y.sum())},
            "params": params, "cut": cut, "files": files, "scores": scores}
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(card_markdown(card), encoding="utf-8")
    return card


def card_markdown(card: dict[str, Any]) -> str:
    lines = [f"# quality model card (`{card['model']}`)", "",
             "A logistic regression over TF-IDF of hashed word and line-shape n-grams "
             "(curation/classifiers/quality_linear.py), trained by Winnow on human quality labels: P(high quality) "
             "of a web document. Read by curation's `quality_classifier` step when neither the recipe nor the "
             "workspace names a model; the default recipe's `quality_classifier` rule removes a document below "
             "the `min` it sets (curation/recipes/models.yaml).", "",
             f"- Rebuild: `{card['command']}`",
             f"- Trained: {card['trained']} on {card['machine']}",
             f"- Size: {card['size_bytes']} bytes; sha256 `{card['sha256']}`",
             f"- Input: `{card['features']}` (line-shape tokens before the words: curation/classifiers/line_shapes.py)",
             f"- Rows: {card['rows']['train']} ({card['rows']['train_high']} labelled high)",
             f"- Parameters: {', '.join(f'{k}={v}' for k, v in card['params'].items())}",
             f"- Cut: `quality_prob >= {card['cut']['quality_prob_min']}` removes {card['cut']['quantile']:.0%} of "
             f"the {card['cut']['reference_docs']} reference documents ({card['cut']['reference']}; unlabelled, "
             "not trained on); the default recipe's `quality_classifier` rule uses it", "",
             "## Data", "", "| file | use | rows | sha256 |", "|---|---|---|---|"]
    lines += [f"| `{f['path']}` | {f['use']} | {f['rows']} | `{f['sha256']}` |" for f in card["files"]]
    lines += ["", "## Scores", "",
              "`cv_*`: out-of-fold scores on the training split (5 folds, each scored by a model trained the same "
              "way on the other four). `heldout_agreement`: the shipped model on DCLM's agreement set, which no "
              "choice was made on. `<t`: share of the human-low / human-high documents scored below t (what a "
              "rule `min: t` alone would remove).", "",
              "| set | n | high | ROC-AUC | " + " | ".join(f"<{t} low / high" for t in THRESHOLDS) + " |",
              "|---|---|---|---|" + "---|" * len(THRESHOLDS)]
    for name, s in card["scores"].items():
        cells = " | ".join(f"{s['below'][str(t)]['low']:.1%} / {s['below'][str(t)]['high']:.1%}" for t in THRESHOLDS)
        lines.append(f"| {name} | {s['n']} | {s['high']} | {s['roc_auc']:.3f} | {cells} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Rebuild curation/models/quality.npz and its model card.")
    ap.add_argument("--data-dir", type=Path, required=True, help="the shared data folder (with webtext/)")
    ap.add_argument("--out", type=Path, default=None, help="model path (default: the shipped one)")
    ap.add_argument("--c4-labels", type=Path, default=None, help="docs/labels/c4_100.jsonl")
    a = ap.parse_args(argv)
    try:
        card = build(a.data_dir, a.out, a.c4_labels,
                     command="python -m curation.classifiers.quality_model " + " ".join(argv or sys.argv[1:]))
    except WinnowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: card[k] for k in ("model", "size_bytes", "sha256", "scores")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
