"""Files of an input folder that the reader cannot read are named (warning + manifest), never dropped silently."""

import bz2
import json
from pathlib import Path

import pytest

from curation.pipeline import curate
from curation.reader import discover_inputs
from curation.recipe import parse_recipe


def _folder(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    (d / "sub").mkdir(parents=True)
    lines = [json.dumps({"id": f"d{i}", "text": f"document number {i} of the corpus"}) + "\n" for i in range(9)]
    (d / "a.jsonl").write_text("".join(lines[:5]))
    (d / "sub" / "b.jsonl.bz2").write_bytes(bz2.compress("".join(lines[5:7]).encode()))
    (d / "notes.txt").write_text("".join(lines[7:]))
    (d / ".hidden").write_text("editor state")
    return d


def test_folder_files_left_out_are_warned_and_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _folder(tmp_path)
    assert [f.rel for f in discover_inputs([d])] == ["corpus/a.jsonl"]
    warned = capsys.readouterr().err
    assert "warning:" in warned and "corpus/sub/b.jsonl.bz2" in warned and "corpus/notes.txt" in warned
    m = curate([d], tmp_path / "run", parse_recipe({"signals": {"length": {}}, "rules": []}))
    assert sorted(e["file"] for e in m["skipped_files"]) == ["corpus/notes.txt", "corpus/sub/b.jsonl.bz2"]
    assert all("unsupported file type" in e["reason"] for e in m["skipped_files"])
    # documents still add up: the 5 readable ones, the files left out are not counted as documents
    assert (m["input"], m["kept"], m["removed"], m["quarantined"], m["skipped"]) == (5, 5, 0, 0, 0)
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["skipped_files"] == m["skipped_files"]


def test_a_named_file_run_lists_no_skipped_files(tmp_path: Path) -> None:
    d = _folder(tmp_path)
    m = curate([d / "a.jsonl"], tmp_path / "run", parse_recipe({"signals": {"length": {}}, "rules": []}))
    assert m["skipped_files"] == []


def test_the_list_is_the_folder_as_scored_and_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A later mix reports the files left out when the run was scored, not files added since; a folder of many
    other files lists the first MAX_SKIPPED_LISTED and their total."""
    import curation.reader as reader
    from curation.mix import mix

    d = _folder(tmp_path)
    monkeypatch.setattr(reader, "MAX_SKIPPED_LISTED", 1)
    recipe = parse_recipe({"signals": {"length": {}}, "rules": []})
    m = curate([d], tmp_path / "run", recipe)
    assert m["skipped_files_total"] == 2 and len(m["skipped_files"]) == 1
    (d / "added_later.txt").write_text("not there when the run was scored")
    again = mix(tmp_path / "run", recipe, out_dir=tmp_path / "m")
    assert again["skipped_files"] == m["skipped_files"] and again["skipped_files_total"] == 2


def test_a_file_named_twice_or_inside_a_named_folder_is_read_once(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    d = _folder(tmp_path)
    recipe = parse_recipe({"signals": {"length": {}}, "rules": []})
    m = curate([d / "a.jsonl", d, d / "a.jsonl"], tmp_path / "run", recipe)
    assert (m["input"], m["kept"], m["quarantined"]) == (5, 5, 0)  # was 15 in, 10 quarantined as repeated ids
    assert "given more than once, read once" in capsys.readouterr().err


def test_a_byte_order_mark_does_not_cost_the_first_document(tmp_path: Path) -> None:
    from curation.jsonl import iter_jsonl_objects

    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + b'{"id": "x", "text": "first document here"}\n{"id": "y", "text": "second"}\n')
    m = curate([p], tmp_path / "run", parse_recipe({"signals": {"length": {}}, "rules": []}))
    assert (m["input"], m["kept"], m["quarantined"]) == (2, 2, 0)
    assert [o["id"] for _, o in iter_jsonl_objects(p)] == ["x", "y"]


@pytest.mark.parametrize("tasks", [1, 3])
def test_a_json_file_holding_one_array_of_records_is_read_as_records(tmp_path: Path, tasks: int) -> None:
    """A pretty-printed `.json` export (one array) was read as JSON lines: 10 records gave 'input 52', all
    quarantined. Each record is now a document, at its position in the array, whatever the number of tasks."""
    recs = [{"id": f"r{i}", "text": f"record number {i} of the export"} for i in range(10)]
    p = tmp_path / "export.json"
    p.write_text(json.dumps(recs, indent=2))
    m = curate([p], tmp_path / "run", parse_recipe({"signals": {"length": {}}, "rules": []}), tasks=tasks)
    assert (m["input"], m["kept"], m["quarantined"]) == (10, 10, 0)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"text": "a"},\n {"text": ')
    m = curate([bad], tmp_path / "run2", parse_recipe({"signals": {"length": {}}, "rules": []}), tasks=tasks)
    assert (m["input"], m["quarantined"]) == (1, 1)
    one_line = tmp_path / "one_line.json"
    one_line.write_text(json.dumps(recs))
    m = curate([one_line], tmp_path / "run3", parse_recipe({"signals": {"length": {}}, "rules": []}), tasks=tasks)
    assert (m["input"], m["kept"], m["quarantined"]) == (10, 10, 0)


@pytest.mark.parametrize("tasks", [1, 3])
def test_a_json_file_of_json_lines_under_a_header_array_is_read_as_lines(tmp_path: Path, tasks: int) -> None:
    """A `.json` file of JSON lines whose first line is an array (a header row) is JSON lines, not an array:
    the header is quarantined and every record read (an array parse of the whole file lost them all)."""
    p = tmp_path / "hdr.json"
    p.write_text('["id", "text"]\n' + "".join(json.dumps({"id": f"r{i}", "text": f"record {i} words"}) + "\n"
                                               for i in range(10)))
    m = curate([p], tmp_path / "run", parse_recipe({"signals": {"length": {}}, "rules": []}), tasks=tasks)
    assert (m["input"], m["kept"], m["quarantined"]) == (11, 10, 1)
