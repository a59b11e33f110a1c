"""datatrove executors with tasks apart from workers: how a stage's tasks are put on the local machine or Ray.

A task is a unit of work and of resume (datatrove records `logs/completions/<rank>` when one finishes); a
worker is a process (local) or a Ray task slot. Many small tasks on few workers keep a lost worker cheap and
let a rerun with more workers resume the same tasks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from curation.errors import WinnowError


def ray_address() -> str | None:
    """The cluster to join (RAY_ADDRESS); None starts a local Ray instance."""
    return os.environ.get("RAY_ADDRESS") or None


def ensure_ray(workers: int) -> None:
    """Connect to RAY_ADDRESS, or start a local Ray with `workers` CPUs, once per process."""
    try:
        import ray
    except ImportError:
        raise WinnowError("--executor ray needs ray: pip install 'winnow[ray]'") from None
    if not ray.is_initialized():
        addr = ray_address()
        ray.init(address=addr, num_cpus=None if addr else max(1, workers), include_dashboard=False,
                 log_to_driver=False, ignore_reinit_error=True)


def make_executor(kind: str, pipeline: list, *, tasks: int, workers: int, logging_dir: str,
                  mem_per_cpu_gb: float = 1, preload: Sequence[str] = ()) -> Any:
    """A datatrove executor running `pipeline` as `tasks` tasks on at most `workers` parallel workers.

    `preload`: modules every local worker needs; the forkserver imports them once before it forks the
    workers (datatrove's default start method), so each worker starts with them loaded."""
    tasks, workers = max(1, int(tasks)), max(1, min(int(workers), int(tasks)))
    if kind == "local":
        from datatrove.executor import LocalPipelineExecutor

        if workers > 1 and preload:
            import multiprocess

            # only the first call in a process counts (the server starts once); a module that fails to
            # import is skipped by the server, and the worker imports it itself as before. Not "__main__"
            # (the default): the CLI's own modules are of no use to a worker (~0.3 s)
            multiprocess.get_context("forkserver").set_forkserver_preload(list(preload))

        return LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir,
                                     skip_completed=True)
    if kind == "ray":
        ensure_ray(workers)
        from datatrove.executor.ray import RayPipelineExecutor

        return RayPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir,
                                   skip_completed=True, cpus_per_task=1, mem_per_cpu_gb=mem_per_cpu_gb)
    raise WinnowError(f"unknown executor {kind!r} (use local or ray)")


MIN_BYTES_PER_TASK = 4 << 20  # below this a second process costs more start-up (~1-2 s of imports) than it saves


def default_tasks(sizes: list[int], workers: int, bytes_per_task: int = 128 << 20,
                  min_bytes_per_task: int = MIN_BYTES_PER_TASK) -> int:
    """Tasks for inputs of these byte sizes: about `bytes_per_task` of input each (a lost task costs little, a
    rerun with more workers resumes the same tasks), one per worker while each gets at least
    `min_bytes_per_task` (a small input runs as one task, in the command's own process), at most 10,000."""
    total = sum(sizes)
    per_worker = min(max(1, int(workers)), -(-total // min_bytes_per_task))
    return max(1, per_worker, min(10_000, -(-total // bytes_per_task)))
