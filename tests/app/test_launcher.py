"""Launching winnow commands as background jobs recorded in the registry (real subprocesses)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app import launcher
from app.registry import Run, RunRegistry


def _wait(ws: Path, run_id: int, timeout: float = 90) -> Run:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with RunRegistry(ws) as reg:
            run = reg.get(run_id)
        if run.status not in ("queued", "running"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {run.status} after {timeout} s: {launcher.log_tail(ws, run_id)}")


def test_kind_and_out_dir_of_a_command_line(tmp_path: Path) -> None:
    assert launcher.command_kind(["curate", "a.jsonl", "--out", "r"]) == "curate"
    assert launcher.command_kind(["train", "sft", "--data", "x"]) == "train-sft"
    assert launcher.command_kind(["eval", "run", "--model", "m"]) == "eval"
    assert launcher.command_kind(["data", "sample", "--out", "x"]) == "sample"  # what the CLI itself records
    assert launcher.command_out_dir(["curate", "a", "-o", "r1"], tmp_path) == tmp_path / "r1"
    assert launcher.command_out_dir(["curate", "a", "--out=/abs/r"], tmp_path) == Path("/abs/r")
    assert launcher.command_out_dir(["runs"], tmp_path) is None


def test_launched_curation_fills_its_queued_row(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in
                              ["one two three four five six", "short", "seven eight nine ten eleven twelve"]))
    recipe = tmp_path / "r.yaml"
    recipe.write_text("signals: {length: {}}\nrules:\n  - {name: few, signal: length, column: n_words, min: 3}\n")
    t0 = time.perf_counter()
    rid = launcher.launch(ws, ["winnow", "curate", str(corpus), "--out", "run", "--recipe", str(recipe)],
                          cwd=tmp_path)
    assert time.perf_counter() - t0 < 5  # never blocks on the job
    run = _wait(ws, rid)
    assert (run.status, run.kind, run.out_dir) == ("done", "curate", str(tmp_path / "run")), run.error
    assert run.metrics["kept"] == 2 and run.metrics["removed"] == 1
    assert run.config["argv"][0] == "curate"
    with RunRegistry(ws) as reg:
        assert len(reg.list()) == 1  # the CLI used the app's row instead of making its own
    assert launcher.progress_line(run.out_dir)  # the job wrote progress.jsonl the app follows
    assert "kept 2" in launcher.log_tail(ws, rid)


def test_failing_command_is_recorded_with_its_error(tmp_path: Path) -> None:
    # a failure before the CLI reaches registered_run is settled by the launcher from the log
    rid = launcher.launch(tmp_path, ["curate", "c.jsonl", "--out", "x", "--recipe", "nope.yaml"], cwd=tmp_path)
    run = _wait(tmp_path, rid)
    assert run.status == "failed"
    assert run.error.startswith("exit code 2: error: recipe file not found") and "nope.yaml" in run.error


def test_command_without_registry_is_settled_by_the_watcher(tmp_path: Path) -> None:
    rid = launcher.launch(tmp_path, ["runs"], cwd=tmp_path)  # `winnow runs` records no run of its own
    run = _wait(tmp_path, rid)
    assert (run.status, run.kind, run.error) == ("done", "runs", None)
    assert "running" in launcher.log_tail(tmp_path, rid)  # it listed itself while it ran


def test_progress_line_format() -> None:
    rec = {"stage": "score", "done": 500, "total": 2000, "unit": "docs", "msg": None}
    assert launcher.format_progress(rec) == "score: 500/2,000 docs (25%)"
    assert launcher.format_progress({"stage": "mix", "done": 3, "unit": "shards", "msg": "writing"}) == \
        "mix: 3 shards - writing"


@pytest.mark.slow
def test_stopped_job_resumes_when_relaunched(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    corpus = tmp_path / "c.jsonl"
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    corpus.write_text("".join(json.dumps({"text": " ".join(words[(i + j) % 10] for j in range(8 + i % 5))}) + "\n"
                              for i in range(3000)))
    recipe = tmp_path / "r.yaml"
    recipe.write_text("batch_size: 25\nsignals: {length: {}}\n"
                      "rules:\n  - {name: few, signal: length, column: n_words, min: 10}\n")
    argv = ["curate", str(corpus), "--out", "run", "--recipe", str(recipe)]
    rid = launcher.launch(ws, argv, cwd=tmp_path)
    deadline = time.time() + 60
    while time.time() < deadline:  # stop it once scoring has written a batch
        if any(p.get("done") for p in launcher.read_progress(tmp_path / "run")):
            break
        time.sleep(0.05)
    with RunRegistry(ws) as reg:
        assert launcher.stop(reg.get(rid))
    stopped = _wait(ws, rid)
    if stopped.status == "done":  # the machine finished the whole job before the interrupt landed
        return
    assert stopped.status == "interrupted", stopped.error
    with RunRegistry(ws) as reg:
        again = launcher.relaunch(ws, reg.get(rid))
    run = _wait(ws, again)
    assert run.status == "done", run.error
    assert run.metrics["input"] == 3000 and run.metrics["kept"] + run.metrics["removed"] == 3000


def test_run_job_waits_and_settles_like_the_demo_needs(tmp_path: Path) -> None:
    # the demo's steps go through the same registered runner as the app's jobs
    run, rc = launcher.run_job(tmp_path, ["runs"], kind="runs", config={"demo": True})
    assert (rc, run.status, run.config["demo"], run.config["argv"]) == (0, "done", True, ["runs"])
    here = tmp_path / "here"
    here.mkdir()
    run, rc = launcher.run_job(tmp_path / "ws", ["curate", "missing.jsonl", "--out", "x"], kind="curate", cwd=here)
    assert rc == 2 and run.status == "failed" and "input not found" in run.error
    assert run.out_dir == str(here / "x")  # relative paths resolve where the demo runs, as in a shell
