"""Which output folders `winnow train` takes for a run of its own from their config.yaml (a run killed before
the marker existed): an old run of ours is ours though TrainConfig has changed since; another tool's is not."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from curation.errors import WinnowError
from training.config import TrainConfig, dump_config
from training.runner import check_out, is_training_run


def _checkpointed(folder: Path) -> Path:
    """A folder holding a finished Trainer checkpoint (what makes a config.yaml beside it matter)."""
    ckpt = folder / "checkpoints" / "checkpoint-10"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text("{}")
    return folder


def _cfg(tmp_path: Path, out: Path) -> TrainConfig:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "a"}\n')
    return TrainConfig(model=str(tmp_path / "no-such-model"), data=[str(data)], out=str(out))


def test_an_old_run_whose_config_names_a_removed_field_is_still_ours(tmp_path: Path) -> None:
    out = _checkpointed(tmp_path / "run")
    cfg = _cfg(tmp_path, out)
    dump_config(cfg, out / "config.yaml")
    old = yaml.safe_load((out / "config.yaml").read_text())
    # what an older TrainConfig wrote: a field since removed (top level and in lora), one added since missing
    old["gradient_checkpointing"] = True
    old["lora"]["bias"] = "none"
    del old["retain_cpu_memory"]
    (out / "config.yaml").write_text(yaml.safe_dump(old, sort_keys=False))
    assert is_training_run(out)
    assert check_out(cfg) == out  # accepted: a fresh run may clear it, --resume continues it


@pytest.mark.parametrize("text", [
    "experiment: mine\nlr: 0.1\n",
    # names model and data (valid TrainConfig values) but is no dump of ours: few of our fields
    "model: gpt2\ndata: [train.jsonl]\nlearning_rate: 0.001\nepochs: 3\nlr: 0.1\nexperiment: mine\n",
    "- a list\n- not a mapping\n",
])
def test_another_tools_config_beside_a_checkpoint_is_not_ours(tmp_path: Path, text: str) -> None:
    out = _checkpointed(tmp_path / "theirs")
    (out / "config.yaml").write_text(text)
    assert not is_training_run(out)
    with pytest.raises(WinnowError, match="is not a Winnow training run"):
        check_out(_cfg(tmp_path, out))
    assert (out / "config.yaml").read_text() == text


def test_a_dump_of_ours_with_an_invalid_value_is_not_ours(tmp_path: Path) -> None:
    """Setting removed fields aside does not loosen the rest: a value TrainConfig refuses still refuses."""
    out = _checkpointed(tmp_path / "run")
    dump_config(_cfg(tmp_path, out), out / "config.yaml")
    raw = yaml.safe_load((out / "config.yaml").read_text())
    raw["batch_size"] = 0
    (out / "config.yaml").write_text(yaml.safe_dump(raw))
    assert not is_training_run(out)
