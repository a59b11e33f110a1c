"""Rows TRL drops after truncating to max_length (nothing left to learn) are counted, reported, and an all-dropped
split is refused before training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from tests.training.conftest import dpo_records, sft_records, train_config, write_jsonl
from training.dpo import run_dpo
from training.sft import run_sft

LONG_PROMPT = " ".join(["word"] * 200)  # far past max_length 64 on its own


def _long(rec: dict, key: str) -> dict:
    rec = json.loads(json.dumps(rec))
    rec[key][0]["content"] = LONG_PROMPT + " " + rec[key][0]["content"]
    return rec


def test_sft_rows_whose_answer_is_cut_off_are_counted_as_dropped(tiny_model: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rows = sft_records(24) + [_long(r, "messages") for r in sft_records(8, seed=1)]
    data = write_jsonl(tmp_path / "mixed.jsonl", rows)
    out = tmp_path / "sft"
    res = run_sft(train_config(tiny_model, data, out, max_steps=-1, batch_size=4, max_length=64,
                               assistant_only_loss=True))
    assert res.steps == 6  # 24 rows that train / batch 4
    man = json.loads((out / "manifest.json").read_text())
    assert (man["records"], man["train_records_given"], man["train_records"], man["train_records_dropped"]) == \
        (32, 32, 24, 8)
    assert "max-length 64" in man["train_drop_reason"]
    assert "note: 8 of 32 training rows dropped" in capsys.readouterr().out
    only_long = write_jsonl(tmp_path / "long.jsonl", rows[24:])
    with pytest.raises(WinnowError, match=r"^all 8 training rows would be dropped: .*max-length 64"):
        run_sft(train_config(tiny_model, only_long, tmp_path / "none", max_length=64, assistant_only_loss=True))
    # refused in the folder of the run above: that run's model and records are left as they were
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".winnow.lock"}
    with pytest.raises(WinnowError, match=r"^all 8 training rows would be dropped"):
        run_sft(train_config(tiny_model, only_long, out, max_length=64, assistant_only_loss=True))
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".winnow.lock"}
    assert "model.safetensors" in before and after == before


def test_a_second_training_into_a_folder_in_use_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    from curation.run_folder import RunLock

    data = write_jsonl(tmp_path / "d.jsonl", sft_records(8))
    out = tmp_path / "run"
    run_sft(train_config(tiny_model, data, out, max_steps=1))
    model = (out / "model.safetensors").read_bytes()
    with RunLock(out, "winnow train sft"), pytest.raises(WinnowError, match=r"is in use by winnow train sft"):
        run_sft(train_config(tiny_model, data, out, max_steps=1))  # as a second `winnow train` would be
    assert (out / "model.safetensors").read_bytes() == model  # the first run's files were not cleared


def test_dpo_pairs_whose_prompt_fills_max_length_are_counted_as_dropped(tiny_model: Path, tmp_path: Path) -> None:
    rows = dpo_records(8) + [_long(r, "prompt") for r in dpo_records(4, seed=1)]
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    out = tmp_path / "dpo"
    res = run_dpo(train_config(tiny_model, data, out, max_steps=1, batch_size=4, max_length=64))
    assert res.completed
    man = json.loads((out / "manifest.json").read_text())
    assert (man["train_records_given"], man["train_records"], man["train_records_dropped"]) == (12, 8, 4)
    only_long = write_jsonl(tmp_path / "long.jsonl", rows[8:])
    with pytest.raises(WinnowError, match=r"^all 4 training rows would be dropped: the prompt alone fills"):
        run_dpo(train_config(tiny_model, only_long, tmp_path / "none", max_length=64))
