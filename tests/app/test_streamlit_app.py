"""The Streamlit app, headless (AppTest), against a workspace with a real curation run."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.ui.common import workspace_from
from app.ui.train_page import curves, read_metrics
from tests.app.app_workspace import make_workspace

SCRIPT = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_workspace(tmp_path_factory.mktemp("appws"))


def _app(built: dict, page: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("WINNOW_WORKSPACE", str(built["ws"]))
    at = AppTest.from_file(SCRIPT, default_timeout=60)
    at.session_state["page"] = page
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _doc_box(at: AppTest):  # noqa: ANN202 - streamlit's element type
    return next(b for b in at.selectbox if b.label == "document")


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [s.value for s in at.success] + [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [h.value for h in at.subheader] + [h.value for h in at.header]
    return "\n".join(str(p) for p in parts)


def test_workspace_from_args_then_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WINNOW_WORKSPACE", str(tmp_path / "env"))
    assert workspace_from(["--workspace", str(tmp_path / "arg")]) == tmp_path / "arg"
    assert workspace_from([]) == tmp_path / "env"


def test_runs_page_lists_every_run(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(built, "Runs", monkeypatch)
    table = at.dataframe[0].value
    assert sorted(table["kind"]) == ["curate", "eval", "eval", "train-sft"]
    assert set(table["status"].str.split(" ").str[-1]) == {"done"}
    curate_row = table[table["kind"] == "curate"].iloc[0]
    assert f"kept={built['manifest']['kept']}" in curate_row["metrics"]
    at.selectbox(key="runs_pick").set_value(int(curate_row["id"])).run()
    assert "Run 1: curate (done)" in _texts(at)


def test_corpus_page_counts_and_removal_reasons(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    m = built["manifest"]
    assert (m["input"], m["kept"], m["removed"], m["quarantined"]) == (10, 6, 3, 1)  # input counts quarantine
    at = _app(built, "Corpus", monkeypatch)
    metrics = {x.label: x.value for x in at.metric}
    assert metrics == {"input": "10", "kept": "6", "removed": "3", "quarantined": "1"}
    # removed by the length rule: the reason names the rule and the value that did it
    at.selectbox(key="corpus_status").set_value("removed").run()
    at.selectbox(key="corpus_rule").set_value("length.min_words").run()
    page = at.dataframe[0].value
    assert sorted(page["id"]) == ["short1", "short2"]
    assert set(page["rule"]) == {"length.min_words"}
    doc = _doc_box(at)
    doc.set_value("short1").run()
    err = "\n".join(e.value for e in at.error)
    assert "Removed by rule `length.min_words`" in err and "value 2" in err
    assert any(t.value == "too short" for t in at.text_area)
    # a duplicate shows the kept copy beside it
    at.selectbox(key="corpus_rule").set_value("exact_duplicate").run()
    _doc_box(at).set_value("dup1").run()
    areas = {t.label: t.value for t in at.text_area}
    assert areas["removed text"] == areas["kept text"]
    assert "Kept copy** `d2`" in _texts(at)
    # the signal values of the selected document
    sig = at.dataframe[1].value
    assert set(sig["step"]) == {"length", "exact_dedup"}
    # quarantine tab: the malformed line with its line number
    q = at.dataframe[-1].value
    assert list(q["line"]) == [4]


def test_corpus_text_search_and_kept_filter(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(built, "Corpus", monkeypatch)
    at.text_input(key="corpus_search").set_value("LIBRARY").run()
    assert list(at.dataframe[0].value["id"]) == ["d3"]
    at.text_input(key="corpus_search").set_value("").run()
    at.selectbox(key="corpus_status").set_value("kept").run()
    assert sorted(at.dataframe[0].value["id"]) == [f"d{i}" for i in range(6)]


def test_signal_histogram_shows_rule_threshold(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(built, "Corpus", monkeypatch)
    assert at.selectbox(key="hist_step").value == "length"  # the step a min/max rule reads comes first
    assert at.selectbox(key="hist_col_length").value == "n_words"  # the column a rule reads comes first
    assert "red line: length.min_words (min 5)" in _texts(at)


def test_training_page_draws_loss_curves(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(built, "Training", monkeypatch)
    assert len(at.get("vega_lite_chart")) == 2  # st.line_chart: loss + eval_loss, learning rate
    assert "**Loss**" in _texts(at) and "**Learning rate**" in _texts(at)
    loss = curves(read_metrics(built["train"]), ["loss", "eval_loss"])  # the torn last line is skipped
    assert loss["step"].to_list() == [1, 2, 3, 4, 5]
    assert loss["eval_loss"].to_list() == [None, None, None, None, 2.5]
    assert loss["loss"][-1] == pytest.approx(2.0)


def test_evaluation_page_scores_and_compare(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(built, "Evaluation", monkeypatch)
    runs = at.dataframe[0].value
    assert sorted(runs["arc_easy"]) == [0.25, 0.5]
    scores = at.dataframe[1].value
    assert list(scores["benchmark"]) == ["arc_easy"]
    at.button(key="eval_compare").click().run()
    assert not at.exception
    # these hand-written reports carry no per-sample records: compare says why instead of crashing
    shown = _texts(at)
    assert "compare is not available" in shown or "Paired over shared samples" in shown


def test_launch_form_rejects_missing_input(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(built, "Launch", monkeypatch)
    at.text_input(key="launch_inputs").set_value("")
    at.button[0].click().run()
    assert "give at least one input file or folder" in "\n".join(e.value for e in at.error)


def test_runs_page_follows_a_running_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from app.registry import RunRegistry
    from curation.progress import Progress

    ws, out = tmp_path / "ws", tmp_path / "job"
    with RunRegistry(ws) as reg:
        rid = reg.create("curate", {"argv": ["curate"]}, out)
        reg.start(rid, pid=os.getpid())  # alive: this test process
    prog = Progress(out, "score", total=2000, unit="docs", bar=False)
    prog.update(500, msg="batch 1")
    monkeypatch.setenv("WINNOW_WORKSPACE", str(ws))
    at = AppTest.from_file(SCRIPT, default_timeout=60)
    at.session_state["page"] = "Runs"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe[0].value["progress"][0] == "score: 500/2,000 docs (25%) - batch 1"
    assert "Stop (Ctrl-C)" in [b.label for b in at.button]


def test_launch_page_starts_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from app.registry import RunRegistry

    ws = tmp_path / "ws"
    monkeypatch.setenv("WINNOW_WORKSPACE", str(ws))
    at = AppTest.from_file(SCRIPT, default_timeout=60)
    at.session_state["page"] = "Launch"
    at.run()
    at.text_input(key="launch_line").set_value("winnow runs --kind curate")
    at.button[1].click().run()
    assert not at.exception and "started run 1" in at.success[0].value
    deadline = time.time() + 60
    while time.time() < deadline:
        with RunRegistry(ws) as reg:
            run = reg.get(1)
        if run.status not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert (run.status, run.kind, run.config["argv"]) == ("done", "runs", ["runs", "--kind", "curate"]), run.error


def test_curate_form_command_line(tmp_path: Path) -> None:
    from app.ui.launch_page import curate_argv

    assert curate_argv("a.jsonl 'my dir'", " out ", None, 1) == ["curate", "a.jsonl", "my dir", "--out", "out"]
    assert curate_argv("a.jsonl", "o", "r.yaml", 2, "--set rules.x.min=3") == [
        "curate", "a.jsonl", "--out", "o", "--recipe", "r.yaml", "--workers", "2", "--set", "rules.x.min=3"]
