"""The Corpus page's re-threshold view against runs the red team found wrong: repeated ids, saving and re-mixing
over existing files and folders, a workspace holding runs of every kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.registry import registered_run
from curation.pipeline import curate
from curation.recipe import parse_recipe
from tests.app.app_workspace import LONG, RECIPE

SCRIPT = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")


def _app(ws: Path, page: str, monkeypatch: pytest.MonkeyPatch, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("WINNOW_WORKSPACE", str(ws))
    monkeypatch.setenv("WINNOW_ALLOW", str(Path(ws).parent))
    at = AppTest.from_file(SCRIPT, default_timeout=60)
    at.session_state["page"] = page
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [s.value for s in at.success] + [w.value for w in at.warning] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def _int(text: str) -> int:
    return int(str(text).replace(",", ""))


@pytest.fixture(scope="module")
def dup_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A curated run whose input repeats an id (a, b, a, c, d...) and holds one line that is not JSON."""
    root = tmp_path_factory.mktemp("dupws")
    ws, corpus, run = root / "ws", root / "c.jsonl", root / "run"
    ids = ["a", "b", "a", "c", "d"]
    lines = [json.dumps({"id": i, "text": LONG[k]}) for k, i in enumerate(ids)]
    lines.insert(2, "{not json")
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with registered_run(ws, "curate", {"inputs": [str(corpus)]}, run):
        m = curate([corpus], run, parse_recipe(RECIPE), workspace=ws)
    return {"ws": ws, "run": run, "manifest": m, "lines": len(lines), "repeats": 1, "bad": 1}


def test_rethreshold_counts_add_up_to_the_input_when_ids_repeat(dup_run: dict,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(dup_run["ws"], "Corpus", monkeypatch, {"run": str(dup_run["run"]), "view": "Re-threshold"})
    metrics = [(x.label, x.value) for x in at.metric]
    over = dict(metrics[:4])  # the run's overview, then the live counts
    live = {k: _int(v) for k, v in metrics[4:] if k != "recount"}
    assert _int(over["input"]) == dup_run["lines"]
    # one later copy of a repeated id and one line that is not JSON: both quarantined, counted once each
    assert live["quarantined"] == dup_run["repeats"] + dup_run["bad"]
    assert live["kept (live)"] + live["removed (live)"] + live["quarantined"] == dup_run["lines"]
