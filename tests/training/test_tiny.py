"""The tiny local base model: builds offline and loads with the Auto classes, chat template included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from training.tiny import build_tiny_model


def test_tiny_model_loads_with_auto_classes(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert model.config.model_type == "llama"
    info = json.loads((tiny_model / "winnow_tiny.json").read_text())
    assert info["params"] == sum(p.numel() for p in model.parameters())
    msgs = [{"role": "user", "content": "What is 2 plus 3?"}, {"role": "assistant", "content": "5"}]
    text = tok.apply_chat_template(msgs, tokenize=False)
    assert text == "<|im_start|>user\nWhat is 2 plus 3?<|im_end|>\n<|im_start|>assistant\n5<|im_end|>\n"
    enc = tok.apply_chat_template(msgs, return_assistant_tokens_mask=True, return_dict=True)
    masked = [t for t, m in zip(enc["input_ids"], enc["assistant_masks"], strict=True) if m]
    assert tok.decode(masked) == "5<|im_end|>"  # generation markers -> assistant-only loss works
    assert tok.decode(tok("plus 12 is")["input_ids"]) == "plus 12 is"  # byte-level round trip
    out = model.generate(**tok("What is", return_tensors="pt"), max_new_tokens=3, do_sample=False)
    assert out.shape[1] > 0


def test_default_size_is_about_half_a_million(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"line {i} of some plain text corpus" for i in range(200)))
    path = build_tiny_model(corpus, tmp_path / "m")
    info = json.loads((path / "winnow_tiny.json").read_text())
    assert 300_000 < info["params"] < 900_000 and info["layers"] == 2 and info["hidden"] == 128


def test_empty_corpus_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("\n\n")
    with pytest.raises(WinnowError, match="no text found"):
        build_tiny_model(tmp_path / "e.txt", tmp_path / "m")
