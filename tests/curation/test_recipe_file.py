"""Reading a recipe file: a file that is not UTF-8 is one line naming the file, line and byte, in curate and mix
(red-team: it was a UnicodeDecodeError traceback, exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from curation.pipeline import curate
from curation.recipe import load_recipe
from curation.recipe_file import read_recipe_data

# a Latin-1 recipe: "é" is the single byte 0xe9 on its third line
LATIN1 = ("signals:\n  length: {}\n# caf\u00e9 rules\nrules:\n"
          "  - {name: short, signal: length, column: n_words, min: 2}\n")


def _bad(tmp_path: Path) -> tuple[Path, int]:
    p = tmp_path / "latin1.yaml"
    raw = LATIN1.encode("latin-1")
    p.write_bytes(raw)
    return p, raw.index(b"\xe9")


def test_a_recipe_that_is_not_utf8_is_one_line_naming_file_line_and_byte(tmp_path: Path) -> None:
    bad, at = _bad(tmp_path)
    for read in (read_recipe_data, load_recipe):
        with pytest.raises(WinnowError) as e:
            read(bad)
        msg = str(e.value)
        column = at - LATIN1.encode("latin-1").rfind(b"\n", 0, at)
        assert "\n" not in msg and f"{bad}:3: not valid UTF-8 (byte 0xe9 at column {column})" in msg
    ok = tmp_path / "ok.yaml"
    ok.write_text(LATIN1, encoding="utf-8")
    assert read_recipe_data(ok)[0]["signals"] == {"length": {}}  # the same text saved as UTF-8 reads


def test_curate_and_mix_refuse_a_non_utf8_recipe_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    bad, _ = _bad(tmp_path)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": f"doc {i} words"}) + "\n" for i in range(5)))
    assert main(["curate", str(corpus), "--recipe", str(bad), "--out", str(tmp_path / "r1")]) == 2
    err = capsys.readouterr().err
    assert "not valid UTF-8" in err and ":3:" in err and "Traceback" not in err
    good = tmp_path / "good.yaml"
    good.write_text(LATIN1, encoding="utf-8")
    curate([corpus], tmp_path / "run", load_recipe(good))
    assert main(["mix", str(tmp_path / "run"), "--recipe", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not valid UTF-8" in err and ":3:" in err and "Traceback" not in err
