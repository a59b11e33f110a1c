"""No orphans: a command's worker processes end when the command ends, however it ends.

* In the command (`stop_children_on_exit`): SIGTERM and SIGINT become KeyboardInterrupt in the main thread
  (so the run registry records `interrupted`), and on any abnormal exit every descendant process is
  terminated: executor workers, datatrove's manager process, the forkserver, NER workers.
* In a worker (`watch_parent`): the kernel sends SIGTERM when the parent dies (PR_SET_PDEATHSIG), and
  `parent_gone()` is checked between batches in case the signal was missed (a reparented worker).
  A worker of datatrove's local executor is a child of multiprocessing's forkserver, not of the command,
  and the forkserver outlives the command while any worker lives; so the worker also watches the command
  itself (`watch_driver`: a thread blocked on a pidfd, woken the moment the command exits).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1
_parent_pid: int | None = None


def _children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids of every process, read from /proc."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return children
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields after the last ')' are fixed
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(e))
    return children


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (children first)."""
    children = _children_map()
    out: list[int] = []
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _helper_process(pid: int) -> bool:
    """multiprocessing's forkserver and resource tracker (direct children of the command): they exit by
    themselves when this process does, and killing the tracker early only makes it print warnings. The
    forkserver's own children (pool workers, which share its command line) are still stopped."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read()
    except OSError:
        return False
    return b"resource_tracker" in cmd or b"forkserver" in cmd


def terminate_descendants(pid: int | None = None, grace: float = 3.0, keep: set[int] | frozenset[int] = frozenset(),
                          ) -> int:
    """SIGTERM every descendant (but those in `keep`), then SIGKILL what is left after `grace` seconds;
    returns how many."""
    pid = os.getpid() if pid is None else pid
    helpers = {p for p in _children(pid) if _helper_process(p)} | set(keep)
    procs = [p for p in descendants(pid) if p not in helpers]
    for p in procs:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap()
        if not any(_alive(p) for p in procs):
            break
        time.sleep(0.05)
    for p in procs + descendants(pid):  # and anything started meanwhile
        if _alive(p) and p not in helpers:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _reap()
    return len(procs)


def _children(pid: int) -> list[int]:
    return _children_map().get(pid, [])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (OSError, IndexError):
        return False


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


_CLAIMED: set[int] = set()


def claim_children(pids: Iterable[int]) -> None:
    """Mark processes this command started before `stop_children_on_exit` as its own, to be stopped with it."""
    _CLAIMED.update(pids)


@contextmanager
def stop_children_on_exit() -> Iterator[None]:
    """Around a command's work: signals become KeyboardInterrupt, and an abnormal exit stops the processes
    started inside the block (never ones the caller already had)."""
    in_main = threading.current_thread() is threading.main_thread()
    old: dict[int, object] = {}
    signalled: list[int] = []
    # processes that were already there are not this command's (a test session's servers, an app's jobs),
    # but for those it started itself before the block (the workers' server, curation/worker_server.py)
    before = frozenset(descendants(os.getpid())) - _CLAIMED

    def _interrupt(signum: int, frame: object) -> None:
        signalled.append(signum)
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    if in_main:
        for s in (signal.SIGTERM, signal.SIGINT):
            old[s] = signal.signal(s, _interrupt)
    try:
        yield
    except BaseException:
        if in_main:  # a second signal while we clean up must not cut the cleanup short
            for s in old:
                signal.signal(s, signal.SIG_IGN)
        if signalled:  # this process leaves right after (`_leave_now`): no worker may start again
            _refuse_new_workers()
        terminate_descendants(keep=before)
        if signalled:
            # multiprocessing's exit handlers would wait for a pool whose workers are gone (seen to hang):
            # once the command has recorded the interruption and unwound, leave without them
            atexit.register(_leave_now, 128 + signal.SIGINT, before)
        raise
    finally:
        for s, h in old.items():
            signal.signal(s, h)  # type: ignore[arg-type]


def _refuse_new_workers() -> None:
    """While a stopped command unwinds, its pool's handler thread replaces the workers just stopped, and to fork
    them it starts a new forkserver (the old one is stopped too), which then outlives the command: seen as an
    orphaned server after SIGTERM. From here on, asking for a new process raises in that thread instead."""

    def refuse() -> None:
        raise RuntimeError("the command is stopping: no new worker processes")

    for name in ("multiprocess.forkserver", "multiprocessing.forkserver"):
        module = sys.modules.get(name)
        if module is not None:
            module._forkserver.ensure_running = refuse  # connect_to_new_process asks this first


def _leave_now(code: int, keep: frozenset[int] = frozenset()) -> None:
    """Last exit handler to be registered, so the first to run: stop whatever is still running (a pool may
    have started new workers since the first sweep, and the forkserver that starts them goes first), flush,
    and exit, skipping the other handlers."""
    me = os.getpid()
    for p in sorted((p for p in descendants(me) if p not in keep), key=lambda p: not _helper_process(p)):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def watch_parent() -> None:
    """In a worker process: die with the parent (SIGTERM from the kernel), and remember who it is."""
    global _parent_pid
    _parent_pid = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the ppid check below still works
        pass
    if os.getppid() != _parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def watch_driver(driver_pid: int) -> None:
    """In a worker on the command's machine: exit as soon as the command (`driver_pid`) is gone, stopping
    this worker's own children first. A daemon thread waits on a pidfd (or polls, where there is none)."""
    global _parent_pid

    def stop() -> None:
        terminate_descendants(grace=1.0)
        os._exit(75)

    def wait_pidfd(fd: int) -> None:
        import select

        p = select.poll()
        p.register(fd, select.POLLIN)
        p.poll()
        stop()

    def poll_pid() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(driver_pid, 0)
            except ProcessLookupError:
                stop()
            except PermissionError:
                pass

    try:
        fd = os.pidfd_open(driver_pid)
        target, args = wait_pidfd, (fd,)
    except ProcessLookupError:
        stop()
        return
    except (AttributeError, OSError):
        target, args = poll_pid, ()
    threading.Thread(target=target, args=args, name="winnow-watch-driver", daemon=True).start()


def parent_gone() -> bool:
    """True when the worker's parent has died since `watch_parent` (the worker was reparented)."""
    return _parent_pid is not None and os.getppid() != _parent_pid


def set_parent_death_signal() -> None:
    """Manager/initializer hook: the kernel stops this process when its parent dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
