"""Fault injection: named points where a test can kill (or pause) a run, the way SQLite's crash tests do.

`WINNOW_FAULT=POINT[@N][:ACTION]` makes the N-th arrival (default 1st) at POINT, in any process of the
run, either SIGKILL that process (`kill`, the default) or sleep for an hour (`pause`, to kill it from
outside; with WINNOW_FAULT_FLAG_DIR set, it first creates a file named by its pid there). Unset, `at()`
costs one dict lookup. The points, in the order a run reaches them, are `POINTS`;
tests/curation/test_faults.py kills a run at each and checks that a resume gives the clean run's result.
"""

from __future__ import annotations

import os
import signal
import time

POINTS = (
    "score.batch_start",     # a task is about to score a batch
    "score.after_signals",   # a batch's documents and signals are written, its marker is not
    "score.after_marker",    # between batches: a batch is complete
    "finalize.start",        # every task finished; a corpus-wide step is about to be finalized
    "finalize.after_step",   # a corpus-wide step's signals are written, its marker is not
    "mix.before_commit",     # mix wrote everything into its temporary folder
    "mix.mid_commit",        # mix removed the old manifest and swapped kept/ in, nothing else yet
)

_spec = os.environ.get("WINNOW_FAULT")
_hits: dict[str, int] = {}


def at(point: str) -> None:
    """Die (or pause) here if WINNOW_FAULT names this point."""
    if not _spec:
        return
    where, _, action = _spec.partition(":")
    name, _, nth = where.partition("@")
    if name != point:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] != int(nth or 1):
        return
    action = action or "kill"
    if action == "pause":
        flags = os.environ.get("WINNOW_FAULT_FLAG_DIR")
        if flags:  # tell the test which process is paused here
            open(os.path.join(flags, str(os.getpid())), "w").close()
        time.sleep(3600)
    else:
        os.kill(os.getpid(), signal.SIGKILL)
