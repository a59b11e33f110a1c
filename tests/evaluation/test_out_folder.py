"""`winnow eval run --out`: someone else's folder is refused before anything in it is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from curation.errors import WinnowError
from evaluation.runner import EvalConfig, prepare


def _cfg(model: Path, store: Path, out: Path, tmp_path: Path) -> EvalConfig:
    return EvalConfig(model=str(model), out=out, data_dir=store, cache_dir=tmp_path / "cache",
                      benchmarks=["arc_easy"], device="cpu")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_that_is_not_a_report_is_refused_and_kept(tiny_model: Path, tiny_store: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    theirs = tmp_path / "checkout"  # like an lm-evaluation-harness checkout: lm_eval/ package, task YAML
    (theirs / "lm_eval").mkdir(parents=True)
    (theirs / "lm_eval" / "__init__.py").write_text("__version__ = 'x'\n")
    (theirs / "tasks").mkdir()
    (theirs / "tasks" / "mine.yaml").write_text("task: mine\n")
    (theirs / "manifest.json").write_text('{"kind": "something else"}\n')
    before = _snapshot(theirs)
    with pytest.raises(WinnowError, match=r"checkout is not empty and is not a Winnow eval report \(it holds "
                                          r"lm_eval, manifest.json, tasks\)"):
        prepare(_cfg(tiny_model, tiny_store, theirs, tmp_path))
    rc = main(["eval", "run", "--model", str(tiny_model), "--benchmarks", "arc_easy", "--data-dir", str(tiny_store),
               "--out", str(theirs), "--workspace", str(tmp_path / "ws")])
    assert rc == 2 and "is not a Winnow eval report" in capsys.readouterr().err
    assert _snapshot(theirs) == before and sorted(p.name for p in theirs.iterdir()) == [
        "lm_eval", "manifest.json", "tasks"]


def test_out_may_not_hold_the_model_or_lie_in_the_store(tiny_model: Path, tiny_store: Path, tmp_path: Path) -> None:
    model_before = _snapshot(tiny_model)
    with pytest.raises(WinnowError, match="holds an input"):
        prepare(_cfg(tiny_model, tiny_store, tiny_model.parent, tmp_path))
    with pytest.raises(WinnowError, match="holds an input"):
        prepare(_cfg(tiny_model, tiny_store, tiny_model, tmp_path))
    with pytest.raises(WinnowError, match="lies inside the input folder"):
        prepare(_cfg(tiny_model, tiny_store, tiny_store / "reports", tmp_path))
    assert _snapshot(tiny_model) == model_before and not (tiny_store / "reports").exists()


def test_a_previous_report_folder_is_rewritten(tiny_model: Path, tiny_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    prepare(_cfg(tiny_model, tiny_store, out, tmp_path))
    (out / "tasks" / "stale.yaml").write_text("task: stale\n")  # an earlier run's task file goes on a rerun
    (out / "notes.txt").write_text("mine")
    prepare(_cfg(tiny_model, tiny_store, out, tmp_path))
    assert sorted(p.name for p in (out / "tasks").glob("*.yaml")) == ["arc_easy.yaml"]
    assert (out / "notes.txt").read_text() == "mine"
    legacy = tmp_path / "legacy"  # a report made before the marker: its manifest says kind eval
    legacy.mkdir()
    (legacy / "manifest.json").write_text(json.dumps({"kind": "eval"}))
    prepare(_cfg(tiny_model, tiny_store, legacy, tmp_path))
    assert (legacy / "tasks" / "arc_easy.yaml").is_file()
