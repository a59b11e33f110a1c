"""datatrove executors with tasks apart from workers: how a stage's tasks are put on the local machine or Ray.

A task is a unit of work and of resume (datatrove records `logs/completions/<rank>` when one finishes); a
worker is a process (local) or a Ray task slot. Many small tasks on few workers keep a lost worker cheap and
let a rerun with more workers resume the same tasks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curation.errors import WinnowError

MAX_RESUBMITS = 3  # as datatrove's Ray executor: a rank whose worker is lost this many times more is given up
THREADS_ENV = "POLARS_MAX_THREADS"


def worker_threads(workers: int) -> str:
    """Polars threads for one of `workers` processes sharing this machine's CPUs: the user's POLARS_MAX_THREADS
    when set, else the CPUs divided among the workers (at least one).

    Polars sizes its thread pool once, when it is imported, to every CPU of the machine. With two workers on two
    CPUs that is four busy threads on two cores, and threads waiting for their turn still cost CPU time: the
    Gopher statistics took ~10% more CPU (two workers at once, 25,000 documents each; docs/scale.md). A Ray task holds
    `cpus_per_task` CPUs and gets that many threads."""
    if os.environ.get(THREADS_ENV):
        return os.environ[THREADS_ENV]
    return str(max(1, available_cpus() // max(1, int(workers))))


def available_cpus(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may use, as Polars' own default counts them: its affinity set, capped by a cgroup v2 CPU
    quota (a container's `--cpus`: quota / period, at least one)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):  # no cgroup v2 file here, or one in another shape: the affinity set alone
        pass
    return cpus


def ray_address() -> str | None:
    """The cluster to join (RAY_ADDRESS); None starts a local Ray instance."""
    return os.environ.get("RAY_ADDRESS") or None


def ensure_ray(workers: int) -> None:
    """Connect to RAY_ADDRESS, or start a local Ray with `workers` CPUs, once per process."""
    try:
        import ray
    except ImportError:
        raise WinnowError("--executor ray needs ray: pip install 'winnow[ray]'") from None
    global _JOINED
    if not ray.is_initialized():
        addr = ray_address()
        ray.init(address=addr, num_cpus=None if addr else max(1, workers), include_dashboard=False,
                 log_to_driver=False, ignore_reinit_error=True)
        _JOINED = ray.get_runtime_context().get_worker_id()
    elif _JOINED != ray.get_runtime_context().get_worker_id():
        _JOINED = None  # connected by someone else (a test, a notebook): left connected


# the driver's worker id of the connection ensure_ray made (None: it made none): unique to a connection, where
# a job id is not (a fresh cluster numbers its first job 01000000 again)
_JOINED: str | None = None


def leave_ray() -> None:
    """Disconnect from Ray now if `ensure_ray` connected: a command's last step. Left to Ray's exit hook, the
    disconnect first sleeps 0.5 s so that worker log lines reach the terminal, and `ensure_ray` sends none
    there (log_to_driver=False)."""
    global _JOINED
    if _JOINED is None:
        return
    import ray

    joined, _JOINED = _JOINED, None
    if ray.is_initialized() and ray.get_runtime_context().get_worker_id() == joined:
        ray.shutdown()


def make_executor(kind: str, pipeline: list, *, tasks: int, workers: int, logging_dir: str,
                  mem_per_cpu_gb: float = 1, preload: Sequence[str] = ()) -> Any:
    """A datatrove executor running `pipeline` as `tasks` tasks on at most `workers` parallel workers.

    `preload`: modules every local worker needs; the forkserver imports them once before it forks the
    workers (datatrove's default start method), so each worker starts with them loaded."""
    tasks, workers = max(1, int(tasks)), max(1, min(int(workers), int(tasks)))
    if kind == "local":
        if workers > 1:
            from curation.worker_server import start_worker_server

            # a no-op when the command started it already; else its workers get their share of the CPUs'
            # threads, and `preload` (the first in a process counts; not "__main__", datatrove's default: the
            # CLI's own modules are of no use to a worker, ~0.3 s)
            start_worker_server(list(preload), workers)

        return local_executor_class()(pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir,
                                      skip_completed=True)
    if kind == "ray":
        ensure_ray(workers)
        return ray_executor_class()(pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir,
                                    skip_completed=True, cpus_per_task=1, mem_per_cpu_gb=mem_per_cpu_gb)
    raise WinnowError(f"unknown executor {kind!r} (use local or ray)")


def run_stage(kind: str, pipeline: list, *, tasks: int, workers: int, logging_dir: str, what: str,
              mem_per_cpu_gb: float = 1) -> None:
    """Run `pipeline` as `tasks` tasks and fail with one line naming `what` when a task did not complete (after
    the executor's own retries): datatrove's executors log a failed task and return."""
    from curation import objstore

    make_executor(kind, pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir,
                  mem_per_cpu_gb=mem_per_cpu_gb).run()
    objstore.forget_listings(logging_dir)  # the completions the tasks wrote from other processes
    fold = objstore.folder(logging_dir)
    missing = [r for r in range(max(1, int(tasks))) if not fold.isfile(f"completions/{r:05d}")]
    if missing:
        raise WinnowError(f"{what}: tasks {missing[:10]} did not complete (after the executor's retries); see "
                          f"{logging_dir}")


WATCH_S = 0.5  # how often the local executor looks for a dead worker while it waits for its tasks


def worker_died_message(exitcode: int) -> str:
    """The one line for a local worker process that exited while its task ran."""
    how = f"signal {-exitcode}" if exitcode < 0 else f"exit code {exitcode}"
    if exitcode == -9:
        how += ", possibly out of memory"
    return f"a worker process died ({how}); rerun the same command to resume"


def local_executor_class() -> Any:
    """datatrove's `LocalPipelineExecutor` whose pool of workers is watched: a worker that dies (the OOM killer's
    SIGKILL) fails the command with one line (`worker_died_message`), where datatrove's pool waited forever
    for the dead worker's task. The other workers are stopped; the tasks that completed stay completed, so a
    rerun resumes. With one worker the tasks run in this process, as datatrove's do."""
    cls = globals().get("WatchedLocalExecutor")
    if cls is None:
        from datatrove.executor import LocalPipelineExecutor

        class WatchedLocalExecutor(LocalPipelineExecutor):
            def run(self) -> Any:
                if self.workers == 1:  # tasks in this process, as datatrove runs them
                    return super().run()
                return _run_watched(self)

        WatchedLocalExecutor.__module__ = __name__
        WatchedLocalExecutor.__qualname__ = "WatchedLocalExecutor"
        globals()["WatchedLocalExecutor"] = cls = WatchedLocalExecutor
    return cls


def _run_watched(ex: Any) -> Any:
    """datatrove's local `run` with a pool of workers, its results collected with a look at the workers between
    waits. A pool replaces a worker that exits, and the task the worker held is never answered; a worker of
    this pool never exits on its own (no maxtasksperchild) until the pool is closed, so any exit before that
    is a death."""
    from functools import partial

    import multiprocess
    from datatrove.utils.logging import logger
    from datatrove.utils.stats import PipelineStats

    ranks = range(ex.local_rank_offset, ex.local_rank_offset + ex.local_tasks)
    ex._launched = True
    if all(map(ex.is_rank_completed, ranks)):
        logger.info(f"Not doing anything as all {ex.local_tasks} tasks have already been completed.")
        return None
    ex.save_executor_as_json()
    mg = multiprocess.Manager()
    try:
        ranks_q = mg.Queue()
        for i in range(ex.workers):
            ranks_q.put(i)
        ranks_to_run = ex.get_incomplete_ranks(ranks)
        if (skipped := ex.local_tasks - len(ranks_to_run)) > 0:
            logger.info(f"Skipping {skipped} already completed tasks")
        run_rank = partial(ex._launch_run_for_rank, ranks_q=ranks_q, completed=mg.Value("i", skipped),
                           completed_lock=mg.Lock())
        stats: list[Any] = []
        with multiprocess.get_context(ex.start_method).Pool(ex.workers) as pool:
            # the first workers are seen before any task is handed out; a replacement only follows a death
            watched = {id(w): w for w in list(pool._pool)}
            results = pool.imap_unordered(run_rank, ranks_to_run)
            while True:
                try:
                    stats.append(results.next(timeout=WATCH_S))
                except StopIteration:
                    break
                except multiprocess.TimeoutError:
                    pass
                dead = [w.exitcode for w in watched.values() if w.exitcode is not None]
                if dead:
                    pool.terminate()  # the other workers: their completed tasks stay for the rerun
                    raise WinnowError(worker_died_message(dead[0]))
                watched.update((id(w), w) for w in list(pool._pool))
        total = sum(stats, start=PipelineStats())
        with ex.logging_dir.open("stats.json", "wt") as statsfile:
            total.save_to_disk(statsfile)
        logger.success(total.get_repr(f"All {ex.local_tasks} tasks"))
        return total
    finally:
        mg.shutdown()


_RUN_RANK: Any = None


def ray_executor_class() -> Any:
    """datatrove's `RayPipelineExecutor` with its `run` as one plain Ray task per rank, at most `workers` at once.

    datatrove's own `run` starts a new Ray actor (a fresh worker process, ~2-3 s of Ray's and Winnow's imports) for
    every rank and forks a pool process in it that imports the steps again. A plain Ray task runs in a worker
    process that Ray keeps and reuses for the job's next task, so a node pays one worker start and one import of
    the steps for all its ranks and for the dedup stages after them, as the local executor's pool processes do.
    Everything else is datatrove's: `_run_for_rank` (skip if completed, task log, stats, the completions file),
    the incomplete-rank list and the stats merge; a rank whose worker dies is submitted again (up to
    MAX_RESUBMITS times) and resumes from the completions files as before."""
    cls = globals().get("RankTaskExecutor")
    if cls is None:
        from datatrove.executor.ray import RayPipelineExecutor

        class RankTaskExecutor(RayPipelineExecutor):
            def run(self) -> None:
                _run_rank_tasks(self)

        RankTaskExecutor.__module__ = __name__
        RankTaskExecutor.__qualname__ = "RankTaskExecutor"
        globals()["RankTaskExecutor"] = cls = RankTaskExecutor
    return cls


def __getattr__(name: str) -> Any:
    """`RankTaskExecutor` and `WatchedLocalExecutor` are made on first use (datatrove's executors cost ~1 s to
    import); pickle finds them here."""
    if name == "RankTaskExecutor":
        return ray_executor_class()
    if name == "WatchedLocalExecutor":
        return local_executor_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _rank_task(executor_pickle: bytes, rank: int, cpus: float = 1) -> None:
    """One datatrove rank in this Ray worker process (a fresh copy of the executor each call: steps keep stats).

    The executor comes pickled, and is loaded here once POLARS_MAX_THREADS is the task's `cpus` (a value in the
    worker's environment wins; `worker_threads` says why): loading it imports the steps, and with them Polars,
    which sizes its pool then, once per process.

    `curation.datatrove_logs` is imported first: it resets loguru's sinks when imported, which, done by the
    rank's own first import of Winnow's scoring, dropped the task log's file sink right after its header
    (every worker's first rank logged nothing past "PIPELINE").

    The rank runs with its own temporary folder: datatrove's Ray executor logs a task to
    `<tempdir>/ray_logs/logs/task_<rank>.log` before copying it to the run, a path every worker of a node
    shares, so two runs (or stages) with the same rank on one node at once wrote into one file. The folder
    (and any scratch the task left in it) goes when the rank ends, or, when its worker was killed, once the
    next rank starts on that machine (`curation.scratch`)."""
    import tempfile

    from ray import cloudpickle

    os.environ.setdefault(THREADS_ENV, str(max(1, int(cpus))))
    import curation.datatrove_logs  # noqa: F401
    from curation.scratch import scratch_dir

    executor = cloudpickle.loads(executor_pickle)
    with scratch_dir("winnow-rank", rank) as own:  # and a killed worker's goes now
        outer, tempfile.tempdir = tempfile.tempdir, str(own)  # a Ray worker runs one task at a time
        try:
            executor._run_for_rank(rank)
        finally:
            tempfile.tempdir = outer


def _run_rank_tasks(ex: Any) -> None:
    """The thin loop: keep `ex.workers` rank tasks in flight; resubmit a rank whose worker was lost."""
    import json
    from collections import deque

    import ray
    from datatrove.utils.stats import PipelineStats
    from loguru import logger
    from ray import cloudpickle
    from ray.exceptions import NodeDiedError, ObjectLostError, OutOfMemoryError, WorkerCrashedError

    global _RUN_RANK
    pending = deque(ex.get_incomplete_ranks(range(ex.world_size)))
    if not pending:
        logger.info(f"All {ex.world_size} tasks appear to be completed already. Nothing to run.")
        return
    ex.save_executor_as_json()
    if _RUN_RANK is None:
        _RUN_RANK = ray.remote(_rank_task)
    options = {"num_cpus": ex.cpus_per_task, "num_gpus": ex.gpus_per_task, "max_retries": 0,
               "memory": int(ex.mem_per_cpu_gb * ex.cpus_per_task * 2**30)}
    options.update(ex.ray_remote_kwargs or {})  # the user's settings win
    task = _RUN_RANK.options(**options)
    ref = ray.put(cloudpickle.dumps(ex))
    running: dict[Any, int] = {}
    resubmits: dict[int, int] = {}
    failed: list[int] = []
    try:
        while pending or running:
            while pending and len(running) < max(1, ex.workers):
                rank = pending.popleft()
                running[task.remote(ref, rank, options["num_cpus"])] = rank
            done, _ = ray.wait(list(running), num_returns=1)
            for obj in done:
                rank = running.pop(obj)
                try:
                    ray.get(obj)
                # the worker or its node went away, or Ray's memory monitor killed it: the rank is run again (a
                # cancelled task is not: someone meant it)
                except (WorkerCrashedError, NodeDiedError, ObjectLostError, OutOfMemoryError) as e:
                    n = resubmits.get(rank, 0)
                    if n >= MAX_RESUBMITS:
                        logger.warning(f"task {rank}: its Ray worker was lost {n + 1} times; not retried again")
                        failed.append(rank)
                        continue
                    resubmits[rank] = n + 1
                    logger.warning(f"task {rank}: its Ray worker was lost ({type(e).__name__}), a retriable "
                                   "error; submitted again")
                    pending.append(rank)
                except Exception as e:  # noqa: BLE001 - the task's own error: not retried, as datatrove does
                    logger.debug(f"task {rank} failed: {type(e).__name__}: {e}")
                    failed.append(rank)
    except BaseException:
        _stop_tasks(ray, list(running))
        raise
    if failed:
        logger.warning(f"Only {ex.world_size - len(failed)}/{ex.world_size} tasks completed.")
        return
    total = PipelineStats()
    for rank in range(ex.world_size):
        with ex.logging_dir.open(f"stats/{rank:05d}.json", "r") as f:
            total += PipelineStats.from_json(json.load(f))
    with ex.logging_dir.open("stats.json", "wt") as f:
        total.save_to_disk(f)


STOP_WAIT_S = 30.0  # how long a stopped command waits for its cancelled tasks' workers to go


def _stop_tasks(ray: Any, refs: list[Any]) -> None:
    """Ctrl-C (or an error) in the command: its tasks in flight are killed, and waited for, before the command
    goes on to release its run folder's lock. Left running, they went on uploading for seconds after the lock
    was released, so a command started in that window could receive a batch of the stopped run."""
    for obj in refs:
        with contextlib.suppress(Exception):  # already finished, or Ray going down: nothing left to stop
            ray.cancel(obj, force=True)
    if refs:
        with contextlib.suppress(Exception):
            ray.wait(refs, num_returns=len(refs), timeout=STOP_WAIT_S)


MIN_BYTES_PER_TASK = 4 << 20  # below this a second process costs more start-up (~1-2 s of imports) than it saves


def default_tasks(sizes: list[int], workers: int, bytes_per_task: int = 128 << 20,
                  min_bytes_per_task: int = MIN_BYTES_PER_TASK) -> int:
    """Tasks for inputs of these byte sizes: about `bytes_per_task` of input each (a lost task costs little, a
    rerun with more workers resumes the same tasks), one per worker while each gets at least
    `min_bytes_per_task` (a small input runs as one task, in the command's own process), at most 10,000."""
    total = sum(sizes)
    per_worker = min(max(1, int(workers)), -(-total // min_bytes_per_task))
    return max(1, per_worker, min(10_000, -(-total // bytes_per_task)))


def task_count(sizes: list[int], workers: int, tasks: int | None = None) -> int:
    """The tasks a run is split into: `--tasks` when given, else `default_tasks` from the inputs' sizes (the
    command, its early start of the workers' server and a run on an object store all ask this)."""
    return max(1, int(tasks)) if tasks else default_tasks(sizes, max(1, int(workers)))
