"""Latency of a guardrail policy's input rails per ~1 KB prompt: wall-clock and thread CPU time, p50/p95.

Prompts are built from benign public prompts (MT-Bench and Vicuna first turns, self-instruct instructions):
consecutive prompts glued until 1,024 characters, cut there. CPU time is shown beside wall time because
on a shared machine wall time mostly measures waiting for a core.

    python bench/guard_policy_latency.py --data-dir ../shared/data [--policy P] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

# bench/guardrails.py would shadow the guardrails package: import from the repository root instead
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def prompts_1kb(data_dir: Path, size: int = 1024) -> list[str]:
    texts = []
    for rel in ("prompts/mtbench_questions.jsonl", "prompts/vicuna_questions.jsonl"):
        texts += [json.loads(line)["turns"][0] for line in (data_dir / rel).read_text().splitlines() if line]
    texts += [json.loads(line)["instruction"] for line in
              (data_dir / "sft/self_instruct_human_written.jsonl").read_text().splitlines() if line]
    out = []
    for i in range(len(texts)):
        s, j = texts[i], i
        while len(s) < size:
            j = (j + 1) % len(texts)
            s = f"{s} {texts[j]}"
        out.append(s[:size])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--policy", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (args.data_dir / "prompts").is_dir():
        raise SystemExit(f"no prompts under {args.data_dir}: pass --data-dir, the folder laid out like ../shared/data")
    from guardrails.policy import PolicyRunner, load_policy

    t0 = time.perf_counter()
    runner = PolicyRunner(load_policy(args.policy))
    load_s = time.perf_counter() - t0
    prompts = prompts_1kb(args.data_dir)
    for p in prompts[:20]:
        runner.scan_input(p)  # warm caches, as a server would be
    wall, cpu, blocked, per = [], [], 0, {}
    for p in prompts:
        c0, w0 = time.thread_time(), time.perf_counter()
        res = runner.scan_input(p)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        blocked += not res.valid
        for v in res.verdicts:
            per.setdefault(v.scanner, []).append(v.latency_ms)

    def pct(xs: list[float]) -> dict[str, float]:
        return {"p50_ms": round(float(np.percentile(xs, 50)), 3), "p95_ms": round(float(np.percentile(xs, 95)), 3)}

    report = {"prompts": len(prompts), "chars": 1024, "blocked": blocked, "load_s": round(load_s, 2),
              "wall": pct(wall), "cpu": pct(cpu), "scanners": {k: pct(v) for k, v in per.items()},
              "machine": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "loadavg": [round(x, 1) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{len(prompts)} prompts of 1024 chars, {blocked} blocked; policy built in {load_s:.1f} s; "
          f"load average {report['loadavg']}")
    print(f"policy  wall p50 {report['wall']['p50_ms']:.2f} ms  p95 {report['wall']['p95_ms']:.2f} ms   "
          f"CPU p50 {report['cpu']['p50_ms']:.2f} ms  p95 {report['cpu']['p95_ms']:.2f} ms")
    for k, v in report["scanners"].items():
        print(f"  {k:<16} wall p50 {v['p50_ms']:.2f} ms  p95 {v['p95_ms']:.2f} ms")


if __name__ == "__main__":
    main()
