"""Keep datatrove's per-task logs in `<run>/logs/` and off the console (warnings still show).

datatrove adds an INFO-level stderr sink for every task; in a CLI that draws its own progress bar this
buries the output. Importing this module (curation.scoring does, so it also happens inside executor
workers when they unpickle the scoring step) swaps in a logger setup that writes the same task log file
and only warnings to the console. Set WINNOW_DATATROVE_LOGS=1 to keep datatrove's own console logs.
"""

from __future__ import annotations

import os
import sys

from loguru import logger

_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"


def _add_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):  # noqa: ANN001, ANN201
    logger.remove()
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    logger.add(sys.stderr, level="WARNING", format=_FORMAT)
    logger.add(logfile, level="DEBUG", format=_FORMAT)
    logger.info(f"Launching pipeline for {rank=}")
    return logfile


def _setup_default_logger() -> None:
    logger.remove()
    logger.add(sys.stderr, level="WARNING", format=_FORMAT)


def quiet() -> None:
    if os.environ.get("WINNOW_DATATROVE_LOGS") == "1":
        return
    import datatrove.executor.base as base
    import datatrove.utils.logging as dlog

    base.add_task_logger = _add_task_logger
    dlog.setup_default_logger = _setup_default_logger
    _setup_default_logger()


quiet()
