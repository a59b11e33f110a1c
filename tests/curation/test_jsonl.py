"""JSON-lines inputs that must be whole: every bad line is one error naming the file and line."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from curation.errors import WinnowError
from curation.jsonl import iter_jsonl_objects


def test_objects_come_with_their_line_numbers_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text('{"text": "é one"}\n\n  \n{"text": "two"}\n', encoding="utf-8")
    assert list(iter_jsonl_objects(p)) == [(1, {"text": "é one"}), (4, {"text": "two"})]


def test_invalid_utf8_names_the_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    it = iter_jsonl_objects(p)
    assert next(it) == (1, {"text": "fine"})  # the good line before it is read
    with pytest.raises(WinnowError, match=r"bad\.jsonl:2: not valid UTF-8 \(byte 0xe9 at column 14\)"):
        next(it)


def test_a_utf16_file_is_an_error_on_line_one(tmp_path: Path) -> None:
    p = tmp_path / "utf16.jsonl"
    p.write_bytes('{"text": "x"}\n'.encode("utf-16"))  # starts with the bytes ff fe
    with pytest.raises(WinnowError, match=r"utf16\.jsonl:1: not valid UTF-8 \(byte 0xff at column 1\)"):
        list(iter_jsonl_objects(p))


def test_a_cut_off_gzip_is_an_error_naming_the_file(tmp_path: Path) -> None:
    whole = gzip.compress("".join(json.dumps({"text": f"doc {i} " * 20}) + "\n" for i in range(2000)).encode())
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(WinnowError, match=r"cut\.jsonl\.gz: the gzip stream is damaged or cut off after line \d+"):
        list(iter_jsonl_objects(p))


def test_the_cli_prints_one_line_for_a_non_utf8_file(tmp_path: Path) -> None:
    """Through a real command that reads labelled rows (guard bench): exit 2 and one line, no traceback."""
    p = tmp_path / "rows.jsonl"
    p.write_bytes(b"\xff\xfe{\x00")
    r = subprocess.run([sys.executable, "-m", "app.cli", "guard", "bench", "--data", str(p), "--out",
                        str(tmp_path / "out")], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert f"{p}:1: not valid UTF-8" in r.stderr


def test_the_cli_prints_one_line_when_out_is_a_file(tmp_path: Path) -> None:
    """An --out that is an existing file: one line naming it, exit 2 (was a FileExistsError traceback)."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "hello", "label": 0}\n', encoding="utf-8")
    out = tmp_path / "taken"
    out.write_text("mine", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "app.cli", "guard", "bench", "--data", str(rows), "--out", str(out)],
                       capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert str(out) in r.stderr
    assert out.read_text(encoding="utf-8") == "mine"
