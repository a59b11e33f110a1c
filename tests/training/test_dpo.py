"""A few-step DPO run on the tiny model: reward metrics logged and the model loads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from training.callbacks import read_metrics
from training.config import load_config
from training.dpo import run_dpo


def test_dpo_run_logs_rewards(tiny_model: Path, dpo_file: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    out = tmp_path / "dpo"
    cfg = load_config(None, {"model": str(tiny_model), "data": [str(dpo_file)], "out": str(out), "max_steps": 4,
                             "batch_size": 4, "logging_steps": 1, "val_split": 8, "max_length": 64,
                             "learning_rate": 1e-3})
    res = run_dpo(cfg)
    assert res.completed
    train = [m for m in read_metrics(out) if "loss" in m]
    assert len(train) == 4
    assert {"reward_accuracy", "reward_margin", "reward_chosen", "reward_rejected", "tokens_per_s"} <= set(train[-1])
    assert train[-1]["reward_margin"] > 0  # the rejected answer is easy to tell apart
    assert 0 <= res.metrics["eval_reward_accuracy"] <= 1 and "eval_reward_margin" in res.metrics
    man = json.loads((out / "manifest.json").read_text())
    assert man["data_shape"] == "conversational" and man["eval_records"] == 8
    assert AutoModelForCausalLM.from_pretrained(out).num_parameters() > 0
    assert (out / "loss.png").stat().st_size > 1000


def test_plain_pairs_wrap_as_chat_unless_told_not_to(tiny_model: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps({"prompt": f"What is {i} plus 1?", "chosen": f"It is {i + 1}.",
                                         "rejected": "NO IDEA!!!"}) + "\n" for i in range(16)))
    base = {"model": str(tiny_model), "data": [str(plain)], "max_steps": 1, "batch_size": 4, "max_length": 64}
    run_dpo(load_config(None, {**base, "out": str(tmp_path / "auto")}))
    run_dpo(load_config(None, {**base, "out": str(tmp_path / "raw"), "chat_template": False}))
    assert json.loads((tmp_path / "auto" / "manifest.json").read_text())["data_shape"] == "conversational"
    assert json.loads((tmp_path / "raw" / "manifest.json").read_text())["data_shape"] == "plain"


def test_unknown_loss_type(tiny_model: Path, dpo_file: Path, tmp_path: Path) -> None:
    cfg = load_config(None, {"model": str(tiny_model), "data": [str(dpo_file)], "out": str(tmp_path / "o"),
                             "loss_type": "sigmod"})
    with pytest.raises(WinnowError, match="field 'loss_type': unknown DPO loss 'sigmod'"):
        run_dpo(cfg)
