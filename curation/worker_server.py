"""The local workers' server, started as early as a command knows it will need one.

datatrove's local executor forks its workers from a forkserver, which imports the scoring code once (the
`preload` modules) and forks every worker with it loaded. Started when the pool is made, the server's imports
(~1 s) run after the command's own imports and checks, one after the other; started first, they run beside
them on the second core, and the workers start as soon as scoring does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

STEPS_ENV = "WINNOW_WORKER_STEPS"  # the steps whose modules `curation.worker_steps` imports in the server


def worker_preload(step_names: Iterable[str]) -> list[str]:
    """Modules a scoring worker needs for these steps: the scoring code, each step's module and the heavy
    modules it names (`SignalStep.preload`)."""
    from curation.steps import get_step

    classes = [get_step(n) for n in step_names]
    return ["curation.scoring", *dict.fromkeys(m for c in classes for m in (c.__module__, *c.preload))]


def start_worker_server(preload: list[str], workers: int) -> None:
    """Start the forkserver now, importing `preload` there, without waiting for it (a no-op once running).

    Only the first `set_forkserver_preload` before the server starts counts, so a later `make_executor`
    finds this one running. A module that fails to import there is skipped; the worker imports it itself.
    The server, and so each worker, sizes its Polars pool for one of `workers` processes
    (`executors.worker_threads`); this process's own pool is sized already and stays as it is.
    The processes started here are the command's own (`processes.claim_children`): an interrupted command
    stops them like the ones it starts later."""
    import multiprocess
    from multiprocess import forkserver

    from curation.executors import THREADS_ENV, worker_threads
    from curation.processes import claim_children, descendants

    before = set(descendants(os.getpid()))
    multiprocess.get_context("forkserver").set_forkserver_preload(list(preload))
    with _server_env({THREADS_ENV: worker_threads(workers)}):
        forkserver.ensure_running()
    claim_children(set(descendants(os.getpid())) - before)  # the server and its resource tracker


def start_worker_server_for_steps(step_names: Iterable[str], workers: int) -> None:
    """Start the forkserver for these steps before this process has imported any of them: the server looks up
    their modules itself (`curation.worker_steps`, which reads the names from its environment)."""
    with _server_env({STEPS_ENV: ",".join(step_names)}):
        start_worker_server(["curation.scoring", "curation.worker_steps"], workers)


@contextmanager
def _server_env(values: dict[str, str]) -> Iterator[None]:
    """`values` in this process's environment while the server starts (it inherits them), as before after: nothing
    started later should see them."""
    outer = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in outer.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def stop_worker_server() -> None:
    """Stop the server once scoring is done (nothing else forks from it): killed, it exits at once, where left
    to the end of the command it would tear down its Polars, Arrow and numba after the command had finished
    (~0.15 s that a caller waiting for the command's output also waits for). A later pool starts a new one.
    The server is the process's: two curates running at once in one process would share it (none does)."""
    import signal

    from multiprocess import forkserver

    server = forkserver._forkserver
    with server._lock:
        pid = server._forkserver_pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            server._stop_unlocked()  # closes the "alive" pipe and reaps the server
        except ChildProcessError:  # reaped already (a waitpid(-1) elsewhere): forget it all the same
            server._forkserver_alive_fd = server._forkserver_address = server._forkserver_pid = None

