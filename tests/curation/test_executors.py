"""How many tasks a curate makes of its inputs when --tasks is not given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from curation.executors import default_tasks

ROOT = Path(__file__).resolve().parents[2]

MB = 1 << 20


def test_a_small_input_is_one_task_whatever_the_workers() -> None:
    # ten short documents: a second process would cost more start-up than the work it takes over
    assert default_tasks([30_000], workers=2) == 1
    assert default_tasks([3 * MB], workers=8) == 1


def test_each_worker_gets_a_task_once_the_input_is_worth_splitting() -> None:
    assert default_tasks([9 * MB], workers=2) == 2
    assert default_tasks([9 * MB], workers=8) == 3  # 4 MiB or more a task
    assert default_tasks([100 * MB], workers=8) == 8


def test_a_large_input_is_cut_in_128_mib_tasks_beyond_the_workers() -> None:
    assert default_tasks([1000 * MB, 1000 * MB], workers=2) == 16  # 2000 MiB / 128 MiB, rounded up
    assert default_tasks([10**15], workers=2) == 10_000


def test_the_ray_executor_is_datatrove_s_and_reaches_workers_by_name(tmp_path) -> None:
    """Ray ships the executor to its workers pickled: the class must be found by name there (it is made on
    first use, so the module has to answer for it), and it must stay datatrove's executor (its rank
    bookkeeping, completions and stats are what resume relies on)."""
    import pickle

    from datatrove.executor.ray import RayPipelineExecutor

    from curation import executors

    ex = executors.ray_executor_class()(pipeline=[], tasks=3, workers=2, logging_dir=str(tmp_path / "logs"))
    assert isinstance(ex, RayPipelineExecutor)
    data = pickle.dumps(ex)
    assert b"RankTaskExecutor" in data and b"curation.executors" in data  # by reference, not by value
    # a fresh process (as a Ray worker is) that has not made the class yet
    code = ("import pickle, sys; ex = pickle.loads(sys.stdin.buffer.read()); "
            "print(type(ex).__module__, type(ex).__name__, ex.world_size, ex.workers)")
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, cwd=ROOT, check=True)
    assert out.stdout.decode().split() == ["curation.executors", "RankTaskExecutor", "3", "2"]


def test_task_count_takes_tasks_when_given_else_splits_by_size() -> None:
    from curation.executors import task_count

    assert task_count([1 << 20], workers=2, tasks=5) == 5  # --tasks wins, even for a small input
    assert task_count([1 << 20], workers=2) == 1  # under 4 MiB a task: one task, in the command's process
    assert task_count([300 << 20], workers=2) == 3  # ~128 MB a task: 300 MB is 3 tasks
    assert task_count([20 << 20], workers=8) == 5  # one per worker while each gets 4 MiB or more


class _FakeRay:
    """Just enough of `ray` for the run loop: each submitted rank "runs" by raising what `outcome(rank)` says."""

    def __init__(self, outcome) -> None:  # noqa: ANN001
        self.outcome, self.submitted = outcome, []

    def remote(self, fn):  # noqa: ANN001, ANN201
        ray = self

        class _Task:
            def options(self, **_kw):  # noqa: ANN003, ANN202
                return self

            def remote(self, _ref, rank, _cpus):  # noqa: ANN001, ANN202
                ray.submitted.append(rank)
                return (rank, len(ray.submitted))

        return _Task()

    def put(self, obj):  # noqa: ANN001, ANN201
        return obj

    def wait(self, refs, num_returns=1):  # noqa: ANN001, ANN201
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):  # noqa: ANN001, ANN201
        err = self.outcome(ref[0])
        if err is not None:
            raise err


def test_ray_loop_retries_a_lost_worker_a_bounded_number_of_times_and_never_a_task_error(monkeypatch, tmp_path) -> None:
    import sys
    import types

    import ray.exceptions as rex
    from ray import cloudpickle

    from curation import executors

    lost = rex.WorkerCrashedError()
    fake = _FakeRay(lambda rank: lost if rank == 0 else ValueError("the task's own bug") if rank == 1 else None)
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(remote=fake.remote, put=fake.put, wait=fake.wait,
                                                                   get=fake.get, exceptions=rex,
                                                                   cloudpickle=cloudpickle))
    monkeypatch.setattr(executors, "_RUN_RANK", None)
    ex = types.SimpleNamespace(world_size=3, workers=2, cpus_per_task=1, gpus_per_task=0, mem_per_cpu_gb=1,
                               ray_remote_kwargs=None, get_incomplete_ranks=lambda ranks: list(ranks),
                               save_executor_as_json=lambda: None)
    executors._run_rank_tasks(ex)  # two ranks fail: it says so and writes no merged stats
    assert fake.submitted.count(0) == 1 + executors.MAX_RESUBMITS  # a lost worker: run again, up to the bound
    assert fake.submitted.count(1) == 1  # the task's own error: not run again
    assert fake.submitted.count(2) == 1



def test_a_stage_whose_task_did_not_complete_is_an_error_naming_it(monkeypatch, tmp_path: Path) -> None:
    """On Ray a failed task is logged and the executor returns (`_run_rank_tasks`): `run_stage` must notice the
    missing completion. A stand-in executor that completes task 0 of 2 (datatrove's completions layout)."""
    import types

    import pytest

    from curation import executors
    from curation.errors import WinnowError

    def fake_executor(kind, pipeline, *, tasks, workers, logging_dir, mem_per_cpu_gb=1):  # noqa: ANN001, ANN202
        def run() -> None:
            (Path(logging_dir) / "completions").mkdir(parents=True)
            (Path(logging_dir) / "completions" / "00000").write_text("")

        return types.SimpleNamespace(run=run)

    monkeypatch.setattr(executors, "make_executor", fake_executor)
    with pytest.raises(WinnowError, match=r"^search index: tasks \[1\] did not complete"):
        executors.run_stage("ray", [], tasks=2, workers=1, logging_dir=str(tmp_path / "two"), what="search index")
    executors.run_stage("ray", [], tasks=1, workers=1, logging_dir=str(tmp_path / "one"), what="search index")


def test_a_ray_rank_logs_through_its_own_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """datatrove's Ray executor logs a task under `<tempdir>/ray_logs/` before copying the log to the run: each rank
    gets its own folder there (two runs with the same rank on one node no longer share a file), the run's copy
    of the log is whole, and the folder is gone when the rank ends."""
    import tempfile

    from datatrove.pipeline.base import PipelineStep
    from ray import cloudpickle

    from curation.executors import _rank_task, ray_executor_class

    monkeypatch.setenv("POLARS_MAX_THREADS", "1")  # a rank sets it for its worker process: not for this one
    notes = tmp_path / "seen.txt"

    class Note(PipelineStep):  # runs in a copy of the executor (it comes pickled): it notes in a file
        name = "note"
        type = "test"

        def run(self, data=None, rank: int = 0, world_size: int = 1):  # noqa: ANN001, ANN201
            with open(notes, "a") as f:
                f.write(tempfile.gettempdir() + "\n")
            return iter(())

    system_tmp = tempfile.gettempdir()
    for run in ("a", "b"):
        ex = ray_executor_class()(pipeline=[Note()], tasks=1, workers=1, logging_dir=str(tmp_path / run),
                                  skip_completed=True, cpus_per_task=1, mem_per_cpu_gb=1)
        _rank_task(cloudpickle.dumps(ex), 0)
        assert "Processing done for rank=0" in (tmp_path / run / "logs" / "task_00000.log").read_text()
    seen = notes.read_text().splitlines()
    assert len(set(seen)) == 2 and system_tmp not in seen
    assert all(Path(d).parent == Path(system_tmp) and not Path(d).exists() for d in seen)
    assert tempfile.gettempdir() == system_tmp  # restored


def test_local_workers_share_the_cpus_polars_threads_and_the_command_keeps_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two local workers on this machine's CPUs: each worker's Polars pool gets half of them (at least one), not
    every CPU (two workers x all CPUs of threads contend for the cores); the command's own pool and environment
    are left as they were."""
    import os

    import polars as pl

    from curation.executors import THREADS_ENV, make_executor
    from curation.worker_server import stop_worker_server
    from tests.curation.thread_probe import PolarsThreads

    monkeypatch.delenv(THREADS_ENV, raising=False)  # a value set by the user would win (as it should)
    # the CPUs as Polars itself counts them, in a fresh process with no setting
    cpus = int(subprocess.run([sys.executable, "-c", "import polars; print(polars.thread_pool_size())"],
                              capture_output=True, text=True, check=True,
                              env={k: v for k, v in os.environ.items() if k != THREADS_ENV}).stdout)
    own = pl.thread_pool_size()
    stop_worker_server()  # one started by an earlier test would be reused as it is
    try:
        make_executor("local", [PolarsThreads(str(tmp_path))], tasks=2, workers=2,
                      logging_dir=str(tmp_path / "logs")).run()
    finally:
        stop_worker_server()
    assert [int((tmp_path / f"{r}.txt").read_text()) for r in (0, 1)] == [max(1, cpus // 2)] * 2
    assert pl.thread_pool_size() == own
    assert THREADS_ENV not in os.environ


def test_available_cpus_follow_a_container_quota(tmp_path: Path) -> None:
    """A cgroup v2 CPU quota (`docker --cpus 1.5`: "150000 100000") caps the CPUs the workers share, as it caps
    Polars' own count; no quota ("max") or no such file leaves the CPUs this process may run on."""
    import os

    from curation.executors import available_cpus

    mine = len(os.sched_getaffinity(0))
    f = tmp_path / "cpu.max"
    for text, want in (("150000 100000\n", 1), ("400000 100000\n", min(mine, 4)), ("max 100000\n", mine),
                       ("weird\n", mine)):
        f.write_text(text)
        assert available_cpus(f) == min(mine, want)
    assert available_cpus(tmp_path / "absent") == mine


class _FakeRayConnection:
    """`ray`'s connection calls: each init is a new driver (worker id); shutdown records itself. Every connection
    gets the same job id, as the first job of a fresh cluster does."""

    def __init__(self, connected: str | None = None) -> None:
        self.driver, self.inits, self.shutdowns = connected, 0, 0

    def is_initialized(self) -> bool:
        return self.driver is not None

    def init(self, **_kw) -> None:  # noqa: ANN003
        self.inits += 1
        self.driver = f"driver-{self.inits}"

    def shutdown(self) -> None:
        self.shutdowns += 1
        self.driver = None

    def get_runtime_context(self):  # noqa: ANN201
        import types

        return types.SimpleNamespace(get_worker_id=lambda: self.driver, get_job_id=lambda: "01000000")


def test_a_command_leaves_the_ray_connection_it_made_and_no_other(monkeypatch) -> None:
    """The command disconnects at its end (Ray's exit hook would sleep 0.5 s first), but only from a connection
    `ensure_ray` made: one a test or a notebook made stays, even after an earlier command's was closed."""
    from curation import executors

    fake = _FakeRayConnection()
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(executors, "_JOINED", None)
    executors.ensure_ray(2)
    executors.ensure_ray(2)  # a second stage of the same command: same connection
    assert fake.inits == 1
    executors.leave_ray()
    assert (fake.shutdowns, fake.is_initialized()) == (1, False)
    executors.leave_ray()  # nothing left to leave
    assert fake.shutdowns == 1

    executors.ensure_ray(2)
    fake.shutdown()  # someone else closed it, then connected on their own (a fresh cluster: same job id)
    fake.init()
    executors.ensure_ray(2)
    executors.leave_ray()
    assert (fake.shutdowns, fake.is_initialized()) == (1 + 1, True)

    other = _FakeRayConnection(connected="theirs")
    monkeypatch.setitem(sys.modules, "ray", other)
    monkeypatch.setattr(executors, "_JOINED", None)
    executors.ensure_ray(2)
    executors.leave_ray()
    assert (other.inits, other.shutdowns) == (0, 0)


def test_the_cli_leaves_ray_after_a_command_whether_it_failed_or_not(monkeypatch, tmp_path: Path) -> None:
    from app import cli
    from curation import executors

    calls = []
    monkeypatch.setattr(executors, "leave_ray", lambda: calls.append(1))
    assert cli.main(["curate", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "run")]) == 2
    assert cli.main(["--help"]) == 0
    assert calls == [1, 1]


def test_a_stopped_command_kills_its_ray_tasks_before_going_on(monkeypatch, tmp_path) -> None:
    """Ctrl-C while ranks run: the ranks in flight are cancelled (force: their workers go) and waited for, before
    the command goes on to release its lock; the interrupt still reaches the command."""
    import types

    import ray.exceptions as rex
    from ray import cloudpickle

    from curation import executors

    fake = _FakeRay(lambda rank: None)
    cancelled, waited = [], []

    def wait(refs, num_returns=1, timeout=None):  # noqa: ANN001, ANN202
        if timeout is None:
            raise KeyboardInterrupt  # Ctrl-C while the command waits for its tasks
        waited.append((sorted(r[0] for r in refs), num_returns))
        return refs, []

    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(
        remote=fake.remote, put=fake.put, wait=wait, get=fake.get, exceptions=rex, cloudpickle=cloudpickle,
        cancel=lambda ref, force=False: cancelled.append((ref[0], force))))
    monkeypatch.setattr(executors, "_RUN_RANK", None)
    ex = types.SimpleNamespace(world_size=3, workers=2, cpus_per_task=1, gpus_per_task=0, mem_per_cpu_gb=1,
                               ray_remote_kwargs=None, get_incomplete_ranks=lambda ranks: list(ranks),
                               save_executor_as_json=lambda: None)
    with pytest.raises(KeyboardInterrupt):
        executors._run_rank_tasks(ex)
    assert sorted(cancelled) == [(0, True), (1, True)]  # the two in flight; rank 2 was never started
    assert waited == [([0, 1], 2)]
    assert fake.submitted == [0, 1]


@pytest.mark.slow
def test_a_killed_local_worker_fails_the_command_and_a_rerun_resumes(tmp_path: Path) -> None:
    """A worker killed mid-task (as by the OOM killer): datatrove's pool waited forever for its task with no CPU
    used. Now the command exits with one line within seconds, stops its other workers and releases the run
    folder; the same command again finishes the run with the clean run's decisions for every document."""
    import os
    import signal
    import time

    from curation.pipeline import curate
    from curation.recipe import load_recipe
    from tests.curation.test_faults import RECIPE_YAML, _cli, _result, _wait_for, _with_env, _write_corpus

    inputs, flags = tmp_path / "in", tmp_path / "flags"
    inputs.mkdir()
    flags.mkdir()
    _write_corpus(inputs / "a.jsonl", n=80)  # ten batches of 8: its worker pauses at its third
    _write_corpus(tmp_path / "b-src.jsonl", n=12)
    (inputs / "b.jsonl").write_text((tmp_path / "b-src.jsonl").read_text().replace('"id": "d', '"id": "b'))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE_YAML, encoding="utf-8")
    args = ["curate", str(inputs), "--out", str(tmp_path / "run"), "-r", str(recipe), "--tasks", "2",
            "--workers", "2"]
    proc = _cli(args, tmp_path, env={"WINNOW_FAULT": "score.batch_start@3:pause", "WINNOW_FAULT_FLAG_DIR": str(flags)},
                wait=False)
    try:
        _wait_for(lambda: any(flags.iterdir()), what="a worker to pause at its third batch")
        os.kill(int(next(flags.iterdir()).name), signal.SIGKILL)
        t0 = time.monotonic()
        proc.wait(timeout=60)  # before: never returned
        waited = time.monotonic() - t0
        _wait_for(lambda: not _with_env("WINNOW_FAULT_FLAG_DIR", str(flags)), timeout=30,
                  what="the command's other processes to stop")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    out = proc.log_path.read_text()  # type: ignore[attr-defined]
    assert proc.returncode == 2, out[-2000:]
    assert "a worker process died (signal 9, possibly out of memory); rerun the same command to resume" in out
    assert "Traceback" not in out
    assert waited < 30
    rerun = _cli(args, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    clean = tmp_path / "clean"
    curate([inputs], clean, load_recipe(recipe))
    assert _result(tmp_path / "run") == _result(clean)
