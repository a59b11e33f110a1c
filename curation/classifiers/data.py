"""Load labelled text for classifier training and evaluation from JSONL, Parquet or CSV.

Two shapes of input, as `winnow classifier train` takes them:

* one file per class (`--positive FILE --negative FILE`): every row's text field is one example;
* one labelled file (`--data FILE --label-field L --positive-labels V,...`): a row is positive when its
  label, read as text, is one of the positive values (so `--positive-labels 0,1` matches an int column).

Everything comes back as a Polars frame `text: str, label: bool`. Problems the user can fix (missing file,
missing field, a malformed JSON line) raise `WinnowError` naming the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from curation.errors import WinnowError
from curation.jsonl import iter_jsonl_objects

FORMATS = ".jsonl, .jsonl.gz, .json (JSON lines), .parquet, .csv, .tsv, .txt (one document per line)"


def _kind(path: Path) -> str:
    name = path.name.lower()
    for suffix, kind in ((".jsonl.gz", "jsonl"), (".ndjson", "jsonl"), (".jsonl", "jsonl"), (".json", "jsonl"),
                         (".parquet", "parquet"), (".csv", "csv"), (".tsv", "tsv"), (".txt", "txt")):
        if name.endswith(suffix):
            return kind
    raise WinnowError(f"{path}: unknown file type; expected one of {FORMATS}")


def _first_bad_json_line(path: Path) -> str:
    """Find the first line that is not a JSON object, for an error message that names it."""
    try:
        for _ in iter_jsonl_objects(path):
            pass
    except (WinnowError, UnicodeDecodeError) as e:
        return str(e)
    return f"{path}: could not be read as JSON lines"


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a whole file into a frame (all columns as the format gives them)."""
    p = Path(path)
    if not p.is_file():
        raise WinnowError(f"data file not found: {p}")
    kind = _kind(p)
    try:
        if kind == "jsonl":
            if p.name.lower().endswith(".gz"):
                import gzip

                with gzip.open(p, "rb") as fh:
                    return pl.read_ndjson(fh.read(), infer_schema_length=None)
            return pl.read_ndjson(p, infer_schema_length=None)
        if kind == "parquet":
            return pl.read_parquet(p)
        if kind in ("csv", "tsv"):
            return pl.read_csv(p, separator="\t" if kind == "tsv" else ",", infer_schema_length=10000)
        lines = p.read_text(encoding="utf-8").splitlines()
        return pl.DataFrame({"text": [ln for ln in lines if ln.strip()]}, schema={"text": pl.String})
    except WinnowError:
        raise
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as e:
        if kind == "jsonl":
            raise WinnowError(_first_bad_json_line(p)) from None
        raise WinnowError(f"{p}: cannot read as {kind}: {str(e).splitlines()[0]}") from None


def _column(df: pl.DataFrame, path: Path, field: str, role: str) -> pl.Series:
    if field not in df.columns:
        raise WinnowError(f"{path}: no {role} field {field!r}; fields are: {', '.join(df.columns)}")
    return df.get_column(field)


def _texts(df: pl.DataFrame, path: Path, text_field: str) -> pl.Series:
    col = _column(df, path, text_field, "text")
    if col.dtype != pl.String:
        raise WinnowError(f"{path}: text field {text_field!r} holds {col.dtype}, not text")
    nulls = col.is_null()
    if nulls.any():
        row = int(nulls.arg_max())  # type: ignore[arg-type]
        raise WinnowError(f"{path}: row {row + 1} has no {text_field!r} (null); fix or drop it")
    return col


def load_texts(path: str | Path, text_field: str = "text") -> pl.Series:
    """The text column of one file (for `--positive` / `--negative`)."""
    p = Path(path)
    df = read_table(p)
    if _kind(p) == "txt":
        return df.get_column("text")
    return _texts(df, p, text_field)


def load_labelled(path: str | Path, text_field: str = "text", label_field: str = "label",
                  positive_labels: Sequence[str] = ("1",)) -> pl.DataFrame:
    """`text, label` (bool) from one file whose label field is compared, as text, to `positive_labels`."""
    p = Path(path)
    df = read_table(p)
    texts = _texts(df, p, text_field)
    labels = _column(df, p, label_field, "label")
    missing = (labels.is_null() | labels.is_nan()) if labels.dtype.is_float() else labels.is_null()
    if missing.any():  # a NaN (a float column's "missing") is no label either, not the text "nan"
        row = int(missing.arg_max())  # type: ignore[arg-type]
        raise WinnowError(f"{p}: row {row + 1} has no {label_field!r} (null or NaN)")
    as_text = labels.cast(pl.String)
    if labels.dtype.is_float():  # 1.0 -> "1" so that --positive-labels 1 matches a float column
        as_text = pl.Series(labels.name, labels).map_elements(
            lambda v: str(int(v)) if float(v).is_integer() else str(v), return_dtype=pl.String)
    wanted = [str(v).strip() for v in positive_labels]
    seen = set(as_text.unique().to_list())
    if not seen & set(wanted):
        raise WinnowError(f"{p}: no row has {label_field!r} in {wanted}; values seen: "
                          f"{', '.join(sorted(seen)[:20])}")
    return pl.DataFrame({"text": texts, "label": as_text.is_in(wanted)})


def load_pair(positive: Sequence[str | Path], negative: Sequence[str | Path],
              text_field: str = "text") -> pl.DataFrame:
    """`text, label` from positive files and negative files."""
    frames = []
    for files, label in ((positive, True), (negative, False)):
        for f in files:
            t = load_texts(f, text_field)
            frames.append(pl.DataFrame({"text": t, "label": pl.repeat(label, len(t), eager=True)}))
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(
        schema={"text": pl.String, "label": pl.Boolean})
