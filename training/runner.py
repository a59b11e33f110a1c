"""The shared shape of an SFT or DPO job: validate everything, train with TRL, write the output folder.

Output folder: the model (or LoRA adapter + base reference), tokenizer, `config.yaml` (resolved),
`metrics.jsonl`, `progress.jsonl`, `loss.png`, `manifest.json`, and `checkpoints/` for `--resume`.
The engine knows nothing of the run registry: `app/commands/train.py` wraps it.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import WinnowError
from curation.run_folder import RunLock, held_entries, manifest_kind, write_marker
from curation.store import write_text_atomic
from training.callbacks import MetricsCallback, ProgressCallback, read_metrics, truncate_metrics
from training.config import TrainConfig, dump_config
from training.data import SourceInfo, infos_dicts
from training.device import resolve_device, retain_freed_memory
from training.model import is_adapter_dir


@dataclass
class TrainResult:
    """What a finished (or stopped) job produced; `metrics` are the headline numbers."""

    out_dir: Path
    steps: int
    max_steps: int
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.steps >= self.max_steps


def split_dataset(records: list[dict[str, Any]], cfg: TrainConfig) -> tuple[Any, Any | None]:
    """A `datasets.Dataset` for training and an optional held-out one (val_split share or count)."""
    from datasets import Dataset

    ds = Dataset.from_list(records)
    if cfg.val_split <= 0:
        return ds, None
    n_val = int(cfg.val_split) if cfg.val_split >= 1 else max(1, round(len(records) * cfg.val_split))
    if n_val >= len(records):
        raise WinnowError(f"val_split {cfg.val_split} leaves no training records (only {len(records)} records)")
    parts = ds.train_test_split(test_size=n_val, seed=cfg.seed, shuffle=True)
    return parts["train"], parts["test"]


def common_args(kind: str, cfg: TrainConfig, out: Path, has_eval: bool) -> dict[str, Any]:
    """TrainingArguments shared by SFTConfig and DPOConfig."""
    _, dev_kw = resolve_device(cfg.device)
    save_steps = cfg.save_steps
    kw: dict[str, Any] = dict(
        output_dir=str(out / "checkpoints"), learning_rate=cfg.default_lr(kind), num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.grad_accum,
        max_length=cfg.max_length, warmup_steps=cfg.warmup_ratio, lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay, logging_steps=cfg.logging_steps, logging_first_step=True,
        save_strategy="steps", save_steps=save_steps, save_total_limit=cfg.save_total_limit, seed=cfg.seed,
        report_to="none", disable_tqdm=True, dataloader_num_workers=0, **dev_kw,
    )
    if has_eval and cfg.eval_steps:
        kw.update(eval_strategy="steps", eval_steps=cfg.eval_steps)
        if cfg.early_stopping_patience:
            if save_steps % cfg.eval_steps:
                kw["save_steps"] = cfg.eval_steps
            kw.update(load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False)
    elif cfg.early_stopping_patience:
        raise WinnowError("early_stopping_patience needs a validation split and eval_steps "
                          "(set val_split and eval_steps)")
    return kw


def lora_config(cfg: TrainConfig) -> Any | None:
    if not cfg.lora.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")


def last_complete_checkpoint(ckpt_dir: Path) -> Path | None:
    """The newest checkpoint whose trainer_state.json (the Trainer writes it last) exists: a kill in the
    middle of saving leaves a folder without it, which must not be resumed from."""
    done = [p for p in ckpt_dir.glob("checkpoint-*")
            if p.is_dir() and p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").exists()]
    return max(done, key=lambda p: int(p.name.split("-")[-1])) if done else None


# What a training run writes at the top of its output folder besides the tokenizer files and config.json
# (which saving rewrites). A fresh run removes these, and only these, from a previous run's folder.
RUN_MARKER = ".winnow-train.json"
OWNED_FILES = ("metrics.jsonl", "progress.jsonl", "manifest.json", "loss.png", "model.safetensors",
               "model.safetensors.index.json", "adapter_model.safetensors", "adapter_config.json", "training_args.bin")
OWNED_DIRS = ("checkpoints",)


def is_training_run(out: Path) -> bool:
    """Whether `out` was written by `winnow train`: the marker a run writes before its first step, or (runs
    made before the marker existed) a manifest whose kind is train-sft / train-dpo."""
    if (out / RUN_MARKER).is_file():
        return True
    if _is_train_config(out / "config.yaml") and any((out / "checkpoints").glob("checkpoint-*/trainer_state.json")):
        return True  # an interrupted run from before the marker, which --resume continues
    return (manifest_kind(out) or "").startswith("train-")


def _is_train_config(path: Path) -> bool:
    """Whether `path` is a config.yaml `winnow train` wrote: any other config.yaml beside a Trainer checkpoint
    (another tool's run) must not make the folder ours to clear.

    Ours is a full dump of the TrainConfig of its day (`dump_config`): it names most of today's fields (one
    added since is missing, and gets its default) and may name a field since removed, which `extra="forbid"`
    would refuse, making an old run of ours look foreign. So fields TrainConfig no longer has are set aside and
    the rest must validate, and the file must name at least half of TrainConfig's fields: another tool's
    config.yaml lacks `model`/`data`, fails validation, or names only a few of them."""
    import yaml
    from pydantic import ValidationError

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return False
    fields = TrainConfig.model_fields
    if not isinstance(raw, dict) or 2 * len(raw.keys() & fields.keys()) < len(fields):
        return False
    try:
        TrainConfig.model_validate(_known_fields(raw, TrainConfig))
    except ValidationError:
        return False
    return True


def _known_fields(raw: dict[str, Any], model: Any) -> dict[str, Any]:
    """`raw` without the keys `model` has no field for, at every level of nested settings (`lora`)."""
    from curation.recipe import nested_settings_model

    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k not in model.model_fields:
            continue
        sub = nested_settings_model(model.model_fields[k].annotation)
        out[k] = _known_fields(v, sub) if sub is not None and isinstance(v, dict) else v
    return out


def check_out(cfg: TrainConfig) -> Path:
    """Refuse an output folder training must not write into, before any work: one that holds, lies inside
    or contains the base model or the data, and a non-empty folder that is not a previous training run
    (a fresh run clears what a run wrote there; someone else's checkpoints/ or model shards must never go)."""
    from curation.run_folder import check_inputs_outside, check_writable_dir, refuse_foreign_out

    out = Path(cfg.out)  # type: ignore[arg-type]
    model = Path(cfg.model).expanduser()
    if model.exists():
        if model.resolve() == out.resolve():
            raise WinnowError(f"--out {out} is the base model's folder (--model): training would overwrite its "
                              "weights; choose another --out")
        try:
            check_inputs_outside(out, [model])
        except WinnowError as e:
            raise WinnowError(f"--model: {e}") from None
    check_inputs_outside(out, [Path(d) for d in cfg.data])
    refuse_foreign_out(out, is_training_run, "a Winnow training run")
    check_writable_dir(out)
    return out


# Settings a resumed run may change: how long it trains (the schedule is recomputed for the new length), how
# often it logs, evaluates and saves, where it runs, and the data paths (the data is compared by content).
# Every other setting changes what the checkpoint's run was training, so a resume with it changed is refused.
RESUME_MAY_CHANGE = frozenset({"max_steps", "epochs", "logging_steps", "save_steps", "save_total_limit",
                               "eval_steps", "early_stopping_patience", "device", "retain_cpu_memory",
                               "allow_download", "out", "resume", "data"})
RUN_KEY = "winnow-run.json"  # in checkpoints/: the settings and data sha256 the checkpoints were trained with


def resume_checkpoint(out: Path, cfg: TrainConfig, infos: list[SourceInfo], kind: str = "sft") -> str | None:
    """The checkpoint `--resume` continues from, after checking it belongs to this run; None for a fresh run.

    Without a complete checkpoint a new or empty folder, or a training run of ours stopped before its first
    save, just starts (with a note for the latter), so a script may always pass --resume. Refused, with one
    line: `--resume` into any other folder without a checkpoint, and a checkpoint whose run used other data (by
    content sha256) or other settings than RESUME_MAY_CHANGE allows to differ. Called before the model loads;
    it only prints."""
    if not cfg.resume:
        return None
    last = last_complete_checkpoint(out / "checkpoints") if (out / "checkpoints").is_dir() else None
    if last is None:
        if not held_entries(out):
            return None
        if is_training_run(out):
            print(f"note: --resume: {out} holds a training run with no checkpoint yet (stopped before its first "
                  "save): starting it again")
            return None
        raise WinnowError(f"--resume: no checkpoint in {out}; run without --resume to start")
    saved = _saved_run(out)
    what = _run_difference(saved, _run_key(cfg, infos, kind), kind)
    if what:
        raise WinnowError(f"--resume: {out} holds a different run (differs in {what}); resume with the same data "
                          "and settings, or run without --resume (or with a new --out) to start again")
    return str(last)


def _run_key(cfg: TrainConfig, infos: list[SourceInfo], kind: str = "sft") -> dict[str, Any]:
    return {"config": _effective(cfg.model_dump(mode="json"), kind),
            "data": [{"path": i.path, "sha256": i.sha256} for i in infos]}


def _effective(config: dict[str, Any], kind: str) -> dict[str, Any]:
    """Settings as the run used them: the learning rate with its default filled in (`--lr 5e-4` is the SFT
    default, not a change) and a local model folder as its resolved path (`tiny/`, `./tiny` and `/abs/tiny`
    are one model)."""
    out = dict(config)
    if out.get("learning_rate") is None:
        from training.config import default_learning_rate

        out["learning_rate"] = default_learning_rate(kind, bool((out.get("lora") or {}).get("enabled")))
    model = out.get("model")
    if isinstance(model, str) and Path(model).expanduser().exists():
        out["model"] = str(Path(model).expanduser().resolve())
    return out


def _saved_run(out: Path) -> dict[str, Any]:
    """The checkpoint run's key: checkpoints/winnow-run.json, or for a run from before it config.yaml (the
    settings) and manifest.json (the data, when the run finished); a part that cannot be read is not compared."""
    import yaml

    try:
        return json.loads((out / "checkpoints" / RUN_KEY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    saved: dict[str, Any] = {}
    try:
        raw = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
        if isinstance(raw, dict):
            saved["config"] = TrainConfig.model_validate(_known_fields(raw, TrainConfig)).model_dump(mode="json")
    except (OSError, ValueError, yaml.YAMLError):
        pass
    try:
        data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["data"]
        saved["data"] = [{"path": d["path"], "sha256": d["sha256"]} for d in data]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return saved


def _run_difference(old: dict[str, Any], new: dict[str, Any], kind: str = "sft") -> str:
    """What differs between the checkpoint's run and this one, in words ('' when nothing that matters does)."""
    diffs = []
    if "data" in old:
        o_sha, n_sha = [d["sha256"] for d in old["data"]], [d["sha256"] for d in new["data"]]
        if o_sha != n_sha:
            changed = [Path(d["path"]).name for d in new["data"] if d["sha256"] not in o_sha]
            if sorted(o_sha) == sorted(n_sha):
                diffs.append("data (the same files in another order)")
            elif changed:
                diffs.append(f"data content ({', '.join(changed[:3])} differs from the checkpoint's data)")
            else:
                diffs.append(f"data ({len(o_sha)} files -> {len(n_sha)})")
    o_cfg, n_cfg = _effective(old["config"], kind) if "config" in old else {}, new["config"]
    for k in n_cfg:
        if k in RESUME_MAY_CHANGE or k not in o_cfg or o_cfg[k] == n_cfg[k]:
            continue
        if isinstance(n_cfg[k], dict) and isinstance(o_cfg[k], dict):
            diffs += [f"{k}.{s} ({o_cfg[k].get(s)} -> {n_cfg[k].get(s)})"
                      for s in n_cfg[k] if o_cfg[k].get(s) != n_cfg[k][s]]
        else:
            diffs.append(f"{k} ({o_cfg[k]} -> {n_cfg[k]})")
    return "; ".join(diffs)


def prepare_out(out: Path, resume_from: str | None, cfg: TrainConfig, infos: list[SourceInfo],
                kind: str = "sft") -> None:
    """Get the folder ready: a resumed run drops metrics past its checkpoint; a fresh run clears a previous
    run's checkpoints and logs and records its key (settings, data sha256) for a later --resume to check.

    Only a folder `check_out` accepted comes here: empty, or a previous training run, whose own entries
    (OWNED_*, weight shards) are removed; anything else in it stays.
    """
    if resume_from is not None:
        truncate_metrics(out, int(Path(resume_from).name.split("-")[-1]))
        return
    if is_training_run(out):
        for d in OWNED_DIRS:
            if (out / d).is_dir() and not (out / d).is_symlink():
                shutil.rmtree(out / d)
        # a previous run's weights must not survive beside this run's (an old adapter would shadow a full model)
        for name in OWNED_FILES:
            (out / name).unlink(missing_ok=True)
        for shard in out.glob("model-*-of-*.safetensors"):
            shard.unlink()
        if _is_generated_card(out / "README.md"):
            (out / "README.md").unlink()
    write_marker(out, RUN_MARKER, "winnow train")
    (out / "checkpoints").mkdir(exist_ok=True)
    write_text_atomic(json.dumps(_run_key(cfg, infos, kind), indent=1), out / "checkpoints" / RUN_KEY)


def _is_generated_card(path: Path) -> bool:
    """Whether README.md is the model card peft/TRL wrote on saving (front matter naming peft or trl), not notes
    a user keeps in the folder, which stay."""
    try:
        head = path.read_text(encoding="utf-8")[:2000]
    except (OSError, UnicodeDecodeError):
        return False
    front = head.split("\n---", 1)[0] if head.startswith("---") else ""
    return any(line.strip() in ("library_name: peft", "library_name: transformers", "- trl")
               for line in front.splitlines())


def quiet_libraries() -> None:
    """Keep the terminal to our one progress bar: no per-map bars from datasets, no deprecation noise."""
    import warnings

    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("winnow", "torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def headline(kind: str, metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Final train loss, eval loss, reward accuracy/margin and throughput from metrics.jsonl."""
    head: dict[str, Any] = {}
    train = [r for r in metrics if "loss" in r]
    evals = [r for r in metrics if "eval_loss" in r]
    if train:
        head["final_loss"] = train[-1]["loss"]
        if kind == "dpo" and "reward_accuracy" in train[-1]:
            head["reward_accuracy"] = train[-1]["reward_accuracy"]
    if evals:
        last = evals[-1]
        head["eval_loss"] = last["eval_loss"]
        for k in ("eval_reward_accuracy", "eval_reward_margin", "eval_token_accuracy"):
            if k in last:
                head[k] = last[k]
    summary = [r for r in metrics if "train_runtime" in r]
    tps = [r["tokens_per_s"] for r in train if "tokens_per_s" in r]
    if tps:
        head["tokens_per_s"] = round(sorted(tps)[len(tps) // 2], 1)
    if summary:
        head["train_runtime_s"] = summary[-1]["train_runtime"]
        if train and "num_tokens" in train[-1] and summary[-1]["train_runtime"] > 0:
            # TRL's running count of attention-mask tokens over the whole train loop (as a bare script sees it)
            head["train_tokens_per_s"] = round(train[-1]["num_tokens"] / summary[-1]["train_runtime"], 1)
    return head


def plot_curves(out: Path, kind: str, metrics: list[dict[str, Any]]) -> Path | None:
    """Draw loss (and for DPO reward accuracy) against step into `<out>/loss.png`."""
    train = [r for r in metrics if "loss" in r]
    evals = [r for r in metrics if "eval_loss" in r]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if kind == "dpo" else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    ax = axes[0][0]
    ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss")
    if evals:
        ax.plot([r["step"] for r in evals], [r["eval_loss"] for r in evals], "o-", label="eval loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{kind.upper()} loss")
    ax.legend()
    if kind == "dpo":
        ax = axes[0][1]
        acc = [r for r in train if "reward_accuracy" in r]
        ax.plot([r["step"] for r in acc], [r["reward_accuracy"] for r in acc], label="train reward accuracy")
        eacc = [r for r in metrics if "eval_reward_accuracy" in r]
        if eacc:
            ax.plot([r["step"] for r in eacc], [r["eval_reward_accuracy"] for r in eacc], "o-",
                    label="eval reward accuracy")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("step")
        ax.set_title("DPO reward accuracy")
        ax.legend()
    fig.tight_layout()
    path = out / "loss.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_lineage(manifest: dict[str, Any], cfg: TrainConfig, kind: str, records: list[dict[str, Any]],
                  out: Path) -> str:
    """Add the lineage block (data and base model by fingerprint, command, config) and the output fingerprint,
    so `winnow lineage` can walk from this model back to its data; returns the fingerprint."""
    from curation.lineage_record import lineage_block, stamp_fingerprint

    base = [cfg.model] if Path(cfg.model).exists() else []
    lk = "pretrain" if kind == "sft" and records and "text" in records[0] else kind
    manifest["lineage"] = lineage_block(inputs=list(cfg.data), parents=base, config=cfg.model_dump(mode="json"),
                                        kind=lk)
    skip = ("manifest.json", "progress.jsonl", RUN_MARKER)
    outputs = [p for p in sorted(out.iterdir()) if p.is_file() and p.name not in skip]
    return stamp_fingerprint(manifest, outputs)


def count_trained_rows(kind: str, cfg: TrainConfig, trainer: Any, info: dict[str, Any]) -> None:
    """Put in `info` (the manifest) how many rows will really train: TRL drops, after its own truncation to
    --max-length, the rows left with nothing to learn (SFT: every answer token cut off, e.g. a long prompt with
    assistant_only_loss; DPO: the prompt alone fills max_length). `train_records` is what trains,
    `train_records_given` what was given; a note names the dropped count and the reason, and a split left
    with no rows at all is a WinnowError before the first step. Packed or chunked text is never dropped."""
    reason = (f"the prompt alone fills --max-length {cfg.max_length}" if kind == "dpo" else
              f"no answer token is left within --max-length {cfg.max_length}")
    if kind == "sft" and (cfg.packing or info.get("data_shape") != "messages"):
        return
    for split, ds in (("train", trainer.train_dataset), ("eval", trainer.eval_dataset)):
        given = info.get(f"{split}_records", 0)
        if ds is None or not given:
            continue
        kept = len(ds)
        info.update({f"{split}_records_given": given, f"{split}_records": kept,
                     f"{split}_records_dropped": given - kept})
        if kept == given:
            continue
        info[f"{split}_drop_reason"] = reason
        what = "training" if split == "train" else "held-out"
        if kept == 0:
            raise WinnowError(f"all {given} {what} rows would be dropped: {reason}; raise --max-length or "
                              "shorten the prompts")
        print(f"note: {given - kept} of {given} {what} rows dropped ({reason}); {kept} left")


def run_training(
    kind: str,
    cfg: TrainConfig,
    build_trainer: Callable[..., tuple[Any, dict[str, Any]]],
    load_data: Callable[[TrainConfig], tuple[list[dict[str, Any]], list[SourceInfo]]],
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Validate data and model, train, save. `build_trainer` makes the TRL trainer for `kind`."""
    from training.model import load_base

    quiet_libraries()
    if not cfg.out:
        raise WinnowError("no output folder given (field 'out' / --out)")
    check_out(cfg)  # before the data and the model load: a refused folder costs nothing
    device = resolve_device(cfg.device)[0]
    # before the data and the model take memory, so their blocks follow the same rules
    allocator = retain_freed_memory() if device == "cpu" and cfg.retain_cpu_memory else None
    # Everything that can be wrong with the input is checked before the first training step.
    records, infos = load_data(cfg)
    out = Path(cfg.out)
    resume_from = resume_checkpoint(out, cfg, infos, kind)  # a refused resume costs no model load
    model, tok, base_info = load_base(cfg.model, cfg.allow_download)
    out.mkdir(parents=True, exist_ok=True)
    metrics_cb = MetricsCallback(out)
    cbs = [metrics_cb, ProgressCallback(out, f"train-{kind}"), *callbacks]
    if cfg.early_stopping_patience:  # common_args sets up the eval and best-model tracking it needs
        from transformers import EarlyStoppingCallback

        cbs.append(EarlyStoppingCallback(cfg.early_stopping_patience))
    trainer, data_info = build_trainer(cfg, model, tok, out, cbs, records)
    # before prepare_out: a run refused here (every row dropped) leaves the previous run's files as they were
    count_trained_rows(kind, cfg, trainer, data_info)
    # a second training into this folder stops here, before it clears or writes anything of the first one's
    with RunLock(out, f"winnow train {kind}"):
        prepare_out(out, resume_from, cfg, infos, kind)
        dump_config(cfg, out / "config.yaml")
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # our bar and metrics.jsonl replace its dict printing
        started = time.time()
        trainer.train(resume_from_checkpoint=resume_from)
        state = trainer.state
        if trainer.eval_dataset is not None:
            trainer.evaluate()

        base_is_adapter = is_adapter_dir(cfg.model) if Path(cfg.model).is_dir() else False
        if cfg.lora.enabled and base_is_adapter:
            # the base was itself merged in memory: an adapter on it could not be reloaded, so save merged weights
            trainer.model.merge_and_unload().save_pretrained(out)
        else:
            trainer.save_model(str(out))
        tok.save_pretrained(out)

        metrics = read_metrics(out)
        head = headline(kind, metrics)
        if metrics_cb.train_cpu_s and "train_tokens_per_s" in head:
            head["train_cpu_s"] = round(metrics_cb.train_cpu_s, 2)
            head["train_tokens_per_cpu_s"] = round(
                head["train_tokens_per_s"] * head["train_runtime_s"] / metrics_cb.train_cpu_s, 1)
        plot_curves(out, kind, metrics)
        manifest = {
            "kind": f"train-{kind}", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "base_model": base_info, "output": "lora-adapter" if cfg.lora.enabled and not base_is_adapter else "model",
            "data": infos_dicts(infos), "records": len(records), **data_info,
            "seed": cfg.seed, "device": device, "allocator": allocator, "versions": versions(),
            "steps": state.global_step, "max_steps": state.max_steps, "resumed_from": resume_from,
            "wall_s": round(time.time() - started, 2), "metrics": head, "config": cfg.model_dump(mode="json"),
        }
        write_lineage(manifest, cfg, kind, records, out)
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        return TrainResult(out, state.global_step, state.max_steps, head)
