"""Evaluation benchmark: item counts from our task configs, and `winnow eval run` wall time vs the lm_eval CLI.

    python bench/evaluation.py --data-dir ../shared/data/benchmarks [--runs 5] [--limit 400]

--data-dir is a benchmark store laid out like `<dir>/<folder>/<split>.jsonl` (arc_easy, arc_challenge,
hellaswag, mmlu, truthfulqa_mc). Without the shared folder, get the same data with
`winnow data pull arc_easy arc_challenge hellaswag mmlu truthfulqa_mc` and pass `<workspace>/benchmarks`.

1. Counts the documents lm-eval builds from the task YAML we generate (not our own line count) and checks
   them against the published split sizes.
2. Times `winnow eval run` against the direct `lm_eval` CLI on the same tiny local model, the same task YAML
   and data: median of `--runs` alternating runs each. Both run without a response cache (ours with
   `--no-cache`), so both do the full model work; a cached rerun of ours is timed separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISHED = {"arc_easy": 2376, "arc_challenge": 1172, "hellaswag": 10042, "mmlu": 14042, "truthfulqa_mc1": 817,
             "truthfulqa_mc2": 817}


def count_items(data_dir: Path, work: Path) -> dict[str, dict[str, int]]:
    """Evaluation documents per benchmark as lm-eval builds them from our generated configs."""
    from lm_eval.tasks import TaskManager

    from evaluation.tasks import build_taskset

    ts = build_taskset(list(PUBLISHED), data_dir, work / "count-tasks", work / "cache")
    tm = TaskManager(include_path=str(ts.include_dir), include_defaults=False)
    loaded = tm.load(ts.tasks)["tasks"]
    counts: dict[str, int] = {}
    for name, task in loaded.items():
        key = "mmlu" if name.startswith("mmlu_") else name
        counts[key] = counts.get(key, 0) + len(list(task.eval_docs))
    return {b: {"ours": counts.get(b, 0), "published": n} for b, n in PUBLISHED.items()}


def build_model(data_dir: Path, out: Path) -> Path:
    """STACK.md's tiny model (hidden 128, 2 layers) with a BPE trained on the ARC train questions."""
    from training.tiny import build_tiny_model

    corpus = out / "corpus.txt"
    lines = []
    for folder in ("arc_easy", "arc_challenge"):
        p = data_dir / folder / "train.jsonl"
        if p.exists():
            for line in p.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                lines.append(rec["question"] + " " + " ".join(rec["choices"]["text"]))
    corpus.write_text("\n".join(lines or ["the quick brown fox"] * 100), encoding="utf-8")
    return build_tiny_model([corpus], out / "model")


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr[-3000:]}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True, help="benchmark store (e.g. ../shared/data/benchmarks)")
    ap.add_argument("--model", type=Path, help="model folder (default: build the tiny model)")
    ap.add_argument("--benchmarks", default="arc_easy", help="benchmarks timed (comma-separated)")
    ap.add_argument("--limit", type=int, default=None, help="documents per task in the timed runs")
    ap.add_argument("--runs", type=int, default=5, help="alternating runs of each command")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--skip-counts", action="store_true", help="only the timing part")
    ap.add_argument("--out", type=Path, help="write the numbers as JSON here")
    args = ap.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"--data-dir {args.data_dir} does not exist: pass ../shared/data/benchmarks or a store "
                         "filled by `winnow data pull arc_easy arc_challenge hellaswag mmlu truthfulqa_mc`")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", WINNOW_NO_BAR="1",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), TOKENIZERS_PARALLELISM="false")
    os.environ.update({k: env[k] for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "OMP_NUM_THREADS")})
    work = Path(tempfile.mkdtemp(prefix="winnow-bench-eval-"))
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.platform(),
                    "cpus": os.cpu_count(), "args": {k: str(v) for k, v in vars(args).items()}}
    try:
        if not args.skip_counts:
            t = time.perf_counter()
            counts = count_items(args.data_dir.resolve(), work)
            result["counts"] = counts
            result["counts_seconds"] = round(time.perf_counter() - t, 1)
            ok = all(c["ours"] == c["published"] for c in counts.values())
            print("items lm-eval builds from our task configs vs published split sizes:")
            for b, c in counts.items():
                print(f"  {b:<16} {c['ours']:>6}  published {c['published']:>6}  "
                      f"{'OK' if c['ours'] == c['published'] else 'MISMATCH'}")
            print(f"  all equal: {ok}")
        model = args.model.resolve() if args.model else build_model(args.data_dir, work)
        bench = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
        winnow = [sys.executable, "-m", "app.cli"] if not shutil.which("winnow") else [shutil.which("winnow")]
        lm_eval_cli = [shutil.which("lm_eval") or "lm_eval"]
        lim = ["--limit", str(args.limit)] if args.limit else []
        ws = work / "ws"
        ours = [*winnow, "eval", "run", "--model", str(model), "--benchmarks", ",".join(bench), "--data-dir",
                str(args.data_dir.resolve()), "--batch-size", str(args.batch_size), "--device", "cpu",
                "--workspace", str(ws), "--out", str(work / "ours"), *lim]
        # one untimed run writes the task YAML both commands use (and warms the datasets cache)
        timed([*ours, "--no-cache"], env)
        include = work / "direct-tasks"
        shutil.copytree(work / "ours" / "tasks", include)
        direct = [*lm_eval_cli, "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
                  "--tasks", ",".join(bench), "--include_path", str(include), "--batch_size", str(args.batch_size),
                  "--device", "cpu", "--output_path", str(work / "direct"), "--log_samples", *lim]
        t_ours, t_direct = [], []
        for i in range(args.runs):
            pair = [("ours", [*ours, "--no-cache"]), ("direct", direct)]
            for name, cmd in (pair if i % 2 == 0 else pair[::-1]):
                dt = timed(cmd, env)
                (t_ours if name == "ours" else t_direct).append(dt)
                print(f"  run {i + 1} {name:<6} {dt:7.1f} s", flush=True)
        cached = timed(ours, env)  # first cached run fills the cache
        cached = timed(ours, env)
        mo, md = statistics.median(t_ours), statistics.median(t_direct)
        result["timing"] = {"benchmarks": bench, "limit": args.limit, "runs": args.runs, "ours_s": t_ours,
                            "direct_s": t_direct, "median_ours_s": mo, "median_direct_s": md,
                            "ratio_ours_over_direct": mo / md, "cached_rerun_s": cached}
        print(f"winnow eval run median {mo:.1f} s, lm_eval CLI median {md:.1f} s: ratio {mo / md:.3f} "
              f"({'within' if mo / md <= 1.05 else 'NOT within'} 5%); cached rerun {cached:.1f} s")
        if min(t_ours + t_direct) < 30:
            print("note: some runs were under 30 s; raise --limit for the full measurement")
    finally:
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
