"""The training config: YAML + CLI overrides, typos and bad values name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.errors import WinnowError
from training.config import load_config


def test_yaml_then_overrides(tmp_path: Path) -> None:
    y = tmp_path / "c.yaml"
    y.write_text("model: m\ndata: d.jsonl\nout: o\nbatch_size: 4\nlora:\n  enabled: true\n  r: 4\n")
    cfg = load_config(y, {"batch_size": 2, "max_steps": None, "lora.r": 16})
    assert cfg.batch_size == 2 and cfg.data == ["d.jsonl"] and cfg.max_steps == -1
    assert cfg.lora.enabled and cfg.lora.r == 16
    assert cfg.default_lr("sft") == pytest.approx(5e-3)  # LoRA default is 10x


def test_typo_names_the_field(tmp_path: Path) -> None:
    y = tmp_path / "c.yaml"
    y.write_text("model: m\ndata: [d]\nout: o\nlearnig_rate: 0.1\nlora:\n  rank: 4\n")
    with pytest.raises(WinnowError, match=r"c\.yaml: ") as e:
        load_config(y)
    assert "unknown field 'learnig_rate'" in str(e.value) and "unknown field 'lora.rank'" in str(e.value)


def test_bad_value_and_missing(tmp_path: Path) -> None:
    with pytest.raises(WinnowError, match=r"field 'batch_size'"):
        load_config(None, {"model": "m", "data": ["d"], "out": "o", "batch_size": 0})
    with pytest.raises(WinnowError, match=r"missing field 'model'"):
        load_config(None, {"data": ["d"], "out": "o"})
    y = tmp_path / "list.yaml"
    y.write_text("- a\n- b\n")
    with pytest.raises(WinnowError, match="must be a mapping"):
        load_config(y)
