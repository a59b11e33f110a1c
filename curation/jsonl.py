"""Reading JSON-lines files whose every line must be an object: one place for the file:line errors."""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curation.errors import WinnowError
from curation.utf8 import decode_utf8


def iter_jsonl_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line number, object) for every non-blank line of a JSONL or JSONL.gz file.

    A line that is not valid JSON, or not a JSON object, is a WinnowError naming the file and line.
    (Curation's corpus reader quarantines such lines instead; this is for inputs that must be whole:
    benchmarks, training sets, labelled data.)
    """
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        for i, raw in enumerate(_lines(fh, path), start=1):
            if i == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)  # a byte-order mark is not part of the JSON
            line = decode_utf8(raw, path, first_line=i)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise WinnowError(f"{path}:{i}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise WinnowError(f"{path}:{i}: expected a JSON object, got {type(obj).__name__}")
            yield i, obj


def _lines(fh: Any, path: Path) -> Iterator[bytes]:
    """The file's lines as bytes; a damaged or cut-off gzip stream is a WinnowError after the last good line."""
    n = 0
    try:
        for raw in fh:
            n += 1
            yield raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise WinnowError(f"{path}: the gzip stream is damaged or cut off after line {n} ({e})") from None
