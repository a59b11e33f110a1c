"""Few-step SFT runs on the tiny model: output folder, metrics, LoRA, resume equivalence, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from curation.errors import WinnowError
from curation.progress import read_progress
from tests.training.conftest import train_config
from training.callbacks import StopAtStep, read_metrics
from training.sft import run_sft


def test_sft_run_writes_a_loadable_model_folder(tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "sft"
    res = run_sft(train_config(tiny_model, sft_file, out, val_split=8, assistant_only_loss=True))
    assert res.completed and res.steps == 4
    for name in ("config.yaml", "manifest.json", "loss.png", "tokenizer.json", "model.safetensors"):
        assert (out / name).exists(), name
    metrics = read_metrics(out)
    train = [m for m in metrics if "loss" in m]
    assert [m["step"] for m in train] == [1, 2, 3, 4]
    assert all(m["lr"] > 0 and m["tokens_per_s"] > 0 for m in train)
    assert train[-1]["loss"] < train[0]["loss"]
    assert any("eval_loss" in m for m in metrics)
    prog = read_progress(out)
    assert prog[0]["stage"] == "train-sft" and prog[-1]["done"] == 4 and prog[-1]["msg"] == "done"
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 42 and man["steps"] == 4 and man["data"][0]["format"] == "chat"
    assert len(man["data"][0]["sha256"]) == 64 and man["versions"]["trl"]
    assert man["train_records"] == 56 and man["eval_records"] == 8
    assert man["metrics"]["final_loss"] == train[-1]["loss"] and "eval_loss" in man["metrics"]
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.chat_template and model.num_parameters() > 0
    assert (out / "checkpoints" / "checkpoint-4").is_dir()


def test_lora_run_saves_an_adapter(tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    from peft import AutoPeftModelForCausalLM

    out = tmp_path / "lora"
    res = run_sft(train_config(tiny_model, sft_file, out, max_steps=2, **{"lora.enabled": True, "lora.r": 4}))
    assert res.completed
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["r"] == 4 and Path(cfg["base_model_name_or_path"]) == tiny_model.absolute()
    assert not (out / "model.safetensors").exists()
    model = AutoPeftModelForCausalLM.from_pretrained(out)
    assert any("lora" in n for n, _ in model.named_parameters())
    assert json.loads((out / "manifest.json").read_text())["output"] == "lora-adapter"


def test_resume_ends_where_an_uninterrupted_run_would(tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    full = run_sft(train_config(tiny_model, sft_file, tmp_path / "full", max_steps=6, save_steps=3))
    cut = run_sft(train_config(tiny_model, sft_file, tmp_path / "cut", max_steps=6, save_steps=3),
                  callbacks=[StopAtStep(3)])
    assert cut.steps == 3 and not cut.completed
    torn = tmp_path / "cut" / "checkpoints" / "checkpoint-5"  # a kill while saving leaves a partial folder
    torn.mkdir()
    (torn / "model.safetensors").write_bytes(b"partial")
    resumed = run_sft(train_config(tiny_model, sft_file, tmp_path / "cut", max_steps=6, save_steps=3, resume=True))
    assert resumed.steps == 6 and resumed.completed
    man = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert man["resumed_from"].endswith("checkpoint-3")
    steps = [m["step"] for m in read_metrics(tmp_path / "cut") if "loss" in m]
    assert steps == [1, 2, 3, 4, 5, 6]  # one run's log, no duplicated steps
    assert resumed.metrics["final_loss"] == pytest.approx(full.metrics["final_loss"], rel=1e-4)
    a = AutoModelForCausalLM.from_pretrained(tmp_path / "full").state_dict()
    b = AutoModelForCausalLM.from_pretrained(tmp_path / "cut").state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_continued_pretraining_on_a_curated_folder(tiny_model: Path, tmp_path: Path) -> None:
    import polars as pl

    kept = tmp_path / "curated" / "kept"
    kept.mkdir(parents=True)
    texts = [f"Document {i}: the quick brown fox jumps over the lazy dog. " * 5 for i in range(20)]
    pl.DataFrame({"id": [str(i) for i in range(20)], "text": texts}).write_parquet(kept / "00000.parquet")
    out = tmp_path / "cpt"
    res = run_sft(train_config(tiny_model, tmp_path / "curated", out, max_steps=2, max_length=32))
    man = json.loads((out / "manifest.json").read_text())
    assert res.completed and man["data_shape"] == "text-chunks" and man["chunks"] > 20


def test_bad_model_folder_fails_before_training(sft_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "badmodel"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(WinnowError, match="badmodel does not load"):
        run_sft(train_config(bad, sft_file, tmp_path / "o"))
    with pytest.raises(WinnowError, match="not a local folder and is not in the local Hugging Face cache"):
        run_sft(train_config("some-org/some-model-that-is-not-cached", sft_file, tmp_path / "o"))  # type: ignore[arg-type]
    assert not (tmp_path / "o" / "metrics.jsonl").exists()


def test_early_stopping_stops_when_eval_loss_stops_improving(tiny_model: Path, sft_file: Path,
                                                             tmp_path: Path) -> None:
    # learning rate 1e-12 leaves float32 weights unchanged: the eval loss never improves,
    # so patience 1 stops training at the second evaluation
    res = run_sft(train_config(tiny_model, sft_file, tmp_path / "es", max_steps=10, learning_rate=1e-12, val_split=8,
                       eval_steps=1, early_stopping_patience=1))
    assert res.steps == 2 < res.max_steps
