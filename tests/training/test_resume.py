"""`--resume` continues only the checkpoint's own run: other data or settings, or no checkpoint, are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from tests.training.conftest import sft_records, train_config, write_jsonl
from training.callbacks import StopAtStep
from training.sft import run_sft


def _cut_run(model: Path, data: Path, out: Path) -> None:
    """A run stopped after its first step, with checkpoint-1 saved."""
    res = run_sft(train_config(model, data, out, max_steps=3, save_steps=1, max_length=32),
                  callbacks=[StopAtStep(1)])
    assert res.steps == 1 and (out / "checkpoints" / "checkpoint-1").is_dir()


def test_resume_with_other_data_or_settings_is_refused(tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _cut_run(tiny_model, sft_file, out)
    config_before = (out / "config.yaml").read_text()
    other = write_jsonl(tmp_path / "other.jsonl", sft_records(64, seed=7))
    with pytest.raises(WinnowError, match=r"^--resume: .*run holds a different run \(differs in data content "
                                          r"\(other\.jsonl differs from the checkpoint's data\)\)"):
        run_sft(train_config(tiny_model, other, out, max_steps=3, save_steps=1, max_length=32, resume=True))
    with pytest.raises(WinnowError, match=r"differs in learning_rate \(0\.0005 -> 0\.01\); max_length \(32 -> 48\)"):
        run_sft(train_config(tiny_model, sft_file, out, max_steps=3, save_steps=1, max_length=48,
                             learning_rate=0.01, resume=True))
    with pytest.raises(WinnowError, match=r"differs in lora\.enabled \(False -> True\)"):
        run_sft(train_config(tiny_model, sft_file, out, max_steps=3, save_steps=1, max_length=32, resume=True,
                             **{"lora.enabled": True}))
    assert (out / "config.yaml").read_text() == config_before  # a refused resume records nothing
    # the same data under another name, the model by another path, the default learning rate given, and a
    # longer run with other logging/save steps, may resume
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(sft_file.read_bytes())
    res = run_sft(train_config(f"{tiny_model}/", copy, out, max_steps=4, save_steps=2, logging_steps=2,
                               max_length=32, learning_rate=5e-4, resume=True))
    assert res.steps == 4 and res.completed
    assert json.loads((out / "manifest.json").read_text())["resumed_from"].endswith("checkpoint-1")


def test_resume_without_a_checkpoint(tiny_model: Path, sft_file: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A run of ours stopped before its first save starts again (a retry script may always pass --resume); a
    new folder just starts; a folder of someone else's files is refused."""
    out = tmp_path / "run"
    run_sft(train_config(tiny_model, sft_file, out, max_steps=1, save_steps=1, max_length=32))
    for ckpt in (out / "checkpoints").glob("checkpoint-*"):
        for f in ckpt.iterdir():
            f.unlink()
        ckpt.rmdir()
    capsys.readouterr()
    res = run_sft(train_config(tiny_model, sft_file, out, max_steps=1, save_steps=1, max_length=32, resume=True))
    assert res.completed and json.loads((out / "manifest.json").read_text())["resumed_from"] is None
    assert "holds a training run with no checkpoint yet" in capsys.readouterr().out
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(WinnowError):
        run_sft(train_config(tiny_model, sft_file, theirs, max_steps=1, save_steps=1, max_length=32, resume=True))
    assert (theirs / "notes.txt").read_text() == "mine"
    new = tmp_path / "new"
    res = run_sft(train_config(tiny_model, sft_file, new, max_steps=1, save_steps=1, max_length=32, resume=True))
    assert res.completed and json.loads((new / "manifest.json").read_text())["resumed_from"] is None
