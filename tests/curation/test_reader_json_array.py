"""A `.json` file holding one JSON array of records: its fields are checked up front and its records counted
for the progress bar like JSON lines are, not line by line."""

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from curation.pipeline import _estimate_total, curate
from curation.progress import read_progress
from curation.reader import InputFile, check_fields, json_array_head
from curation.recipe import parse_recipe

RECIPE = {"signals": {"length": {}}, "rules": []}


def _records(n: int) -> list[dict]:
    return [{"id": f"r{i}", "body": f"record number {i} of the export, with a few more words"} for i in range(n)]


def _file(path: Path, text: str) -> InputFile:
    path.write_text(text, encoding="utf-8")
    return InputFile(path, path.name, 0)


@pytest.mark.parametrize("indent", [2, None], ids=["pretty", "one_line"])
def test_a_wrong_text_field_of_a_json_array_is_refused_up_front(tmp_path: Path, indent: int | None) -> None:
    """The records of an array were not sampled (a pretty-printed line or the one-line array is no record):
    a wrong --text-field quarantined every record instead of naming the fields the records have."""
    p = tmp_path / "export.json"
    p.write_text(json.dumps(_records(10), indent=indent))
    with pytest.raises(WinnowError, match=r"no record has the field 'text' \(--text-field\); the records have: "
                                          r"id, body \(looked at the first 1000 records of export\.json\)"):
        curate([p], tmp_path / "run", parse_recipe(RECIPE))
    assert not (tmp_path / "run" / "run.json").exists()
    with pytest.raises(WinnowError, match=r"no record has the field 'key' \(--id-field\)"):
        check_fields([InputFile(p, p.name, 0)], "body", "key")
    m = curate([p], tmp_path / "run", parse_recipe(RECIPE), text_field="body")
    assert (m["input"], m["kept"], m["quarantined"]) == (10, 10, 0)


def test_sampling_an_array_reads_only_its_first_records(tmp_path: Path) -> None:
    """The check decodes the array element by element: a file cut after its sample still has its fields
    checked (a parse of the whole file would fail), and only the sample is decoded."""
    whole = json.dumps(_records(40), indent=2)
    cut = whole[:whole.index('"r30"')]  # cut inside record 30: not valid JSON as a whole
    f = _file(tmp_path / "cut.json", cut)
    head = json_array_head(f, 10)
    assert head is not None and [r["id"] for r in head.records] == [f"r{i}" for i in range(10)]
    assert not head.complete
    # its bytes end at the end of record 9 (where record 10's separator starts)
    assert cut.encode()[:head.nbytes].rstrip().endswith(b"}") and head.nbytes < cut.index('"r10"')
    with pytest.raises(WinnowError, match=r"no record has the field 'text'.*the records have: id, body"):
        check_fields([f], "text", None, sample=10)
    all_read = json_array_head(f, 1000)  # past the cut: the 30 whole records, then it stops
    assert all_read is not None and len(all_read.records) == 30 and not all_read.complete


def test_json_lines_in_a_json_file_are_not_an_array(tmp_path: Path) -> None:
    lines = "".join(json.dumps(r) + "\n" for r in _records(3))
    assert json_array_head(_file(tmp_path / "lines.json", lines), 10) is None
    assert json_array_head(_file(tmp_path / "hdr.json", '["id", "body"]\n' + lines), 10) is None
    assert json_array_head(_file(tmp_path / "lines.jsonl", "[\n" + lines), 10) is None  # only .json holds arrays


def test_the_progress_total_of_a_pretty_printed_array_counts_records_not_lines(tmp_path: Path) -> None:
    pretty = _file(tmp_path / "pretty.json", json.dumps(_records(10), indent=2))
    assert len(pretty.path.read_text().splitlines()) == 4 * 10 + 2  # what the old count (non-blank lines) gave
    one_line = _file(tmp_path / "one.json", json.dumps(_records(7)))
    lines = _file(tmp_path / "lines.jsonl", "".join(json.dumps(r) + "\n" for r in _records(4)))
    assert _estimate_total([pretty, one_line, lines]) == (21, True)
    m = curate([pretty.path], tmp_path / "run", parse_recipe(RECIPE), text_field="body")
    score = [r for r in read_progress(tmp_path / "run") if r["stage"] == "score"]
    assert m["input"] == 10 and score and {r["total"] for r in score} == {10}


def test_a_long_array_total_is_estimated_from_its_size_and_says_so(tmp_path: Path) -> None:
    n = 3000
    big = _file(tmp_path / "big.json", json.dumps(_records(n), indent=1))
    total, exact = _estimate_total([big])
    assert not exact and total is not None and abs(total - n) <= 0.02 * n
    m = curate([big.path], tmp_path / "run", parse_recipe(RECIPE), text_field="body")
    score = [r for r in read_progress(tmp_path / "run") if r["stage"] == "score"]
    assert m["input"] == n and {r["total"] for r in score} == {total}
    assert any("estimate from the size of a JSON array" in (r["msg"] or "") for r in score)


def test_a_long_one_line_array_is_counted_exactly(tmp_path: Path) -> None:
    """A one-line array is decoded whole to sample it, so its total is its length, not ~ARRAY_SAMPLE."""
    n = 3000
    line = _file(tmp_path / "line.json", json.dumps(_records(n)))
    assert _estimate_total([line]) == (n, True)


def test_a_one_line_array_with_records_after_it_is_json_lines(tmp_path: Path) -> None:
    """Red team: after a first line holding a whole array, every later line was dropped without a quarantine
    entry. Such a file is JSON lines: its array lines are quarantined (not objects), the objects are read."""
    lines = [json.dumps([{"id": "1", "body": "one " * 20}]), json.dumps([{"id": "2", "body": "two " * 20}]),
             json.dumps({"id": "3", "body": "three " * 20})]
    f = _file(tmp_path / "mixed.json", "\n".join(lines) + "\n")
    assert json_array_head(f, 1000) is None and _estimate_total([f]) == (3, True)
    m = curate([f.path], tmp_path / "run", parse_recipe(RECIPE), text_field="body")
    q = [json.loads(x) for x in (tmp_path / "run" / "quarantine.jsonl").read_text().splitlines()]
    assert (m["input"], m["kept"] + m["removed"], m["quarantined"]) == (3, 1, 2)
    assert [e["line"] for e in q] == [1, 2] and all("not an object" in e["reason"] for e in q)
    alone = _file(tmp_path / "alone.json", lines[0] + "\n\n")  # blank lines after it: still one array
    assert json_array_head(alone, 1000).count == 1
