"""A run folder is recognised by what Winnow wrote in it, never by a file's name alone (red-team: a user's own
`run.json` made `--overwrite` delete their docs/ and logs/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from curation.mix import mix
from curation.pipeline import curate
from curation.recipe import load_recipe
from curation.run_folder import LOCK_NAME, clear_owned, is_run

RECIPE = """
signals:
  length: {}
rules:
  - {name: short, signal: length, column: n_words, min: 3}
"""


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "c.jsonl"
    rows = (json.dumps({"id": f"d{i}", "text": f"doc{i} " + "word " * (i % 6)}) for i in range(20))
    corpus.write_text("".join(r + "\n" for r in rows))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE)
    return corpus, recipe


def test_a_users_run_json_does_not_make_their_folder_a_run_that_overwrite_clears(tmp_path: Path) -> None:
    corpus, recipe = _setup(tmp_path)
    proj = tmp_path / "proj"
    (proj / "docs").mkdir(parents=True)
    (proj / "logs").mkdir()
    (proj / "run.json").write_text('{"exp": 1}')
    (proj / "docs" / "index.md").write_text("x")
    (proj / "logs" / "train.log").write_text("y")
    assert not is_run(proj)
    for overwrite in (False, True):
        with pytest.raises(WinnowError, match="is not a Winnow run") as e:
            curate([corpus], proj, load_recipe(recipe), overwrite=overwrite)
        assert "--overwrite" not in str(e.value)
    assert (proj / "docs" / "index.md").read_text() == "x"
    assert (proj / "logs" / "train.log").read_text() == "y"
    assert json.loads((proj / "run.json").read_text()) == {"exp": 1}
    for text in ("[1, 2]", "not json", '{"key": "k"}'):  # JSON of another shape, or none, is not a run either
        (proj / "run.json").write_text(text)
        assert not is_run(proj)
    (proj / "run.json").write_bytes(b"\xff\xfe")
    assert not is_run(proj)


def test_a_winnow_run_is_still_a_run_for_overwrite_and_mix(tmp_path: Path) -> None:
    corpus, recipe = _setup(tmp_path)
    run = tmp_path / "run"
    curate([corpus], run, load_recipe(recipe))
    assert is_run(run)
    (run / "notes.md").write_text("mine")
    m = curate([corpus], run, load_recipe(recipe), overwrite=True)
    assert (run / "notes.md").read_text() == "mine"
    # documents with 1..6 words (i % 6 + 1): those with fewer than 3 (i % 6 in 0, 1) are removed
    assert (m["kept"], m["removed"]) == (12, 8)
    mixed = mix(run, out_dir=tmp_path / "mixed")
    assert is_run(tmp_path / "mixed")  # a mix --out folder (its run.json names the parent) is one too
    assert (mixed["kept"], mixed["removed"]) == (12, 8)
    assert mix(tmp_path / "mixed")["kept"] == 12  # re-mixing it finds its parent run


def test_overwrite_clears_everything_a_run_wrote_and_nothing_else(tmp_path: Path) -> None:
    corpus, recipe = _setup(tmp_path)
    run = tmp_path / "run"
    curate([corpus], run, load_recipe(recipe))
    wrote = {e.name for e in run.iterdir()} - {LOCK_NAME}
    assert {"run.json", "manifest.json", "kept", "skipped.jsonl"} <= wrote
    (run / "notes.md").write_text("mine")
    assert set(clear_owned(run)) == wrote  # every entry curate wrote (skipped.jsonl was left behind)
    assert {e.name for e in run.iterdir()} - {LOCK_NAME} == {"notes.md"}


def test_another_commands_marker_is_content(tmp_path: Path) -> None:
    """A folder holding only another command's marker (what `rm -r out/*` leaves) is not empty: train, eval
    run and guard bench each refuse the others' folders; only the lock and the write probe are not content."""
    from curation.run_folder import LOCK_NAME, refuse_foreign_out
    from evaluation.runner import is_eval_run
    from training.runner import is_training_run

    train_left = tmp_path / "t"
    train_left.mkdir()
    (train_left / ".winnow-train.json").write_text("{}")
    with pytest.raises(WinnowError, match=r"not a Winnow eval report \(it holds .winnow-train.json\)"):
        refuse_foreign_out(train_left, is_eval_run, "a Winnow eval report")
    refuse_foreign_out(train_left, is_training_run, "a Winnow training run")  # its own: accepted
    locked = tmp_path / "l"
    locked.mkdir()
    (locked / LOCK_NAME).write_text("")
    (locked / ".winnow-write-test-1").write_text("")
    refuse_foreign_out(locked, is_eval_run, "a Winnow eval report")  # nothing of anyone's in it


def test_an_earlier_attempts_task_error_is_not_raised_again(tmp_path: Path) -> None:
    """A task error left in a local run folder by an earlier attempt (killed, or a second failing task's file,
    only the first of which was removed) is not this run's: the rerun completes instead of raising it."""
    import json

    from curation.pipeline import curate
    from curation.recipe import parse_recipe

    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document {i} words"}) + "\n" for i in range(12)))
    recipe = parse_recipe({"signals": {"length": {}}, "rules": []})
    run = tmp_path / "run"
    curate([p], run, recipe)
    (run / "manifest.json").unlink()  # as if an attempt had stopped on a task's error, its file left behind
    (run / "state" / "tasks" / "00000.error").write_text("an old attempt's error", encoding="utf-8")
    assert curate([p], run, recipe)["input"] == 12
    assert not (run / "state" / "tasks" / "00000.error").exists()
