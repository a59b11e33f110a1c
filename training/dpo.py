"""Direct preference optimisation with TRL's DPOTrainer on prompt/chosen/rejected pairs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curation.errors import WinnowError
from training.config import TrainConfig
from training.data import SourceInfo, is_conversational, load_dpo, to_conversational
from training.model import check_chat_template
from training.runner import TrainResult, common_args, lora_config, run_training, split_dataset

LOSS_TYPES = ("sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
              "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm")


def _load(cfg: TrainConfig) -> tuple[list[dict[str, Any]], list[SourceInfo]]:
    if cfg.loss_type not in LOSS_TYPES:
        raise WinnowError(f"field 'loss_type': unknown DPO loss {cfg.loss_type!r} (one of {', '.join(LOSS_TYPES)})")
    return load_dpo(cfg.data)


def _trainer(cfg: TrainConfig, model: Any, tok: Any, out: Path, cbs: list[Any],
             records: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    from trl import DPOConfig, DPOTrainer

    wrap = cfg.chat_template if cfg.chat_template is not None else bool(tok.chat_template)
    if wrap and not is_conversational(records):
        records = to_conversational(records)
    if is_conversational(records):
        check_chat_template(tok, cfg.model, False)
    train_ds, eval_ds = split_dataset(records, cfg)
    info = {"data_shape": "conversational" if is_conversational(records) else "plain",
            "train_records": len(train_ds), "eval_records": len(eval_ds) if eval_ds is not None else 0}
    args = DPOConfig(**common_args("dpo", cfg, out, eval_ds is not None), beta=cfg.beta,
                     loss_type=[cfg.loss_type])
    trainer = DPOTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tok, peft_config=lora_config(cfg), callbacks=cbs)
    return trainer, info


def run_dpo(cfg: TrainConfig, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train `cfg.model` on preference pairs with DPO and write the output folder `cfg.out`."""
    return run_training("dpo", cfg, _trainer, _load, callbacks)
