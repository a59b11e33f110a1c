"""One shared helper for long jobs: a terminal bar plus `<out>/progress.jsonl` that the app follows.

Each line of progress.jsonl is `{"ts", "stage", "done", "total", "unit", "msg"}`. Writes are throttled
(at most one every `min_interval` seconds per stage, plus the first and the last), so a hot loop can call
`update()` freely.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from tqdm import tqdm


class Progress:
    """Progress of one stage of a job; use as a context manager or call `close()`."""

    def __init__(
        self,
        out_dir: str | Path | None,
        stage: str,
        total: int | None = None,
        unit: str = "items",
        *,
        bar: bool | None = None,
        min_interval: float = 0.5,
    ) -> None:
        self.stage = stage
        self.total = total
        self.unit = unit
        self.done = 0
        self.min_interval = min_interval
        self._last_write = 0.0
        self._path: Path | None = None
        if out_dir is not None:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            self._path = Path(out_dir) / "progress.jsonl"
        if bar is None:
            bar = sys.stderr.isatty() and os.environ.get("WINNOW_NO_BAR") != "1"
        self._bar = tqdm(total=total, desc=stage, unit=f" {unit}", disable=not bar, file=sys.stderr,
                         dynamic_ncols=True)
        self._write(msg="start", force=True)

    def _write(self, msg: str | None = None, force: bool = False) -> None:
        if self._path is None:
            return
        now = time.time()
        if not force and now - self._last_write < self.min_interval:
            return
        self._last_write = now
        rec = {"ts": round(now, 3), "stage": self.stage, "done": self.done, "total": self.total,
               "unit": self.unit, "msg": msg}
        with open(self._path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")

    def update(self, n: int = 1, msg: str | None = None) -> None:
        """Advance by `n` units."""
        self.done += n
        self._bar.update(n)
        self._write(msg, force=msg is not None)

    def set_total(self, total: int) -> None:
        self.total = total
        self._bar.total = total
        self._bar.refresh()

    def message(self, msg: str) -> None:
        """Record a message without advancing (shown in the app's progress line)."""
        self._bar.set_postfix_str(msg)
        self._write(msg, force=True)

    def close(self, msg: str = "done") -> None:
        self._bar.close()
        self._write(msg, force=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close("done" if et is None else f"error: {et.__name__}")


def read_jsonl_records(path: str | Path) -> list[dict]:
    """The objects of a JSONL file that a writer may still be appending to (a torn last line is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    recs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            recs.append(rec)
    return recs


def read_progress(out_dir: str | Path) -> list[dict]:
    """All progress records of a job folder."""
    return read_jsonl_records(Path(out_dir) / "progress.jsonl")
