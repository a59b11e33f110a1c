"""Trainer callbacks: per-log metrics to `<out>/metrics.jsonl`, progress to `<out>/progress.jsonl` + bar."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from curation.progress import Progress, read_jsonl_records

# TRL's log keys -> the names metrics.jsonl uses (the app draws curves from these)
_RENAME = {"learning_rate": "lr", "rewards/accuracies": "reward_accuracy", "rewards/margins": "reward_margin",
           "rewards/chosen": "reward_chosen", "rewards/rejected": "reward_rejected",
           "eval_rewards/accuracies": "eval_reward_accuracy", "eval_rewards/margins": "eval_reward_margin",
           "eval_rewards/chosen": "eval_reward_chosen", "eval_rewards/rejected": "eval_reward_rejected",
           "mean_token_accuracy": "token_accuracy", "eval_mean_token_accuracy": "eval_token_accuracy"}


def read_metrics(out_dir: str | Path) -> list[dict[str, Any]]:
    """The records of `<out>/metrics.jsonl` (the app draws curves from them)."""
    return read_jsonl_records(Path(out_dir) / "metrics.jsonl")


def truncate_metrics(out_dir: str | Path, after_step: int) -> None:
    """Drop records past a checkpoint before resuming, so a resumed run's log reads like one run."""
    path = Path(out_dir) / "metrics.jsonl"
    if path.exists():
        keep = [r for r in read_metrics(out_dir) if r.get("step", 0) <= after_step]
        path.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")


class MetricsCallback(TrainerCallback):
    """Append one JSON line per trainer log: loss, eval loss, lr, tokens/s, DPO rewards and margins."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._last: tuple[float, float] | None = None  # (time, num_tokens) at the previous train log
        self._cpu0 = 0.0
        self.train_cpu_s: float | None = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       **kw: Any) -> None:
        self._last = (time.perf_counter(), 0.0)
        self._cpu0 = time.process_time()

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kw: Any) -> None:
        # CPU seconds of the train loop: steadier than wall time on a shared machine
        self.train_cpu_s = time.process_time() - self._cpu0

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, float] | None = None, **kw: Any) -> None:
        if not logs:
            return
        rec: dict[str, Any] = {"ts": round(time.time(), 3), "step": state.global_step,
                               "epoch": round(state.epoch or 0.0, 4)}
        for k, v in logs.items():
            if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
                rec[_RENAME.get(k, k)] = v
        now = time.perf_counter()
        if "num_tokens" in logs and self._last is not None and "loss" in logs:
            t0, n0 = self._last
            dn = logs["num_tokens"] - n0 if logs["num_tokens"] >= n0 else logs["num_tokens"]
            if now > t0:
                rec["tokens_per_s"] = round(dn / (now - t0), 1)
            self._last = (now, float(logs["num_tokens"]))
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")


class ProgressCallback(TrainerCallback):
    """Drive the shared Progress helper (terminal bar + progress.jsonl) from trainer steps."""

    def __init__(self, out_dir: str | Path, stage: str) -> None:
        self.out_dir, self.stage = out_dir, stage
        self.progress: Progress | None = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       **kw: Any) -> None:
        self.progress = Progress(self.out_dir, self.stage, total=state.max_steps, unit="steps")
        if state.global_step:
            self.progress.update(state.global_step, msg=f"resumed at step {state.global_step}")

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kw: Any) -> None:
        if self.progress is not None:
            self.progress.update(1)

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, float] | None = None, **kw: Any) -> None:
        if self.progress is None or not logs:
            return
        parts = [f"{k}={logs[k]:.4g}" for k in ("loss", "eval_loss", "rewards/accuracies", "eval_rewards/accuracies")
                 if isinstance(logs.get(k), (int, float))]
        if parts:
            self.progress.message(f"step {state.global_step}: " + " ".join(parts))

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kw: Any) -> None:
        if self.progress is not None:
            done = state.global_step >= state.max_steps
            self.progress.close("done" if done else f"stopped at step {state.global_step}")
            self.progress = None


class StopAtStep(TrainerCallback):
    """Stop training after `step` (a checkpoint is saved first when save_steps divides it): simulates a kill."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kw: Any) -> None:
        if state.global_step >= self.step:
            control.should_training_stop = True
            control.should_save = True
