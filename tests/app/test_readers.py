"""The engines' typed readers the app reads through: a curated run, a report, a training output."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.run_reader import RunReader
from tests.app.app_workspace import make_workspace
from tests.app.apptest import open_page


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_workspace(tmp_path_factory.mktemp("readers"))


def test_recount_of_the_runs_own_recipe_equals_what_mix_wrote(built: dict) -> None:
    reader = RunReader(built["run"])
    counts = reader.recounter().count()
    m = built["manifest"]
    assert (counts.kept, counts.removed) == (m["kept"], m["removed"])
    assert counts.by_rule == m["by_rule"] and counts.by_rule_any == m["by_rule_any"]


def test_search_reads_the_index_mix_wrote(built: dict) -> None:
    reader = RunReader(built["run"])
    assert reader.text_index is not None  # written by mix with the kept documents, not on a first search
    page, total = reader.page(search="LIBRARY", whole_words=True)
    assert list(page["id"]) == ["d3"] and total == 1
    # whole words: "librar" is not a word of any document; as a substring it finds d3
    assert reader.page(search="librar", whole_words=True)[0].height == 0
    assert list(reader.page(search="librar")[0]["id"]) == ["d3"]


def test_document_view_of_a_kept_and_a_removed_document(built: dict) -> None:
    reader = RunReader(built["run"])
    kept = reader.document("d0")
    assert kept.status == "kept" and kept.kept_text == kept.text  # no PII: written as read
    dup = reader.document("dup1")
    assert dup.removed["rule"] == "exact_duplicate" and dup.kept_copy == {"id": "d2", "text": dup.text}
    assert reader.document("nope") is None


def test_report_reader_scores_samples_and_contamination_split(tmp_path: Path) -> None:
    import json

    from evaluation.report_reader import ReportReader, disagreements
    from tests.app.app_workspace import N_ITEMS, write_report

    write_report(tmp_path / "a", "/m/a", lambda i: i % 3 == 0)
    write_report(tmp_path / "b", "/m/b", lambda i: i % 2 == 0)
    a, b = ReportReader(tmp_path / "a"), ReportReader(tmp_path / "b")
    row = a.scores()[0]
    right_a = sum(1 for i in range(N_ITEMS) if i % 3 == 0)
    assert row["value"] == pytest.approx(right_a / N_ITEMS)
    assert row["low"] == pytest.approx(row["value"] - 1.96 * row["stderr"])
    s = a.samples("arc_easy", "acc")[1]  # item 1: A is wrong, so it picked the choice after the answer
    assert (s.target, s.picked, s.choices[s.target]) == (1, 2, " green")
    dis = disagreements(a, b, "arc_easy")
    expected = [i for i in range(N_ITEMS) if (i % 3 == 0) != (i % 2 == 0)]
    assert [d["doc_id"] for d in dis] == expected
    assert {d["right"] for d in dis if d["doc_id"] % 2 == 0} == {"B"}
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    rep["contamination"] = {"curated": "/runs/c", "source": "signal", "items_in_training_data": 4, "benchmarks": {
        "arc_easy": {"contaminated": {"value": 1.0, "stderr": 0.0, "n": 4},
                     "clean": {"value": 0.25, "stderr": 0.07, "n": 36}, "difference": 0.75,
                     "difference_stderr": 0.07}}}
    (tmp_path / "a" / "report.json").write_text(json.dumps(rep))
    split = ReportReader(tmp_path / "a").contamination()
    assert split == [{"benchmark": "arc_easy", "clean": 0.25, "clean stderr": 0.07, "clean n": 36,
                      "contaminated": 1.0, "contaminated stderr": 0.0, "contaminated n": 4, "difference": 0.75,
                      "difference stderr": 0.07, "ambiguous n": 0}]
    assert ReportReader(tmp_path / "a").contamination_runs() == (["/runs/c"], [])  # a report before 2026-12-01
    rep["contamination"].update(curated=["/runs/sft", "/runs/dpo"], unchecked=["/runs/raw"])
    (tmp_path / "a" / "report.json").write_text(json.dumps(rep))
    assert ReportReader(tmp_path / "a").contamination_runs() == (["/runs/sft", "/runs/dpo"], ["/runs/raw"])


def test_pii_spans_and_the_scrubbed_kept_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from app.registry import registered_run
    from curation.pipeline import curate
    from curation.recipe import parse_recipe

    corpus = tmp_path / "c.jsonl"
    text = "Write to maria.lopez@example.org about the harbour festival and the boats that sail at dawn."
    corpus.write_text(json.dumps({"id": "p1", "text": text}) + "\n", encoding="utf-8")
    recipe = parse_recipe({"name": "pii", "signals": {"pii": {"ner": "off"}},
                           "transforms": {"pii_scrub": {"mode": "replace", "min_score": 0.4}}})
    ws, run = tmp_path / "ws", tmp_path / "run"
    with registered_run(ws, "curate", {}, run):
        curate([corpus], run, recipe, workspace=ws)
    doc = RunReader(run).document("p1")
    start = text.index("maria")
    assert [(s["entity_type"], s["start"], s["end"]) for s in doc.pii_spans] == [
        ("EMAIL_ADDRESS", start, start + len("maria.lopez@example.org"))]
    assert "maria.lopez@example.org" not in doc.kept_text and "harbour festival" in doc.kept_text
    at = open_page(ws, "Corpus", monkeypatch, query={"run": str(run)}, allow=tmp_path)
    marked = [m.value for m in at.markdown if "<mark" in m.value]
    assert marked and '<mark title="EMAIL_ADDRESS"' in marked[0] and "maria.lopez@example.org</mark>" not in marked[0]
    assert "maria.lopez@example.org<sub" in marked[0]
    assert {t.label: t.value for t in at.text_area}["kept (scrubbed) text"] == doc.kept_text


def test_mix_json_prints_the_manifest_its_reader_reads(built: dict, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    import json

    from app.cli import main

    out = tmp_path / "again"
    assert main(["mix", str(built["run"]), "--out", str(out), "--json", "--workspace", str(built["ws"])]) == 0
    printed = json.loads(capsys.readouterr().out)
    reader = RunReader(out)
    assert printed == reader.manifest and printed["parent"] == str(built["run"])
    assert printed["kept"] == built["manifest"]["kept"]  # the same recipe over the same signals
    assert printed["search_index"]["n_docs"] == reader.table.height and reader.text_index is not None
