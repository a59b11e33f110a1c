"""The train and eval jobs behind `winnow classifier train|eval` (plain functions: paths in, dicts out)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.classifiers.data import load_labelled, load_pair
from curation.classifiers.fasttext_model import BinaryClassifier, TrainParams, file_sha256, params_dict, train_binary
from curation.classifiers.metrics import binary_metrics
from curation.errors import WinnowError

KINDS = ("quality", "toxicity")


def load_training_data(positive: Sequence[str | Path] = (), negative: Sequence[str | Path] = (),
                       data: str | Path | None = None, text_field: str = "text", label_field: str = "label",
                       positive_labels: Sequence[str] = ("1",)) -> pl.DataFrame:
    """Either positive + negative files, or one labelled file; never both."""
    if data is not None and (positive or negative):
        raise WinnowError("give either --data (one labelled file) or --positive/--negative files, not both")
    if data is not None:
        return load_labelled(data, text_field, label_field, positive_labels)
    if not positive or not negative:
        raise WinnowError("give --positive FILE... and --negative FILE..., or --data FILE with --label-field "
                          "and --positive-labels")
    return load_pair(positive, negative, text_field)


def stratified_split(df: pl.DataFrame, holdout: float, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, held-out): the same fraction of each class held out, reproducibly for a seed."""
    if not 0.0 < holdout < 1.0:
        raise WinnowError(f"--holdout must be between 0 and 1 (exclusive), got {holdout}")
    rng = np.random.default_rng(seed)
    labels = df.get_column("label").to_numpy()
    test = np.zeros(df.height, dtype=bool)
    for cls in (True, False):
        idx = np.flatnonzero(labels == cls)
        k = int(round(len(idx) * holdout))
        test[rng.choice(idx, size=k, replace=False)] = True
    mask = pl.Series(test)
    return df.filter(~mask), df.filter(mask)


def train(kind: str, df: pl.DataFrame, out: str | Path, params: TrainParams | None = None,
          holdout: float | None = None, seed: int = 0) -> dict[str, Any]:
    """Train a `kind` classifier on `df` (`text, label`); with `holdout`, evaluate on a held-out split
    and write it beside the model as `<model>.holdout.jsonl` (so `classifier eval` can repeat it)."""
    if kind not in KINDS:
        raise WinnowError(f"unknown classifier kind {kind!r}; choose one of {', '.join(KINDS)}")
    params = params or TrainParams(seed=seed)
    out = Path(out)
    train_df, test_df = (df, None) if not holdout else stratified_split(df, holdout, seed)
    t0 = time.perf_counter()
    train_binary(train_df, out, params)
    result: dict[str, Any] = {
        "kind": kind, "model": str(out), "sha256": file_sha256(out), "size_bytes": out.stat().st_size,
        "train_examples": train_df.height, "train_positives": int(train_df.get_column("label").sum()),
        "seconds": round(time.perf_counter() - t0, 2), "params": params_dict(params)}
    if test_df is not None:
        hold_path = out.with_name(out.name + ".holdout.jsonl")
        test_df.with_columns(pl.col("label").cast(pl.Int8)).write_ndjson(hold_path)
        result["holdout_file"] = str(hold_path)
        result["holdout"] = evaluate_frame(out, test_df)
    meta = out.with_name(out.name + ".json")
    meta.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def evaluate_frame(model: str | Path, df: pl.DataFrame, threshold: float = 0.5) -> dict[str, Any]:
    clf = BinaryClassifier(model)
    prob = clf.predict_proba(df.get_column("text"))
    return binary_metrics(df.get_column("label").to_numpy(), prob, threshold)


def evaluate(model: str | Path, data: str | Path, text_field: str = "text", label_field: str = "label",
             positive_labels: Sequence[str] = ("1",), threshold: float = 0.5) -> dict[str, Any]:
    df = load_labelled(data, text_field, label_field, positive_labels)
    res = evaluate_frame(model, df, threshold)
    return {"model": str(model), "data": str(data), **res}
