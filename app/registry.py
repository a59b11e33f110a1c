"""The run registry: an SQLite database in the workspace that records every job.

Safe with several writers (WAL journal, busy timeout). A job records its pid and host; when anything
opens the registry, jobs marked running whose process is gone are marked `interrupted`.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATUSES = ("queued", "running", "done", "failed", "interrupted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','interrupted')),
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    out_dir TEXT,
    metrics TEXT,
    error TEXT,
    pid INTEGER,
    host TEXT
);
CREATE INDEX IF NOT EXISTS runs_kind ON runs(kind);
"""


@dataclass
class Run:
    id: int
    kind: str
    config: dict[str, Any]
    status: str
    created: float
    started: float | None
    ended: float | None
    out_dir: str | None
    metrics: dict[str, Any]
    error: str | None
    pid: int | None
    host: str | None

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.time()) - self.started


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


class RunRegistry:
    """Open (or create) `<workspace>/runs.sqlite`."""

    def __init__(self, workspace: str | Path) -> None:
        self.path = Path(workspace) / "runs.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)
        self.reap()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RunRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes -------------------------------------------------------------------------------------
    def create(self, kind: str, config: dict[str, Any], out_dir: str | Path | None = None,
               status: str = "queued") -> int:
        cur = self._conn.execute(
            "INSERT INTO runs (kind, config, status, created, out_dir, metrics, host) VALUES (?,?,?,?,?,?,?)",
            (kind, json.dumps(config, default=str), status, time.time(),
             str(out_dir) if out_dir else None, "{}", socket.gethostname()),
        )
        return int(cur.lastrowid)

    def start(self, run_id: int, pid: int | None = None, kind: str | None = None,
              started: float | None = None) -> None:
        """Mark running; `kind` replaces a guess made when the row was queued (e.g. by the app)."""
        self._conn.execute("UPDATE runs SET status='running', started=?, pid=?, host=?, kind=COALESCE(?, kind) "
                           "WHERE id=?", (started or time.time(), pid or os.getpid(), socket.gethostname(), kind,
                                          run_id))

    def claim(self, run_id: int, kind: str, config: dict[str, Any], out_dir: str | Path | None) -> None:
        """A command takes over the row queued for it (by the app or the demo): running, with its kind, its
        output folder and its config merged over what the launcher recorded (the argv and cwd stay)."""
        row = self._conn.execute("SELECT config FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no run {run_id} in {self.path}")
        merged = {**json.loads(row["config"] or "{}"), **config}
        self._conn.execute(
            "UPDATE runs SET status='running', started=?, pid=?, host=?, kind=?, config=?, "
            "out_dir=COALESCE(?, out_dir) WHERE id=?",
            (time.time(), os.getpid(), socket.gethostname(), kind, json.dumps(merged, default=str),
             str(Path(out_dir).absolute()) if out_dir else None, run_id))

    def set_metrics(self, run_id: int, metrics: dict[str, Any]) -> None:
        self._conn.execute("UPDATE runs SET metrics=? WHERE id=?", (json.dumps(metrics, default=str), run_id))

    def finish(self, run_id: int, metrics: dict[str, Any] | None = None) -> None:
        if metrics is not None:
            self.set_metrics(run_id, metrics)
        self._conn.execute("UPDATE runs SET status='done', ended=? WHERE id=?", (time.time(), run_id))

    def fail(self, run_id: int, error: str, status: str = "failed") -> None:
        self._conn.execute("UPDATE runs SET status=?, ended=?, error=? WHERE id=?",
                           (status, time.time(), error, run_id))

    def reap(self) -> int:
        """Mark running jobs of this host whose process is gone as interrupted; return how many."""
        host = socket.gethostname()
        rows = self._conn.execute("SELECT id, pid FROM runs WHERE status='running' AND host=?", (host,)).fetchall()
        n = 0
        for row in rows:
            if row["pid"] is None or not _pid_alive(int(row["pid"])):
                self._conn.execute(
                    "UPDATE runs SET status='interrupted', ended=?, error=COALESCE(error, ?) "
                    "WHERE id=? AND status='running'",
                    (time.time(), "process ended without finishing", row["id"]))
                n += 1
        return n

    # -- reads --------------------------------------------------------------------------------------
    def _row(self, row: sqlite3.Row) -> Run:
        return Run(id=row["id"], kind=row["kind"], config=json.loads(row["config"]), status=row["status"],
                   created=row["created"], started=row["started"], ended=row["ended"], out_dir=row["out_dir"],
                   metrics=json.loads(row["metrics"] or "{}"), error=row["error"], pid=row["pid"],
                   host=row["host"])

    def get(self, run_id: int) -> Run | None:
        row = self._conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return self._row(row) if row else None

    def list(self, kind: str | None = None, status: str | None = None, limit: int = 100) -> list[Run]:
        q, args = "SELECT * FROM runs WHERE 1=1", []
        if kind:
            q += " AND kind=?"
            args.append(kind)
        if status:
            q += " AND status=?"
            args.append(status)
        q += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [self._row(r) for r in self._conn.execute(q, args).fetchall()]


@contextmanager
def registered_run(workspace: str | Path, kind: str, config: dict[str, Any],
                   out_dir: str | Path | None = None, run_id: int | None = None) -> Iterator[tuple[RunRegistry, int]]:
    """Record a job around a block: running -> done, failed (exception) or interrupted (Ctrl-C).

    When the app already queued the job it passes `run_id` (env WINNOW_RUN_ID) and that row is used.
    The block may call `reg.set_metrics(run_id, {...})` with headline metrics.
    """
    reg = RunRegistry(workspace)
    if run_id is None and os.environ.get("WINNOW_RUN_ID"):
        run_id = int(os.environ["WINNOW_RUN_ID"])
        os.environ.pop("WINNOW_RUN_ID")  # only the outermost job claims it
    if run_id is None:
        run_id = reg.create(kind, config, out_dir)
        reg.start(run_id, kind=kind)
    else:
        reg.claim(run_id, kind, config, out_dir)
    owner = os.getpid()
    try:
        yield reg, run_id
    except GeneratorExit:
        # A forked child (e.g. an executor's manager process) inherits this suspended generator and closes
        # it when it exits: that is not the job ending, and only the owner process may record the end.
        raise
    except KeyboardInterrupt:
        if os.getpid() == owner:
            reg.fail(run_id, "interrupted by the user", status="interrupted")
        raise
    except BaseException as e:  # noqa: BLE001 - recorded, then re-raised
        if os.getpid() == owner:
            reg.fail(run_id, f"{type(e).__name__}: {e}")
        raise
    else:
        if os.getpid() == owner:
            run = reg.get(run_id)
            reg.finish(run_id, run.metrics if run else None)
    finally:
        reg.close()
