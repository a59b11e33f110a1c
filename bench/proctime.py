"""Time whole commands the way a user meets them: wall time to exit, and CPU time of the whole process tree.

`run_timed(argv)` starts the command as a child and returns its wall time (start to exit, start-up
included) and the user + system CPU of every process it started, however deep. CPU comes from
`getrusage(RUSAGE_CHILDREN)`: a process's CPU reaches its parent when the parent reaps it. Pool workers
that outlive their parent (multiprocessing's forkserver, datatrove's and our executors use it) would be
reparented to init and lost, so this process makes itself a child subreaper (Linux `prctl`): orphans
come to us, and we reap them all before reading the clock of CPU.

`alternate(sides, rounds)` runs the sides in turn, round after round (A B A B ...), so a machine whose
load drifts treats them alike, and reports medians.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PR_SET_CHILD_SUBREAPER = 36
_subreaper = False


def _become_subreaper() -> None:
    global _subreaper
    if _subreaper or sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    _subreaper = True


def _reap_orphans(timeout: float = 60.0) -> None:
    """Wait for every descendant reparented to us (pool workers, forkservers) to exit."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                print("warning: descendants still running after the command exited; their CPU is not counted",
                      file=sys.stderr)
                return
            time.sleep(0.02)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass
class Timed:
    wall: float
    cpu: float
    rc: int
    stdout: str
    stderr: str


def run_timed(argv: Sequence[str], env: dict[str, str] | None = None, cwd: str | Path | None = None,
              check: bool = True) -> Timed:
    """Run `argv` to completion; wall seconds to its exit and CPU seconds of its whole process tree."""
    _become_subreaper()
    _reap_orphans(0.0)
    c0 = _children_cpu()
    t0 = time.perf_counter()
    p = subprocess.run(list(argv), capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    _reap_orphans()
    cpu = _children_cpu() - c0
    if check and p.returncode != 0:
        raise RuntimeError(f"command failed ({p.returncode}): {' '.join(map(str, argv))}\n{p.stderr[-3000:]}")
    return Timed(wall, cpu, p.returncode, p.stdout, p.stderr)


@dataclass
class Side:
    """One side of a comparison: a name and a function that prepares and runs one timed command."""

    name: str
    run: Callable[[], Timed]
    results: list[Timed] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.results)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.results)


def alternate(sides: list[Side], rounds: int, verbose: bool = True) -> list[Side]:
    """Run each side once per round, in turn; rounds alternate which side goes first."""
    for r in range(rounds):
        order = sides if r % 2 == 0 else list(reversed(sides))
        for s in order:
            t = s.run()
            s.results.append(t)
            if verbose:
                print(f"  round {r + 1}: {s.name:<28} wall {t.wall:7.2f} s  cpu {t.cpu:7.2f} s", flush=True)
    return sides


def machine() -> str:
    """One line about this machine and its load, for the record."""
    load = os.getloadavg()
    return (f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
            f"load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, Python {platform.python_version()}")


def winnow_cmd() -> list[str]:
    """The `winnow` command of this checkout (the console script, or `python -m app.cli`)."""
    exe = Path(sys.executable).with_name("winnow")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "app.cli"]


def bench_env(**extra: str) -> dict[str, str]:
    """The environment both sides run in: offline, no progress bar, one BLAS/OpenMP thread per process."""
    env = {**os.environ, "WINNOW_NO_BAR": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.update(extra)
    return env


def report(a: Side, b: Side, bar: float | None = None, label: str = "") -> dict[str, float]:
    """Print and return `b / a` ratios (how many times faster `a` is than `b`) of median wall and CPU."""
    rw, rc = b.wall / a.wall, b.cpu / a.cpu
    bar_s = f"  (bar: >= {bar:g}x)" if bar else ""
    print(f"{label or a.name + ' vs ' + b.name}: {a.name} {a.wall:.2f} s wall / {a.cpu:.2f} s cpu, "
          f"{b.name} {b.wall:.2f} s / {b.cpu:.2f} s -> RATIO {rw:.1f}x wall, {rc:.1f}x cpu{bar_s}", flush=True)
    return {"ours_wall": a.wall, "ours_cpu": a.cpu, "base_wall": b.wall, "base_cpu": b.cpu,
            "ratio_wall": rw, "ratio_cpu": rc}
