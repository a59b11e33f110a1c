"""How responsive is the app's Corpus page on a large run? Times its data calls (app/ui/corpus_data.py, lazy
Polars scans with limits) against the eager way (read every document, then filter), each in a fresh process
so peak memory is its own.

    python bench/app_corpus.py --run RUN_DIR

RUN_DIR is the --out of a `winnow curate` run, e.g. 200,000 documents:
    winnow data sample --out big.jsonl --docs 200000
    winnow curate big.jsonl --out big-run --recipe RECIPE.yaml
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

_CHILD = r"""
import json, sys, time
import polars as pl
from app.ui import corpus_data as cd
run, op = sys.argv[1], sys.argv[2]
rule = cd.rules_removed(run)[0] if cd.rules_removed(run) else None
t0 = time.perf_counter()
if op == "overview":
    cd.load_manifest(run); cd.rules_removed(run)
elif op == "browse_first_page":
    cd.browse(run, "all", None, None, limit=100)
elif op == "browse_removed_by_rule":
    cd.browse(run, "removed", rule, None, limit=100)
elif op == "text_search":
    cd.browse(run, "all", None, "camera", limit=100)
elif op == "explain_document":
    rid = cd.removed_lazy(run).select("id").head(1).collect().item()
    t0 = time.perf_counter()
    cd.document(run, rid)
elif op == "histogram":
    step = cd.signal_steps(run)[0]
    cd.histogram(run, step, cd.numeric_columns(run, step)[0])
elif op == "eager_browse_removed_by_rule":  # the naive way: everything in memory, then filter
    docs = pl.read_parquet(f"{run}/docs/*.parquet")
    rem = pl.read_parquet(f"{run}/removed.parquet")
    docs.join(rem, on="id", how="left").filter(pl.col("rule") == rule).sort("order").head(100)
elif op == "eager_explain_document":
    rid = cd.removed_lazy(run).select("id").head(1).collect().item()
    t0 = time.perf_counter()
    docs = pl.read_parquet(f"{run}/docs/*.parquet")
    docs.filter(pl.col("id") == rid)
    for step in cd.signal_steps(run):
        pl.read_parquet(f"{run}/signals/{step}/*.parquet").filter(pl.col("id") == rid)
dt = time.perf_counter() - t0
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"op": op, "seconds": dt, "peak_rss_mb": rss}))
"""

OPS = ["overview", "browse_first_page", "browse_removed_by_rule", "text_search", "explain_document", "histogram",
       "eager_browse_removed_by_rule", "eager_explain_document"]


def measure(run: Path, op: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(run), op], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a curation run folder (the --out of winnow curate)")
    ap.add_argument("--repeat", type=int, default=2, help="best of this many runs per operation")
    args = ap.parse_args()
    m = json.loads((args.run / "manifest.json").read_text())
    print(f"run {args.run}: {m['input']:,} documents, {m['removed']:,} removed")
    res = {}
    for op in OPS:
        best = min((measure(args.run, op) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        res[op] = best
        print(f"{op:<30} {best['seconds']:8.3f} s   peak RSS {best['peak_rss_mb']:7.0f} MB")
    for op in ("browse_removed_by_rule", "explain_document"):
        lazy, eager = res[op], res[f"eager_{op}"]
        print(f"{op}: lazy is {eager['seconds'] / lazy['seconds']:.1f}x faster, "
              f"{eager['peak_rss_mb'] / lazy['peak_rss_mb']:.1f}x less peak memory than eager")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t:.1f} s")
