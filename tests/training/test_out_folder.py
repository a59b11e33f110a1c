"""The output folder of `winnow train`: a user's folder is refused, never cleared; a previous run's own files go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from tests.training.conftest import train_config
from training.sft import run_sft


def _cfg(model: Path, data: Path, out: Path, **kw: object):
    """One step, short sequences: these tests are about the folder, not the training."""
    return train_config(model, data, out, **{"max_steps": 1, "save_steps": 1, "max_length": 32, **kw})


def test_a_users_folder_is_refused_and_left_as_it_was(tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "checkpoints").mkdir(parents=True)
    (proj / "checkpoints" / "notes.txt").write_text("x")
    (proj / "model-00001-of-00002.safetensors").write_bytes(b"mine")
    (proj / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(WinnowError, match=r"proj is not empty and is not a Winnow training run \(it holds "
                                          r"checkpoints, metrics.jsonl, model-00001-of-00002.safetensors\)"):
        run_sft(_cfg(tiny_model, sft_file, proj))
    assert (proj / "checkpoints" / "notes.txt").read_text() == "x"
    assert (proj / "model-00001-of-00002.safetensors").read_bytes() == b"mine"
    assert (proj / "metrics.jsonl").read_text() == "{}\n"
    assert sorted(p.name for p in proj.iterdir()) == ["checkpoints", "metrics.jsonl",
                                                      "model-00001-of-00002.safetensors"]


def test_out_may_not_be_the_model_or_hold_or_lie_in_the_data(tiny_model: Path, sft_file: Path,
                                                            tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in tiny_model.iterdir() if p.is_file()}
    with pytest.raises(WinnowError, match="is the base model's folder"):
        run_sft(_cfg(tiny_model, sft_file, tiny_model))
    with pytest.raises(WinnowError, match="lies inside the output folder"):
        run_sft(_cfg(tiny_model, sft_file, tiny_model.parent))  # the folder holding the model
    with pytest.raises(WinnowError, match="lies inside the input folder"):
        run_sft(_cfg(tiny_model, sft_file, tiny_model / "sub"))
    with pytest.raises(WinnowError, match="lies inside the output folder"):
        run_sft(_cfg(tiny_model, sft_file, sft_file.parent))  # the folder holding the data
    assert {p.name: p.read_bytes() for p in tiny_model.iterdir() if p.is_file()} == before
    assert not (tiny_model / "sub").exists()


def test_a_fresh_run_in_a_previous_runs_folder_removes_only_what_training_wrote(
        tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_sft(_cfg(tiny_model, sft_file, out, **{"lora.enabled": True, "lora.r": 2}))
    assert (out / "adapter_config.json").exists()
    (out / "my-notes.txt").write_text("keep me")
    run_sft(_cfg(tiny_model, sft_file, out))  # a full-weights run in the adapter run's folder
    assert not (out / "adapter_config.json").exists()  # the old adapter would shadow the new weights
    assert (out / "model.safetensors").exists() and (out / "my-notes.txt").read_text() == "keep me"
    assert json.loads((out / "manifest.json").read_text())["output"] == "model"
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*")) == ["checkpoint-1"]


def test_another_tools_trainer_checkpoint_is_not_a_winnow_run(tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    """A Hugging Face Trainer folder of another tool (its own config.yaml, a finished checkpoint) is refused;
    one whose config.yaml is a Winnow training config (a run killed before the marker existed) is resumed."""
    other = tmp_path / "other"
    ckpt = other / "checkpoints" / "checkpoint-10"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text("{}")
    (other / "config.yaml").write_text("experiment: mine\nlr: 0.1\n")
    with pytest.raises(WinnowError, match="is not a Winnow training run"):
        run_sft(_cfg(tiny_model, sft_file, other))
    assert (ckpt / "trainer_state.json").read_text() == "{}"
    from training.config import dump_config
    from training.runner import is_training_run

    dump_config(_cfg(tiny_model, sft_file, other), other / "config.yaml")
    assert is_training_run(other)


def test_a_fresh_run_removes_the_previous_runs_training_args_and_model_card(
        tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    from training.runner import prepare_out

    out = tmp_path / "run"
    cfg = _cfg(tiny_model, sft_file, out, **{"lora.enabled": True, "lora.r": 2})
    run_sft(cfg)
    assert (out / "training_args.bin").exists() and (out / "README.md").exists()  # what saving wrote
    prepare_out(out, None, cfg, [])  # what a fresh run (killed before it saves) leaves of the old one
    assert not (out / "training_args.bin").exists() and not (out / "README.md").exists()
    (out / "README.md").write_text("# my notes on this run\n")
    prepare_out(out, None, cfg, [])
    assert (out / "README.md").read_text() == "# my notes on this run\n"
