"""Benchmark: tokens/s of `winnow train sft` against a bare TRL `SFTTrainer` script (and DPO tokens/s).

Both sides train the same model on the same normalised data with the same settings (batch, max length,
logging and checkpoint intervals, seed, CPU fp32); tokens/s is TRL's own count of trained tokens
(`num_tokens`, the attention-mask sum) divided by the trainer's `train_runtime`, so process start-up and
data loading are outside it on both sides. Runs alternate winnow / bare; the ratio is of the medians.

    python bench/training.py --data /work/shared/data/sft/self_instruct_human_written.jsonl \
        --dpo-data /work/shared/data/preference/hh_rlhf_harmless_base_test_dpo.jsonl --runs 5 --seconds 30

Without `--data` it generates 2,000 synthetic chat records (the shared folder is not needed); without
`--model` it builds the tiny model (`winnow model tiny`) on the data.

A third side, "bare TRL + allocator", runs the same bare script with glibc told through its environment
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_) what `winnow train` sets with mallopt on a CPU
(`training/device.py`): it shows how much of winnow's lead is that setting (skip it with --no-tuned-bare).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BARE = r'''
import json, sys, time
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer


class CpuClock(TrainerCallback):  # measurement only: CPU seconds of the train loop
    def on_train_begin(self, *a, **k):
        self.t0 = time.process_time()

    def on_train_end(self, *a, **k):
        self.cpu = time.process_time() - self.t0

model_dir, data, out, steps, batch, max_length, logging_steps, save_steps = sys.argv[1:9]
records = [json.loads(line) for line in open(data, encoding="utf-8")]
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModelForCausalLM.from_pretrained(model_dir)
args = SFTConfig(output_dir=out, max_steps=int(steps), per_device_train_batch_size=int(batch),
                 max_length=int(max_length), logging_steps=int(logging_steps), save_steps=int(save_steps),
                 learning_rate=5e-4, seed=42, use_cpu=True, bf16=False, report_to="none")
clock = CpuClock()
trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tok,
                     callbacks=[clock])
res = trainer.train()
tokens = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h][-1]
print("BARE_RESULT", json.dumps({"tokens": tokens, "runtime": res.metrics["train_runtime"], "cpu": clock.cpu}))
'''


def synthetic_sft(path: Path, n: int = 2000, seed: int = 0) -> Path:
    rng = random.Random(seed)
    words = "the a river stone light quick slow green market city winter garden letter music".split()
    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(n):
            q = " ".join(rng.choices(words, k=rng.randint(5, 15)))
            a = " ".join(rng.choices(words, k=rng.randint(20, 60)))
            fh.write(json.dumps({"messages": [{"role": "user", "content": f"Explain: {q}?"},
                                              {"role": "assistant", "content": a.capitalize() + "."}]}) + "\n")
    return path


def sh(cmd: list[str], env: dict[str, str]) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        sys.exit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr[-3000:]}")
    return res.stdout


def winnow_sft(a: argparse.Namespace, model: Path, data: Path, out: Path, steps: int,
               env: dict[str, str]) -> dict[str, float]:
    sh([sys.executable, "-m", "app.cli", "train", "sft", "--model", str(model), "--data", str(data), "--out", str(out),
        "--max-steps", str(steps), "--batch-size", str(a.batch_size), "--max-length", str(a.max_length),
        "--logging-steps", str(a.logging_steps), "--save-steps", str(a.save_steps), "--lr", "5e-4",
        "--workspace", str(out.parent / "ws")], env)
    m = json.loads((out / "manifest.json").read_text())["metrics"]
    return {"wall": m["train_tokens_per_s"], "cpu": m["train_tokens_per_cpu_s"], "runtime": m["train_runtime_s"]}


def tuned_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with glibc's malloc set as `winnow train` sets it on a CPU."""
    import importlib.util

    # by path: this script's own name, training.py, shadows the `training` package here
    spec = importlib.util.spec_from_file_location("winnow_device", Path(__file__).parents[1] / "training/device.py")
    dev = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(dev)  # type: ignore[union-attr]
    return {**env, "MALLOC_MMAP_THRESHOLD_": str(dev.MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(dev.TRIM_THRESHOLD)}


def bare_sft(a: argparse.Namespace, model: Path, data: Path, out: Path, steps: int,
             env: dict[str, str]) -> dict[str, float]:
    stdout = sh([sys.executable, "-c", BARE, str(model), str(data), str(out), str(steps), str(a.batch_size),
                 str(a.max_length), str(a.logging_steps), str(a.save_steps)], env)
    line = next(x for x in stdout.splitlines() if x.startswith("BARE_RESULT"))
    r = json.loads(line.split(" ", 1)[1])
    return {"wall": r["tokens"] / r["runtime"], "cpu": r["tokens"] / r["cpu"], "runtime": r["runtime"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="SFT data (any format winnow reads); default: synthetic chat")
    ap.add_argument("--dpo-data", type=Path, help="preference pairs for the DPO tokens/s figure (optional)")
    ap.add_argument("--model", type=Path, help="base model folder; default: a tiny model built on the data")
    ap.add_argument("--runs", type=int, default=5, help="runs per side (alternating)")
    ap.add_argument("--seconds", type=float, default=30.0, help="target train-loop length of each run")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--logging-steps", type=int, default=10)
    ap.add_argument("--save-steps", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for both sides")
    ap.add_argument("--no-tuned-bare", action="store_true", help="skip the bare TRL + allocator side")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary model and run folders")
    a = ap.parse_args()

    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "WINNOW_NO_BAR": "1", "TOKENIZERS_PARALLELISM": "false"}
    work = Path(tempfile.mkdtemp(prefix="winnow-bench-training-"))
    data = a.data or synthetic_sft(work / "sft.jsonl")
    norm = work / "sft.norm.jsonl"  # the bare script gets exactly what winnow trains on
    sh([sys.executable, "-m", "app.cli", "data", "sft", "--data", str(data), "--out", str(norm)], env)
    model = a.model
    if model is None:
        model = work / "tiny"
        sh([sys.executable, "-m", "app.cli", "model", "tiny", "--corpus", str(norm), "--out", str(model)], env)

    # calibrate the step count so one run's train loop lasts about --seconds on the fastest side (the allocator
    # settings make a step ~1.3x faster), so no side's run is shorter than that
    probe = 30
    tuned = tuned_env(env)
    cal = bare_sft(a, model, norm, work / "probe", probe, tuned)
    steps = max(probe, round(probe * a.seconds / cal["runtime"]))
    print(f"calibration: {cal['wall']:,.0f} tokens/s bare + allocator, {cal['runtime'] / probe:.3f} s/step; "
          f"{steps} steps per run", flush=True)

    w: list[dict[str, float]] = []
    b: list[dict[str, float]] = []
    t: list[dict[str, float]] = []
    for i in range(a.runs):
        w.append(winnow_sft(a, model, norm, work / f"w{i}", steps, env))
        b.append(bare_sft(a, model, norm, work / f"b{i}", steps, env))
        line = (f"run {i + 1}: winnow {w[-1]['wall']:,.0f} tokens/s ({w[-1]['cpu']:,.0f}/CPU-s), "
                f"bare TRL {b[-1]['wall']:,.0f} tokens/s ({b[-1]['cpu']:,.0f}/CPU-s)")
        if not a.no_tuned_bare:
            t.append(bare_sft(a, model, norm, work / f"t{i}", steps, tuned))
            line += f", bare TRL + allocator {t[-1]['wall']:,.0f} tokens/s"
        print(line, flush=True)
    mw, mb = statistics.median(r["wall"] for r in w), statistics.median(r["wall"] for r in b)
    cw, cb = statistics.median(r["cpu"] for r in w), statistics.median(r["cpu"] for r in b)
    result = {"sft_winnow_tokens_per_s": mw, "sft_bare_tokens_per_s": mb, "ratio": mw / mb,
              "sft_winnow_tokens_per_cpu_s": cw, "sft_bare_tokens_per_cpu_s": cb, "cpu_ratio": cw / cb,
              "runs": a.runs, "steps_per_run": steps, "winnow": w, "bare": b}
    print(f"SFT tokens/s, median of {a.runs} alternating runs of {steps} steps: winnow {mw:,.0f}, bare TRL "
          f"{mb:,.0f}, ratio {mw / mb:.3f} (bar >= 0.95: {'met' if mw / mb >= 0.95 else 'NOT met'})")
    print(f"SFT tokens per CPU-second (steadier on a busy machine): winnow {cw:,.0f}, bare TRL {cb:,.0f}, "
          f"ratio {cw / cb:.3f}")
    if t:
        mt = statistics.median(r["wall"] for r in t)
        result.update(sft_bare_tuned_tokens_per_s=mt, ratio_vs_tuned=mw / mt, bare_tuned=t)
        print(f"bare TRL with winnow's allocator settings: {mt:,.0f} tokens/s; winnow / that {mw / mt:.3f} "
              "(what winnow adds beyond the allocator)")

    if a.dpo_data:
        out = work / "dpo"
        sh([sys.executable, "-m", "app.cli", "train", "dpo", "--model", str(model), "--data", str(a.dpo_data),
            "--out", str(out), "--max-steps", str(max(20, steps // 2)), "--batch-size", str(a.batch_size),
            "--max-length", str(a.max_length), "--logging-steps", str(a.logging_steps),
            "--save-steps", str(a.save_steps), "--workspace", str(work / "ws")], env)
        m = json.loads((out / "manifest.json").read_text())["metrics"]
        result["dpo_winnow_tokens_per_s"] = m["train_tokens_per_s"]
        result["dpo_train_runtime_s"] = m["train_runtime_s"]
        print(f"DPO tokens/s (winnow, one run of {m['train_runtime_s']:.0f} s): {m['train_tokens_per_s']:,.0f}")
    if a.json:
        a.json.write_text(json.dumps(result, indent=2))
    if a.keep:
        print(f"outputs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
