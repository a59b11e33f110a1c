"""The training commands through the real CLI entry point: registry record, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.registry import RunRegistry


def test_train_sft_and_dpo_are_recorded(tiny_model: Path, sft_file: Path, dpo_file: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    common = ["--max-steps", "2", "--batch-size", "4", "--logging-steps", "1", "--workspace", str(ws)]
    assert main(["train", "sft", "--model", str(tiny_model), "--data", str(sft_file), "--out",
                 str(tmp_path / "sft"), "--val-split", "8", *common]) == 0
    assert main(["train", "dpo", "--model", str(tmp_path / "sft"), "--data", str(dpo_file), "--out",
                 str(tmp_path / "dpo"), "--val-split", "8", "--beta", "0.2", *common]) == 0
    assert "DPO done: 2/2 steps" in capsys.readouterr().out
    with RunRegistry(ws) as reg:
        runs = {r.kind: r for r in reg.list()}
    assert runs["train-sft"].status == "done" and "final_loss" in runs["train-sft"].metrics
    assert runs["train-dpo"].status == "done" and "eval_reward_accuracy" in runs["train-dpo"].metrics
    assert runs["train-dpo"].config["beta"] == 0.2


def test_config_typo_exits_2_naming_the_field(sft_file: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    y = tmp_path / "train.yaml"
    y.write_text("model: m\nbatch_sise: 4\n")
    code = main(["train", "sft", "--config", str(y), "--data", str(sft_file), "--out", str(tmp_path / "o"),
                 "--workspace", str(tmp_path / "ws")])
    err = capsys.readouterr().err
    assert code == 2 and "unknown field 'batch_sise'" in err and err.count("\n") == 1


def test_data_commands_write_normalised_jsonl(sft_file: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    alpaca = tmp_path / "a.jsonl"
    alpaca.write_text(json.dumps({"instruction": "Say hi", "input": "", "output": "hi"}) + "\n")
    out = tmp_path / "n.jsonl"
    assert main(["data", "sft", "--data", str(alpaca), "--data", str(sft_file), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 65 and json.loads(lines[0])["messages"][1] == {"role": "assistant", "content": "hi"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "p", "chosen": "c"}) + "\n")
    assert main(["data", "dpo", "--data", str(bad), "--out", str(tmp_path / "d.jsonl")]) == 2
    assert "bad.jsonl:1: missing column 'rejected'" in capsys.readouterr().err


def test_model_tiny_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"sentence number {i} in a corpus" for i in range(50)))
    assert main(["model", "tiny", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--hidden", "64",
                 "--layers", "1", "--vocab-size", "300"]) == 0
    assert "tiny model:" in capsys.readouterr().out
    assert (tmp_path / "m" / "config.json").exists() and (tmp_path / "m" / "tokenizer.json").exists()


def test_yaml_config_drives_the_run_and_flags_override(tiny_model: Path, sft_file: Path, tmp_path: Path) -> None:
    y = tmp_path / "train.yaml"
    y.write_text(f"model: {tiny_model}\ndata: [{sft_file}]\nout: {tmp_path / 'from-yaml'}\nmax_steps: 5\n"
                 "batch_size: 4\nlogging_steps: 1\nlora:\n  enabled: true\n  r: 2\n")
    assert main(["train", "sft", "--config", str(y), "--max-steps", "1", "--workspace", str(tmp_path / "ws")]) == 0
    man = json.loads((tmp_path / "from-yaml" / "manifest.json").read_text())
    assert man["steps"] == 1 and man["config"]["lora"]["r"] == 2 and man["output"] == "lora-adapter"
