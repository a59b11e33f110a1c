"""Stop and Relaunch: the page that relaunched a run follows the new one (Jobs, Runs and Training pages)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.registry import RunRegistry
from tests.app.apptest import open_page


def _interrupted(ws: Path, kind: str, argv: list[str], out: Path | None = None) -> int:
    """A run launched from the app and stopped: its row as the launcher leaves it after Ctrl-C."""
    with RunRegistry(ws) as reg:
        rid = reg.create(kind, {"argv": argv, "cwd": str(ws), "launched_from": "app"}, out)
        reg.start(rid, pid=None)
        reg.fail(rid, "interrupted by the user", status="interrupted")
    return rid


def _app(ws: Path, page: str, monkeypatch: pytest.MonkeyPatch, state: dict | None = None) -> AppTest:
    return open_page(ws, page, monkeypatch, state=state)


def _heads(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Run ")]


def _relaunch(at: AppTest, key: str, rid: int) -> None:
    at.button(key=f"relaunch-{key}-{rid}").click().run()
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("page,key", [("Jobs", "jobs"), ("Runs", "runs")])
def test_relaunch_follows_the_new_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str, key: str) -> None:
    ws = tmp_path / "ws"
    old = _interrupted(ws, "runs", ["runs", "--kind", "curate"])
    at = _app(ws, page, monkeypatch, {"follow-jobs": old} if page == "Jobs" else None)
    assert _heads(at)[0].startswith(f"**Run {old}: runs**")
    _relaunch(at, key, old)
    with RunRegistry(ws) as reg:
        new = max(r.id for r in reg.list(limit=10))
    assert new == old + 1
    assert _heads(at)[0].startswith(f"**Run {new}: runs**"), _heads(at)
    assert f"started run {new} (relaunch of run {old})" in [s.value for s in at.success]
    at.run()  # and it stays on the new run
    assert _heads(at)[0].startswith(f"**Run {new}: runs**"), _heads(at)


def test_training_page_follows_a_relaunched_training_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    out = ws / "train"
    out.mkdir(parents=True)
    # a command line that registers as train-sft and fails at once (no such config): quick, no model needed
    old = _interrupted(ws, "train-sft", ["train", "sft", "--config", str(ws / "missing.yaml"), "--out", str(out)],
                       out)
    at = _app(ws, "Training", monkeypatch)
    assert _heads(at)[0].startswith(f"**Run {old}: train-sft**")
    _relaunch(at, "train", old)
    with RunRegistry(ws) as reg:
        new = reg.get(old + 1)
    assert new is not None and new.kind == "train-sft"
    assert _heads(at)[0].startswith(f"**Run {new.id}: train-sft**"), _heads(at)
    assert at.selectbox(key="train_pick").value == new.id
