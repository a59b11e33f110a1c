"""`winnow classifier train|eval`: fastText quality and toxicity classifiers used by curation signals."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from app.commands import groups
from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from app.registry import registered_run
from app.workspace import models_dir, open_workspace
from curation.errors import WinnowError

_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def _labels(value: str) -> list[str]:
    labels = [v.strip() for v in value.split(",") if v.strip()]
    if not labels:
        raise WinnowError("--positive-labels needs at least one value, e.g. 1 or 0,1")
    return labels


def _print_metrics(m: dict, title: str) -> None:
    typer.echo(f"{title}: {m['n']} examples, {m['positives']} positive (threshold {m['threshold']})")
    for k in _METRICS:
        v = m.get(k)
        typer.echo(f"  {k:<10} {'n/a (one class only)' if v is None else f'{v:.4f}'}")


@groups.classifier.command("train")
def train_cmd(
    kind: str = typer.Argument(..., help="What the classifier scores: quality or toxicity."),
    positive: list[Path] = typer.Option([], "--positive", help="File(s) of positive examples (high quality / toxic)."),
    negative: list[Path] = typer.Option([], "--negative", help="File(s) of negative examples (web text / clean)."),
    data: Path = typer.Option(None, "--data", help="One labelled file (JSONL, Parquet, CSV) instead."),
    text_field: str = typer.Option("text", "--text-field", help="Field holding the text."),
    label_field: str = typer.Option("label", "--label-field", help="Field holding the label (with --data)."),
    positive_labels: str = typer.Option("1", "--positive-labels", help="Label values that are positive, e.g. 0,1."),
    out: Path = typer.Option(None, "--out", "-o", help="Model file to write (default <workspace>/models/KIND.bin)."),
    holdout: float = typer.Option(0.0, "--holdout", help="Fraction held out (stratified) and evaluated; 0 = none."),
    dim: int = typer.Option(32, help="Embedding size (small keeps the model small)."),
    bucket: int = typer.Option(200_000, help="Hash buckets for word n-grams (fastText's 2M writes ~800 MB)."),
    word_ngrams: int = typer.Option(2, "--word-ngrams", help="Longest word n-gram used as a feature."),
    epoch: int = typer.Option(10, help="Training epochs."),
    lr: float = typer.Option(0.1, help="Learning rate (lower it if training diverges with NaN)."),
    min_count: int = typer.Option(2, "--min-count", help="Ignore words seen fewer times than this."),
    quantize: bool = typer.Option(False, "--quantize", help="Quantize the model (about 1 MB, slightly less accurate)."),
    threads: int = typer.Option(1, help="Training threads (fastText 0.9.2 needs 10 to initialise; fewer become 10)."),
    seed: int = typer.Option(0, help="Seed for shuffling, the held-out split and fastText."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Train a fastText classifier (DCLM recipe for quality: reference text vs random web text)."""
    from curation.classifiers.fasttext_model import TrainParams
    from curation.classifiers.jobs import KINDS, load_training_data, train

    if kind not in KINDS:
        raise WinnowError(f"unknown classifier kind {kind!r}; choose one of {', '.join(KINDS)}")
    ws = open_workspace(workspace)
    out = out or models_dir(ws) / f"{kind}.bin"
    params = TrainParams(dim=dim, bucket=bucket, word_ngrams=word_ngrams, epoch=epoch, lr=lr, min_count=min_count,
                         quantize=quantize, threads=threads, seed=seed)
    config = {"kind": kind, "positive": [str(p) for p in positive], "negative": [str(p) for p in negative],
              "data": str(data) if data else None, "text_field": text_field, "label_field": label_field,
              "positive_labels": positive_labels, "out": str(out), "holdout": holdout, **params.__dict__}
    with registered_run(ws, f"classifier-{kind}", config, out.parent.absolute()) as (reg, run_id):
        df = load_training_data(positive, negative, data, text_field, label_field, _labels(positive_labels))
        res = train(kind, df, out, params, holdout=holdout or None, seed=seed)
        metrics = {"train_examples": res["train_examples"], "size_bytes": res["size_bytes"]}
        if "holdout" in res:
            metrics.update({f"holdout_{k}": res["holdout"][k] for k in _METRICS})
        reg.set_metrics(run_id, metrics)
    if as_json:
        typer.echo(json.dumps(res, indent=2))
        return
    typer.echo(f"{kind} model: {res['model']} ({res['size_bytes'] / 1e6:.1f} MB, sha256 {res['sha256'][:12]}), "
               f"trained on {res['train_examples']} examples ({res['train_positives']} positive) "
               f"in {res['seconds']} s")
    if "holdout" in res:
        _print_metrics(res["holdout"], f"held-out split ({res['holdout_file']})")


@groups.classifier.command("eval")
def eval_cmd(
    model: Path = typer.Argument(..., help="fastText model file from `winnow classifier train`."),
    data: Path = typer.Option(..., "--data", help="Labelled file (JSONL, Parquet or CSV)."),
    text_field: str = typer.Option("text", "--text-field", help="Field holding the text."),
    label_field: str = typer.Option("label", "--label-field", help="Field holding the label."),
    positive_labels: str = typer.Option("1", "--positive-labels", help="Label values that are positive, e.g. 0,1."),
    threshold: float = typer.Option(0.5, help="Predicted positive when P(positive) >= this."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Accuracy, precision, recall, F1 and ROC-AUC of a classifier on labelled data."""
    from curation.classifiers.jobs import evaluate

    ws = open_workspace(workspace)
    config = {"model": str(model), "data": str(data), "text_field": text_field, "label_field": label_field,
              "positive_labels": positive_labels, "threshold": threshold}
    with registered_run(ws, "classifier-eval", config) as (reg, run_id):
        res = evaluate(model, data, text_field, label_field, _labels(positive_labels), threshold)
        reg.set_metrics(run_id, {k: res[k] for k in _METRICS})
    if as_json:
        typer.echo(json.dumps(res, indent=2))
    else:
        _print_metrics(res, f"{model} on {data}")


def register(root: typer.Typer) -> None:
    """Commands attach to `groups.classifier` at import; nothing else to add."""
