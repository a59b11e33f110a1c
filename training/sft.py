"""Supervised fine-tuning with TRL's SFTTrainer on chat/instruction data or plain text (continued pretraining)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curation.errors import WinnowError
from training.config import TrainConfig
from training.data import SourceInfo, is_conversational, load_sft
from training.model import check_chat_template
from training.runner import TrainResult, common_args, lora_config, run_training, split_dataset


def chunk_texts(texts: list[str], tok: Any, max_length: int) -> list[dict[str, list[int]]]:
    """Continued pretraining: tokenize, join documents with EOS, cut into max_length blocks."""
    import numpy as np

    eos = tok.eos_token_id
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    flat = np.fromiter((t for doc in ids for t in (*doc, eos)), dtype=np.int64)
    n_full = len(flat) // max_length
    blocks = [flat[i * max_length:(i + 1) * max_length].tolist() for i in range(n_full)]
    tail = flat[n_full * max_length:]
    if len(tail) >= 8:
        blocks.append(tail.tolist())
    if not blocks:
        raise WinnowError("the text data is too short to make one training block")
    return [{"input_ids": b} for b in blocks]


def _load(cfg: TrainConfig) -> tuple[list[dict[str, Any]], list[SourceInfo]]:
    return load_sft(cfg.data)


def _trainer(cfg: TrainConfig, model: Any, tok: Any, out: Path, cbs: list[Any],
             records: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    from trl import SFTConfig, SFTTrainer

    info: dict[str, Any] = {}
    if is_conversational(records):
        check_chat_template(tok, cfg.model, cfg.assistant_only_loss)
        info["data_shape"] = "messages"
    else:
        if cfg.assistant_only_loss:
            raise WinnowError("assistant_only_loss needs chat data, but the SFT data is plain text")
        records = chunk_texts([r["text"] for r in records], tok, cfg.max_length)
        info.update(data_shape="text-chunks", chunks=len(records))
    train_ds, eval_ds = split_dataset(records, cfg)
    info.update(train_records=len(train_ds), eval_records=len(eval_ds) if eval_ds is not None else 0)
    args = SFTConfig(**common_args("sft", cfg, out, eval_ds is not None), packing=cfg.packing,
                     assistant_only_loss=cfg.assistant_only_loss)
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tok, peft_config=lora_config(cfg), callbacks=cbs)
    return trainer, info


def run_sft(cfg: TrainConfig, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train `cfg.model` on `cfg.data` with SFT and write the output folder `cfg.out`."""
    return run_training("sft", cfg, _trainer, _load, callbacks)
