"""Binary fastText text classifiers: training with small defaults, batch prediction, file checksums.

Why these choices:

* Text is normalised once per batch, column-wise (lowercase, every newline -> space, then the `\\n` fastText
  needs at the end of a line), never per document in Python.
* Prediction calls fastText's multi-line predict once per batch; the probability of the positive class is
  `p` when the top label is the positive one and `1 - p` otherwise (a softmax over two labels). Its lines
  are UTF-8 `bytes` straight from Arrow (`prediction_lines`): pybind11 copies bytes into `std::string`
  as they are, where a `str` is first decoded into Python and then encoded back.
* fastText's default `bucket=2_000_000` with `wordNgrams=2` writes an ~800 MB model; the defaults here
  (`bucket=200_000`, `dim=32`) write ~28 MB, and `quantize=True` shrinks that to ~3 MB.
* fastText 0.9.2 with fewer than 10 threads leaves most of its input matrix uninitialised (random
  "Encountered NaN" on small sets, weights of 1e19): training always uses at least 10 threads. A real
  divergence is retried a few times, then becomes a `WinnowError` that says what to change.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.errors import WinnowError

POSITIVE = "__label__pos"
# Real divergence (a learning rate far too high) still raises "Encountered NaN": a few fresh attempts (the
# shuffle of Hogwild threads differs) before a clear error. See TrainParams.as_fasttext for the other cause.
NAN_ATTEMPTS = 3
MIN_THREADS = 10
NEGATIVE = "__label__neg"


def _one_line_lower(texts: pl.Series) -> Any:
    """Arrow array of the texts lowercased, every `\n` -> space (nulls -> ""): fastText's form of a text.

    Lowercasing is Arrow's `utf8_lower` kernel (6x faster than Polars' `str.to_lowercase` when measured).
    Only `\n` must go (fastText ends a line there); `\r`, tabs and the like are whitespace to it."""
    import pyarrow.compute as pc

    arr = texts.cast(pl.String).fill_null("").to_arrow(compat_level=pl.CompatLevel.oldest())
    return pc.replace_substring(pc.utf8_lower(arr), "\n", " ")


def normalise(texts: pl.Series) -> pl.Series:
    """Lowercase, newlines to spaces: the form fastText is trained on and predicts on."""
    return pl.Series(texts.name, _one_line_lower(texts), dtype=pl.String)


def prediction_lines(texts: pl.Series) -> list[bytes]:
    """`normalise(texts)` as the UTF-8 lines fastText predicts on, each ending in its one `\n`.

    Kept in Arrow to the end and handed over as bytes: ~2x cheaper than building `str` lines, which is
    what keeps the classifier step within 10% of bare `predict` (bench/classifiers.py)."""
    # the newline is appended in polars: a pyarrow scalar built from Python bytes imports pandas (0.6 s)
    return (pl.from_arrow(_one_line_lower(texts)) + "\n").cast(pl.Binary).to_arrow().to_pylist()


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class TrainParams:
    """fastText supervised hyper-parameters; the defaults keep the model small (see module doc)."""

    dim: int = 32
    word_ngrams: int = 2
    bucket: int = 200_000
    epoch: int = 10
    lr: float = 0.1
    min_count: int = 2
    quantize: bool = False
    # quantize's pruning (`cutoff` rows, then a retrain) suits large data; on a few hundred documents it
    # costs accuracy (the quality model: CV ROC-AUC 0.70 with it, 0.73 without), so it can be turned off
    quantize_retrain: bool = True
    threads: int = 1
    seed: int = 0
    max_chars: int = 100_000  # long documents are cut: fastText's line reader is the bottleneck

    def as_fasttext(self) -> dict[str, Any]:
        # fastText 0.9.2 initialises the input matrix in 10 blocks of (rows*dim)//10 cells, one per training
        # thread: with fewer than 10 threads the other blocks keep whatever the allocator returned (zeros
        # from a fresh mmap, old heap bytes such as 1e19 otherwise), which is where its random "Encountered
        # NaN" and exploded weights come from. 10 threads initialise all but the last (rows*dim) % 10 cells
        # (zeroed by `zeroed_allocations`); on fewer cores the threads just take turns.
        return {"dim": self.dim, "wordNgrams": self.word_ngrams, "bucket": self.bucket, "epoch": self.epoch,
                "lr": self.lr, "minCount": self.min_count, "thread": max(self.threads, MIN_THREADS),
                "seed": self.seed, "loss": "softmax", "verbose": 0}


@contextmanager
def zeroed_allocations() -> Iterator[None]:
    """While fastText builds its matrices, make glibc's malloc hand out zeroed memory (M_PERTURB=255 fills
    new blocks with 0x00): the few input-matrix cells fastText never initialises are then 0, not old heap
    bytes. No-op where malloc is not glibc's."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        yield
        return
    m_perturb = -6
    mallopt(m_perturb, 255)
    try:
        yield
    finally:
        mallopt(m_perturb, 0)


def train_supervised(input_path: str, **kwargs: Any) -> Any:
    """`fasttext.train_supervised` with every input-matrix cell initialised (see `TrainParams.as_fasttext`)."""
    import fasttext

    with zeroed_allocations():
        return fasttext.train_supervised(input=input_path, **kwargs)


def _write_training_file(df: pl.DataFrame, path: Path, max_chars: int) -> None:
    lines = df.with_columns(normalise(df.get_column("text")).alias("norm")).select(
        pl.when(pl.col("label")).then(pl.lit(POSITIVE)).otherwise(pl.lit(NEGATIVE))
        + pl.lit(" ") + pl.col("norm").str.slice(0, max_chars)
    ).to_series()
    path.write_text("\n".join(lines.to_list()) + "\n", encoding="utf-8")


def _finite_weights(model: Any) -> bool:
    """Whether both matrices of an unquantized model are finite (a quantized one has no dense matrices)."""
    return bool(np.isfinite(model.get_input_matrix()).all() and np.isfinite(model.get_output_matrix()).all())


def _finite_predictions(model: Any, sample: list[str]) -> bool:
    """Whether the probabilities the model gives on `sample` (normalised training texts) are all finite."""
    _, probs = model.f.multilinePredict([t + "\n" for t in sample], -1, 0.0, "replace")
    return all(bool(np.isfinite(p).all()) for p in probs)


def _train_once(train_file: Path, params: TrainParams, sample: list[str]) -> Any | None:
    """One training attempt: the model, or None when it diverged.

    fastText raises "Encountered NaN" only when one of its Hogwild threads happens to compute a NaN dot
    product; under load a run can end after the update that overflowed and before any thread looks, and
    return inf/NaN weights. So the weights (before quantizing) and the predictions on a few training texts
    are checked too, and count as the same divergence."""
    try:
        model = train_supervised(str(train_file), **params.as_fasttext())
        if not _finite_weights(model):
            return None
        if params.quantize:
            model.quantize(input=str(train_file), retrain=params.quantize_retrain, qnorm=True,
                           cutoff=min(params.bucket, 100_000) if params.quantize_retrain else 0)
        return model if _finite_predictions(model, sample) else None
    except (RuntimeError, ValueError) as e:
        if "NaN" not in str(e):
            raise WinnowError(f"fastText training failed: {e}") from None
        return None


def train_binary(df: pl.DataFrame, out: str | Path, params: TrainParams | None = None) -> Path:
    """Train on `text, label` (bool) and save to `out`; returns the model path.

    `out` is written whole or not at all: the model is saved beside it and renamed over it only once
    training converged, so a failed run leaves neither a partial file nor a changed old model."""
    params = params or TrainParams()
    n_pos = int(df.get_column("label").sum())
    n_neg = df.height - n_pos
    if n_pos == 0 or n_neg == 0:
        raise WinnowError(f"training needs both classes; got {n_pos} positive and {n_neg} negative examples")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=params.seed)
    sample = normalise(shuffled.get_column("text").head(8)).str.slice(0, params.max_chars).to_list()
    with tempfile.TemporaryDirectory(prefix="winnow-ft-") as tmp:
        train_file = Path(tmp) / "train.txt"
        _write_training_file(shuffled, train_file, params.max_chars)
        model = None
        for _ in range(NAN_ATTEMPTS):
            model = _train_once(train_file, params, sample)
            if model is not None:
                break
        if model is None:
            raise WinnowError(
                f"fastText training diverged (Encountered NaN) {NAN_ATTEMPTS} times on {df.height} "
                f"examples ({n_pos} positive, {n_neg} negative): give it more (and more varied) "
                f"examples, or lower --lr (now {params.lr}) or --epoch (now {params.epoch})")
        tmp_out = out.with_name(out.name + f".tmp{os.getpid()}")
        try:
            model.save_model(str(tmp_out))
            tmp_out.replace(out)
        finally:
            tmp_out.unlink(missing_ok=True)
    return out


class BinaryClassifier:
    """A trained binary fastText model: `predict_proba(texts)` gives P(positive) for a whole batch."""

    def __init__(self, path: str | Path, positive_label: str = POSITIVE) -> None:
        import fasttext

        self.path = Path(path)
        if not self.path.is_file():
            raise WinnowError(f"no fastText model at {self.path}")
        try:
            self.model = fasttext.load_model(str(self.path))
        except ValueError as e:
            raise WinnowError(f"{self.path}: not a fastText model ({e})") from None
        labels = list(self.model.labels)
        if positive_label not in labels:
            raise WinnowError(f"{self.path}: model has labels {labels}, not the positive label {positive_label!r}")
        if len(labels) != 2:
            raise WinnowError(f"{self.path}: a binary classifier needs 2 labels, this model has {labels}")
        self.positive_label = positive_label

    def predict_proba_lines(self, lines: list[str] | list[bytes]) -> np.ndarray:
        """P(positive) for texts that are already normalised and end with a single `\\n`."""
        labels, probs = self.model.f.multilinePredict(lines, 1, 0.0, "replace")
        p = np.concatenate(probs) if probs else np.zeros(0, dtype=np.float32)
        top_pos = np.fromiter((lab[0] == self.positive_label for lab in labels), dtype=bool, count=len(labels))
        # fastText reports exp(log(p + 1e-5)), which can exceed 1 by 1e-5: clip into [0, 1]
        return np.clip(np.where(top_pos, p, 1.0 - p), 0.0, 1.0).astype(np.float32)

    def predict_proba(self, texts: pl.Series | list[str]) -> np.ndarray:
        s = texts if isinstance(texts, pl.Series) else pl.Series("text", texts, dtype=pl.String)
        return self.predict_proba_lines(prediction_lines(s))

    def describe(self) -> dict[str, Any]:
        args = self.model.f.getArgs()
        return {"model": str(self.path), "sha256": file_sha256(self.path), "labels": list(self.model.labels),
                "positive_label": self.positive_label, "dim": args.dim, "wordNgrams": args.wordNgrams,
                "bucket": args.bucket, "quantized": bool(self.model.is_quantized()),
                "size_bytes": self.path.stat().st_size}


def params_dict(p: TrainParams) -> dict[str, Any]:
    return asdict(p)
