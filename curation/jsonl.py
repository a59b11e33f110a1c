"""Reading JSON-lines files whose every line must be an object: one place for the file:line errors."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curation.errors import WinnowError


def iter_jsonl_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line number, object) for every non-blank line of a JSONL or JSONL.gz file.

    A line that is not valid JSON, or not a JSON object, is a WinnowError naming the file and line.
    (Curation's corpus reader quarantines such lines instead; this is for inputs that must be whole:
    benchmarks, training sets, labelled data.)
    """
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise WinnowError(f"{path}:{i}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise WinnowError(f"{path}:{i}: expected a JSON object, got {type(obj).__name__}")
            yield i, obj
