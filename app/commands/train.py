"""`winnow train sft|dpo`, `winnow data sft|dpo` and `winnow model tiny`: the training area's commands."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from app.commands import groups
from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from curation.errors import WinnowError

_DATA_HELP = "Dataset file (JSONL, JSON, Parquet) or curated Winnow output folder; repeat for several."


def _train(kind: str, workspace: Path, config: Path | None, resume: bool, overrides: dict[str, Any]) -> None:
    from app.registry import registered_run
    from app.workspace import models_dir, open_workspace
    from training.config import load_config

    ws = open_workspace(workspace)
    overrides["resume"] = True if resume else None
    cfg = load_config(config, overrides)
    if cfg.out is None:  # neither --out nor the YAML named one
        cfg = cfg.model_copy(update={"out": str(models_dir(ws) / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}")})
    from training.runner import check_out

    check_out(cfg)  # a refused --out is not recorded as a run
    with registered_run(ws, f"train-{kind}", cfg.model_dump(mode="json"), cfg.out) as (reg, run_id):
        if kind == "sft":
            from training.sft import run_sft as run
        else:
            from training.dpo import run_dpo as run
        result = run(cfg)
        reg.set_metrics(run_id, result.metrics)
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.metrics.items())
    typer.echo(f"{kind.upper()} done: {result.steps}/{result.max_steps} steps -> {result.out_dir}")
    typer.echo(f"  {shown}")


def _overrides(model: str | None, data: list[Path] | None, out: Path | None, max_steps: int | None,
               epochs: float | None, lr: float | None, batch_size: int | None, grad_accum: int | None,
               max_length: int | None, lora: bool | None, lora_r: int | None, val_split: float | None,
               eval_steps: int | None, logging_steps: int | None, save_steps: int | None, seed: int | None,
               device: str | None, download: bool) -> dict[str, Any]:
    return {"model": model, "data": [str(d) for d in data] if data else None, "out": str(out) if out else None,
            "max_steps": max_steps, "epochs": epochs, "learning_rate": lr, "batch_size": batch_size,
            "grad_accum": grad_accum, "max_length": max_length, "lora.enabled": lora, "lora.r": lora_r,
            "val_split": val_split, "eval_steps": eval_steps, "logging_steps": logging_steps,
            "save_steps": save_steps, "seed": seed, "device": device, "allow_download": True if download else None}


@groups.train.command("sft")
def train_sft(
    model: str = typer.Option(None, "--model", help="Base model: local folder (or a hub id already cached)."),
    data: list[Path] = typer.Option(None, "--data", help=_DATA_HELP),
    out: Path = typer.Option(None, "--out", help="Output folder (default: <workspace>/models/sft-<time>)."),
    config: Path = typer.Option(None, "--config", help="YAML training config; flags given here override it."),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after N optimizer steps (overrides epochs)."),
    epochs: float = typer.Option(None, "--epochs", help="Passes over the data (default 1)."),
    lr: float = typer.Option(None, "--lr", help="Learning rate (default 5e-4; with LoRA 5e-3)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Per-device batch size (default 8)."),
    grad_accum: int = typer.Option(None, "--grad-accum", help="Gradient accumulation steps (default 1)."),
    max_length: int = typer.Option(None, "--max-length", help="Max tokens per example/chunk (default 512)."),
    packing: bool = typer.Option(None, "--packing/--no-packing", help="Pack several examples per row."),
    assistant_only_loss: bool = typer.Option(None, "--assistant-only-loss/--full-loss",
                                             help="Train only on assistant turns (chat data)."),
    lora: bool = typer.Option(None, "--lora/--no-lora", help="Train a LoRA adapter instead of all weights."),
    lora_r: int = typer.Option(None, "--lora-r", help="LoRA rank (default 8)."),
    val_split: float = typer.Option(None, "--val-split", help="Held-out share (<1) or record count (>=1)."),
    eval_steps: int = typer.Option(None, "--eval-steps", help="Evaluate every N steps (default: at the end)."),
    logging_steps: int = typer.Option(None, "--logging-steps", help="Log metrics every N steps (default 10)."),
    save_steps: int = typer.Option(None, "--save-steps", help="Checkpoint every N steps (default 100)."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default 42)."),
    device: str = typer.Option(None, "--device", help="auto (GPU when present), cpu, cuda or mps."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --out."),
    download: bool = typer.Option(False, "--download", help="Allow downloading a hub model (when online)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Supervised fine-tuning with TRL (chat, Alpaca, ShareGPT or plain-text/curated data)."""
    ov = _overrides(model, data, out, max_steps, epochs, lr, batch_size, grad_accum, max_length, lora, lora_r,
                    val_split, eval_steps, logging_steps, save_steps, seed, device, download)
    ov.update(packing=packing, assistant_only_loss=assistant_only_loss)
    _train("sft", workspace, config, resume, ov)


@groups.train.command("dpo")
def train_dpo(
    model: str = typer.Option(None, "--model", help="Base model, usually an SFT output folder."),
    data: list[Path] = typer.Option(None, "--data", help=_DATA_HELP),
    out: Path = typer.Option(None, "--out", help="Output folder (default: <workspace>/models/dpo-<time>)."),
    config: Path = typer.Option(None, "--config", help="YAML training config; flags given here override it."),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after N optimizer steps (overrides epochs)."),
    epochs: float = typer.Option(None, "--epochs", help="Passes over the data (default 1)."),
    lr: float = typer.Option(None, "--lr", help="Learning rate (default 5e-5; with LoRA 5e-4)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Per-device batch size (default 8)."),
    grad_accum: int = typer.Option(None, "--grad-accum", help="Gradient accumulation steps (default 1)."),
    max_length: int = typer.Option(None, "--max-length", help="Max tokens of prompt + answer (default 512)."),
    beta: float = typer.Option(None, "--beta", help="DPO beta (default 0.1)."),
    loss_type: str = typer.Option(None, "--loss-type", help="DPO loss: sigmoid, ipo, hinge, robust, ..."),
    lora: bool = typer.Option(None, "--lora/--no-lora", help="Train a LoRA adapter instead of all weights."),
    lora_r: int = typer.Option(None, "--lora-r", help="LoRA rank (default 8)."),
    val_split: float = typer.Option(None, "--val-split", help="Held-out share (<1) or pair count (>=1)."),
    eval_steps: int = typer.Option(None, "--eval-steps", help="Evaluate every N steps (default: at the end)."),
    logging_steps: int = typer.Option(None, "--logging-steps", help="Log metrics every N steps (default 10)."),
    save_steps: int = typer.Option(None, "--save-steps", help="Checkpoint every N steps (default 100)."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default 42)."),
    device: str = typer.Option(None, "--device", help="auto (GPU when present), cpu, cuda or mps."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --out."),
    download: bool = typer.Option(False, "--download", help="Allow downloading a hub model (when online)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Direct preference optimisation with TRL on prompt/chosen/rejected pairs (plain, chat or HH-RLHF)."""
    ov = _overrides(model, data, out, max_steps, epochs, lr, batch_size, grad_accum, max_length, lora, lora_r,
                    val_split, eval_steps, logging_steps, save_steps, seed, device, download)
    ov.update(beta=beta, loss_type=loss_type)
    _train("dpo", workspace, config, resume, ov)


def _write_normalised(kind: str, data: list[Path], out: Path) -> None:
    from training.data import load_dpo, load_sft, write_jsonl

    if not data:
        raise WinnowError("no data given (--data FILE)")
    records, infos = (load_sft if kind == "sft" else load_dpo)([str(d) for d in data])
    write_jsonl(records, out)
    for i in infos:
        typer.echo(f"{i.path}: {i.format}, {i.records} records")
    typer.echo(f"wrote {len(records)} {kind.upper()} records to {out}")


@groups.data.command("sft")
def data_sft(
    data: list[Path] = typer.Option(..., "--data", help=_DATA_HELP),
    out: Path = typer.Option(..., "--out", help="JSONL file for the normalised records (messages or text)."),
) -> None:
    """Detect, validate and normalise SFT data to TRL's format (for inspection before training)."""
    _write_normalised("sft", data, out)


@groups.data.command("dpo")
def data_dpo(
    data: list[Path] = typer.Option(..., "--data", help=_DATA_HELP),
    out: Path = typer.Option(..., "--out", help="JSONL file for the normalised prompt/chosen/rejected pairs."),
) -> None:
    """Detect, validate and normalise preference pairs to TRL's DPO format (for inspection)."""
    _write_normalised("dpo", data, out)


@groups.model.command("tiny")
def model_tiny(
    corpus: list[Path] = typer.Option(..., "--corpus", help="Text to train the tokenizer on (JSONL/Parquet/text)."),
    out: Path = typer.Option(..., "--out", help="Folder for the model and tokenizer."),
    vocab_size: int = typer.Option(2000, "--vocab-size", help="BPE vocabulary size (at most)."),
    hidden: int = typer.Option(128, "--hidden", help="Hidden size."),
    layers: int = typer.Option(2, "--layers", help="Number of transformer layers."),
    heads: int = typer.Option(4, "--heads", help="Attention heads (must divide hidden)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the random initial weights."),
) -> None:
    """Build a tiny local Llama model + byte-level BPE tokenizer with a ChatML template (offline base)."""
    import json

    from training.tiny import build_tiny_model

    path = build_tiny_model(corpus, out, vocab_size=vocab_size, hidden=hidden, layers=layers, heads=heads,
                            seed=seed)
    info = json.loads((path / "winnow_tiny.json").read_text())
    typer.echo(f"tiny model: {info['params']:,} parameters, vocab {info['vocab_size']} -> {path}")


def register(root: typer.Typer) -> None:
    """Commands attach to the shared groups (train, data, model) at import."""
