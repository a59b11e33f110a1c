"""A store row lm-eval cannot read fails in prepare with its file, line and field (not inside lm-eval)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from curation.errors import WinnowError
from evaluation.runner import EvalConfig, prepare
from tests.evaluation.conftest import write_store


def _store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "store", n=4, mmlu=False)


def _cfg(model: Path, store: Path, tmp_path: Path, bench: str) -> EvalConfig:
    return EvalConfig(model=str(model), out=tmp_path / "rep", data_dir=store, cache_dir=tmp_path / "cache",
                      benchmarks=[bench], device="cpu")


def _rewrite(path: Path, line: int, edit) -> None:
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    edit(rows[line - 1])
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_missing_field_names_file_line_and_field(tiny_model: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(tmp_path)
    f = store / "arc_easy" / "test.jsonl"
    _rewrite(f, 3, lambda r: r.pop("question"))
    with pytest.raises(WinnowError, match=rf"^{f}:3: missing field 'question' \(a arc_easy row"):
        prepare(_cfg(tiny_model, store, tmp_path, "arc_easy"))
    rc = main(["eval", "run", "--model", str(tiny_model), "--benchmarks", "arc_easy", "--data-dir", str(store),
               "--out", str(tmp_path / "cli"), "--workspace", str(tmp_path / "ws")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and f"{f}:3: missing field 'question'" in err[0]


def test_wrong_types_and_answers_outside_the_choices(tiny_model: Path, tmp_path: Path) -> None:
    store = _store(tmp_path)
    f = store / "arc_easy" / "validation.jsonl"
    _rewrite(f, 2, lambda r: r.update(answerKey="E"))
    with pytest.raises(WinnowError, match=rf"{f}:2: answerKey 'E' is not one of choices.label"):
        prepare(_cfg(tiny_model, store, tmp_path, "arc_easy"))
    h = store / "hellaswag" / "validation.jsonl"
    _rewrite(h, 4, lambda r: r.update(endings="one ending"))
    with pytest.raises(WinnowError, match=rf"{h}:4: field 'endings' is not a list of strings"):
        prepare(_cfg(tiny_model, store, tmp_path, "hellaswag"))
    t = store / "truthfulqa_mc" / "validation.jsonl"
    _rewrite(t, 1, lambda r: r.pop("mc2_targets"))
    with pytest.raises(WinnowError, match=rf"{t}:1: missing field 'mc2_targets'"):
        prepare(_cfg(tiny_model, store, tmp_path, "truthfulqa_mc1"))


def test_bad_utf8_names_the_line(tiny_model: Path, tmp_path: Path) -> None:
    store = _store(tmp_path)
    f = store / "hellaswag" / "validation.jsonl"
    lines = f.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"roof", b"r\xff\xfeof")
    f.write_bytes(b"\n".join(lines))
    with pytest.raises(WinnowError, match=rf"{f}:3: not valid UTF-8"):
        prepare(_cfg(tiny_model, store, tmp_path, "hellaswag"))


def test_a_good_file_is_checked_once_per_content(tiny_model: Path, tmp_path: Path) -> None:
    store = _store(tmp_path)
    prepare(_cfg(tiny_model, store, tmp_path, "arc_easy"))
    marks = sorted(p.name for p in (tmp_path / "cache" / "derived" / "checked").iterdir())
    assert len(marks) == 3 and all(m.startswith("arc_easy-") for m in marks)  # test, train, validation
    f = store / "arc_easy" / "train.jsonl"
    _rewrite(f, 1, lambda r: r.pop("choices"))  # new content: checked again, and refused
    with pytest.raises(WinnowError, match="train.jsonl:1: missing field 'choices'"):
        prepare(_cfg(tiny_model, store, tmp_path, "arc_easy"))
