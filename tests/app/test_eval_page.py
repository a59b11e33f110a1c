"""The Evaluation page on a perplexity-only report (what `ablate` evaluates its arms with)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.registry import registered_run

SCRIPT = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")


def test_a_perplexity_only_report_shows_its_perplexity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws, out = tmp_path / "ws", tmp_path / "eval-ppl"
    out.mkdir()
    # as `eval run --perplexity heldout.jsonl` writes it: no benchmark scores, a perplexity block
    ppl = {"file": str(tmp_path / "heldout.jsonl"), "word_perplexity": 8235.35, "byte_perplexity": 4.909,
           "bits_per_byte": 2.2954}
    (out / "report.json").write_text(json.dumps({"fingerprint": {"model": {"path": "/m/tiny"}}, "scores": {},
                                                 "perplexity": ppl, "files": {}}), encoding="utf-8")
    with registered_run(ws, "eval", {"out": str(out)}, out):
        pass
    monkeypatch.setenv("WINNOW_WORKSPACE", str(ws))
    at = AppTest.from_file(SCRIPT, default_timeout=60)
    at.session_state["page"] = "Evaluation"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    runs = at.dataframe[0].value
    assert runs["word perplexity"].iloc[0] == pytest.approx(8235.35)
    assert runs["bits per byte"].iloc[0] == pytest.approx(2.2954)
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"word perplexity": "8235", "byte perplexity": "4.909", "bits per byte": "2.295"}
    assert not any(d.value.empty for d in at.dataframe)  # no empty scores table
