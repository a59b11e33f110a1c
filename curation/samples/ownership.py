"""Which existing files `winnow data sample` may replace: only those it wrote itself, judged by their content.

A sample is rewritten freely (same seed, same bytes), but a user's file at the same path is not: their own
`mine.labels.parquet` beside `--out mine.jsonl`, or real benchmark data in `--kind bench --out <workspace>/
benchmarks`. The marks are what the writers put in every file: document ids `s<seed>-<8 digits>` with source
"sample", bench ids `synthetic-...`, the sample schemas, the SYNTHETIC.txt wording. An empty file holds nothing
to lose and may be replaced.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.errors import WinnowError

SAMPLE_DOC_ID = re.compile(r"s\d+-\d{8}")
SYNTHETIC_NOTE = "SYNTHETIC benchmark written by `winnow data sample"


def _first_line(path: Path) -> bytes:
    """The first line of a (possibly gzipped) text file, with its newline; b"" only for an empty file."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        return fh.readline(1 << 20)


def _first_record(path: Path) -> dict | None:
    """The first line's JSON object; {} for an empty file (a `--docs 0` sample); None for anything else (a
    blank first line included: a sample never starts with one, a user's file may)."""
    try:
        line = _first_line(path)
        rec = json.loads(line) if line else {}
    except (OSError, ValueError, EOFError):
        return None
    return rec if isinstance(rec, dict) else None


def is_sample_corpus(path: Path) -> bool:
    """A corpus file `write_sample_corpus` wrote (JSONL, JSONL.gz or Parquet)."""
    if path.name.lower().endswith(".parquet"):
        from curation.samples.corpus import DOC_SCHEMA

        return _has_schema(path, DOC_SCHEMA)
    rec = _first_record(path)
    if rec == {}:  # no documents (--docs 0)
        return True
    return rec is not None and rec.get("source") == "sample" and bool(SAMPLE_DOC_ID.fullmatch(str(rec.get("id"))))


def is_sample_labels(path: Path) -> bool:
    from curation.samples.corpus import LABEL_SCHEMA

    return _has_schema(path, LABEL_SCHEMA)


def _has_schema(path: Path, schema: pa.Schema) -> bool:
    try:
        return pq.read_schema(path).remove_metadata().equals(schema)
    except (OSError, ValueError, pa.ArrowException):
        return False


def is_sample_bench_split(path: Path) -> bool:
    rec = _first_record(path)
    return bool(rec) and str(rec.get("id", "")).startswith("synthetic-")


def is_synthetic_note(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(SYNTHETIC_NOTE)) == SYNTHETIC_NOTE.encode()
    except OSError:
        return False


def refuse_foreign(files: list[tuple[Path, Callable[[Path], bool]]], note: str = "") -> None:
    """Raise one line naming every existing, non-empty file of `files` that its check says we did not write
    (`note`: what else the check cannot tell apart)."""
    foreign = []
    for path, ours in files:
        try:
            if path.is_file() and path.stat().st_size > 0 and not ours(path):
                foreign.append(str(path))
        except OSError:
            foreign.append(str(path))
    if foreign:
        raise WinnowError(f"{', '.join(foreign)}: already there and not written by `winnow data sample`; "
                          f"move {'it' if len(foreign) == 1 else 'them'} away or choose another --out "
                          f"(a sample never replaces other files{note})")
