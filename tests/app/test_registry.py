"""The run registry: lifecycle, dead jobs marked interrupted, several writers at once."""

import multiprocessing as mp
import subprocess
import sys
from pathlib import Path

import pytest

from app.registry import RunRegistry, registered_run


def test_lifecycle_and_metrics(tmp_path: Path) -> None:
    with registered_run(tmp_path, "curate", {"a": 1}, tmp_path / "out") as (reg, rid):
        assert reg.get(rid).status == "running"
        reg.set_metrics(rid, {"kept": 3})
    with RunRegistry(tmp_path) as reg:
        run = reg.get(rid)
    assert (run.status, run.config, run.metrics, run.out_dir) == ("done", {"a": 1}, {"kept": 3},
                                                                  str(tmp_path / "out"))
    assert run.ended >= run.started


def test_failure_is_recorded(tmp_path: Path) -> None:
    with pytest.raises(ValueError), registered_run(tmp_path, "train-sft", {}) as (_, rid):
        raise ValueError("boom")
    with RunRegistry(tmp_path) as reg:
        run = reg.get(rid)
    assert run.status == "failed" and "boom" in run.error


def test_dead_job_is_marked_interrupted_on_next_open(tmp_path: Path) -> None:
    code = ("import os, sys; from app.registry import RunRegistry\n"
            f"r = RunRegistry({str(tmp_path)!r}); i = r.create('eval', {{}}); r.start(i); print(i); os._exit(9)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    rid = int(out.stdout.strip())
    with RunRegistry(tmp_path) as reg:
        run = reg.get(rid)
    assert run.status == "interrupted" and run.error


def _writer(ws: str, n: int) -> None:
    with RunRegistry(ws) as reg:
        for i in range(n):
            rid = reg.create("curate", {"i": i})
            reg.start(rid)
            reg.finish(rid, {"i": i})


def test_several_writers(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with RunRegistry(tmp_path) as reg:
        runs = reg.list(limit=1000)
    assert len(runs) == 100 and {r.status for r in runs} == {"done"}


def test_queued_row_is_claimed_with_the_commands_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RunRegistry(tmp_path) as reg:
        rid = reg.create("guessed-kind", {"argv": ["classifier", "train"]})
    monkeypatch.setenv("WINNOW_RUN_ID", str(rid))
    with registered_run(tmp_path, "classifier-quality", {}) as (_, got):
        assert got == rid
    with RunRegistry(tmp_path) as reg:
        run = reg.get(rid)
    assert (run.kind, run.status) == ("classifier-quality", "done")


def test_forked_child_closing_the_run_does_not_record_its_end(tmp_path: Path) -> None:
    """datatrove's executor forks a manager process that inherits the suspended run; its exit (GC closes the
    generator) or a Ctrl-C landing in it must not write the job's end."""
    import os

    cm = registered_run(tmp_path, "curate", {})
    _, rid = cm.__enter__()
    for how in ("close", "interrupt"):
        pid = os.fork()
        if pid == 0:
            try:
                if how == "close":
                    cm.gen.close()
                else:
                    cm.gen.throw(KeyboardInterrupt)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        with RunRegistry(tmp_path) as reg:
            assert reg.get(rid).status == "running", how
    cm.__exit__(None, None, None)
    with RunRegistry(tmp_path) as reg:
        assert reg.get(rid).status == "done"


def test_claimed_queued_row_keeps_its_output_folder_and_config(tmp_path: Path) -> None:
    # the app (or the demo) queues a row without knowing the output folder; the command's claim fills it in
    with RunRegistry(tmp_path) as reg:
        rid = reg.create("mix", {"argv": ["mix", "r"], "cwd": "/w", "launched_from": "app"}, None)
    with registered_run(tmp_path, "mix", {"run_dir": "r", "recipe": None}, tmp_path / "out", run_id=rid):
        pass
    with RunRegistry(tmp_path) as reg:
        run = reg.get(rid)
    assert run.status == "done" and run.out_dir == str(tmp_path / "out")
    assert run.config == {"argv": ["mix", "r"], "cwd": "/w", "launched_from": "app", "run_dir": "r", "recipe": None}
