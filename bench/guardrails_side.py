"""One side of the guardrail latency race, run as its own process by `bench/guardrails.py`.

    python bench/guardrails_side.py --side winnow|llm-guard --scanner NAME --prompts P.jsonl --out R.json \
        [--config JSON]

Both sides read the same prompts file, build one scanner (start-up is inside the parent's wall clock),
scan every prompt once in order and write per-call latencies (wall ms, and this thread's CPU ms, which a
machine shared with other jobs does not inflate) and verdicts. The llm-guard side runs
under LLM Guard's own virtual environment (it pins transformers 4.x and its own detect_secrets fork), so
this file imports only the standard library at module level and never imports winnow on that side.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

OVERHEAD_MS: list[float] = []  # policy side only: runner time outside the scanners, per call
LLM_GUARD_CLASSES = {"secrets": "Secrets", "invisible_text": "InvisibleText", "banned_substrings": "BanSubstrings",
                     "regex": "Regex"}


def _llm_guard_scanner(name: str, cfg: dict):
    import logging

    logging.disable(logging.WARNING)
    try:  # LLM Guard logs every finding through structlog at warning level: keep that out of the timing
        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    except ImportError:
        pass
    from llm_guard import input_scanners

    cls = getattr(input_scanners, LLM_GUARD_CLASSES[name])
    if name == "secrets":
        return cls(redact_mode="all")
    if name == "invisible_text":
        return cls()
    if name == "banned_substrings":
        return cls(substrings=cfg["substrings"], match_type="str", case_sensitive=False, redact=False,
                   contains_all=False)
    if name == "regex":
        return cls(patterns=cfg["patterns"], is_blocked=True, match_type="search", redact=False)
    raise SystemExit(f"unknown scanner {name}")


def _winnow_scanner(name: str, cfg: dict):
    if name == "policy":
        from guardrails.policy import PolicyRunner, load_policy

        runner = PolicyRunner(load_policy(cfg.get("policy")))

        def flag(text: str) -> bool:
            res = runner.scan_input(text)
            # what the runner adds around its scanners (its own clock minus theirs): the policy's fixed cost
            OVERHEAD_MS.append(res.latency_ms - sum(v.latency_ms for v in res.verdicts))
            return any(not v.valid for v in res.verdicts)
        return flag
    from guardrails.scanners import get_scanner

    cls = get_scanner(name)
    sc = cls(cls.Config.model_validate(cfg.get("winnow_config", {})))
    return lambda text: not sc.scan(text).valid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", choices=("winnow", "llm-guard"), required=True)
    ap.add_argument("--scanner", required=True)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default="{}")
    a = ap.parse_args()
    cfg = json.loads(a.config)
    t0 = time.perf_counter()
    if a.side == "llm-guard":
        sc = _llm_guard_scanner(a.scanner, cfg)

        def flag(text: str) -> bool:
            return not sc.scan(text)[1]
    else:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        flag = _winnow_scanner(a.scanner, cfg)
    init_s = time.perf_counter() - t0
    with open(a.prompts, encoding="utf-8") as fh:
        prompts = [json.loads(line)["text"] for line in fh if line.strip()]
    lat, cpu, flagged = [], [], []
    for p in prompts:
        c = time.thread_time()
        s = time.perf_counter()
        f = flag(p)
        lat.append((time.perf_counter() - s) * 1000.0)
        cpu.append((time.thread_time() - c) * 1000.0)
        flagged.append(bool(f))
    with open(a.out, "w", encoding="utf-8") as fh:
        json.dump({"side": a.side, "scanner": a.scanner, "init_s": init_s, "latencies_ms": lat, "cpu_ms": cpu,
                   "flagged": flagged, "overhead_ms": OVERHEAD_MS,
                   "scan_s": time.perf_counter() - t0 - init_s}, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
