"""Benchmark: MinHash near-duplicate removal as whole commands, `winnow curate` against datatrove and datasketch.

    python bench/curation_dedup.py --corpus sample --docs 20000
    python bench/curation_dedup.py --corpus webtext --data-dir ../shared/data/webtext --docs 20000

Each side is one command that reads the same folder of JSONL files (one per process), works in `--workers`
processes and writes its result; start-up is inside the clock; wall time and the CPU time of the whole
process tree (bench/proctime.py); medians of `--rounds` alternating rounds:
  * ours: `winnow curate DIR --recipe curation/recipes/bench/minhash.yaml --workers 2` (MinHash signatures,
    LSH, pair verification, clusters, then mix: removal log and kept documents as Parquet);
  * datatrove: its four MinHash stages on LocalPipelineExecutor (`bench/baselines.py datatrove-minhash`);
  * datasketch: MinHash + MinHashLSH in a 2-process script (`bench/baselines.py datasketch-minhash`);
  * with `--no-verify`, ours again without pair verification (what verification costs).
Quality from the corpus's labels (planted copies): recall = labelled pairs with Jaccard >= 0.8 found
(same cluster; for datatrove, the copy removed), precision = found / (found + pairs with Jaccard < 0.6
found).
What still differs: we also store every document, its signature and band hashes (for `--against` and
`winnow similar`), a removal log and a manifest; datatrove writes signatures, buckets and cluster files;
datasketch keeps its index in memory. We verify candidate pairs; neither baseline does.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpora import describe, labels_of, sharded  # noqa: E402
from bench.proctime import ROOT, Side, alternate, bench_env, machine, report, run_timed, winnow_cmd  # noqa: E402

RECIPE = ROOT / "curation" / "recipes" / "bench" / "minhash.yaml"


def score_pairs(pairs: pl.DataFrame, found: np.ndarray) -> dict[str, float]:
    j = pairs["jaccard"].to_numpy()
    hi, lo = j >= 0.8, j < 0.6
    f_hi, f_lo = int(found[hi].sum()), int(found[lo].sum())
    return {"pairs_hi": int(hi.sum()), "pairs_lo": int(lo.sum()), "recall": round(f_hi / max(1, int(hi.sum())), 4),
            "precision": round(f_hi / max(1, f_hi + f_lo), 4)}


def same_cluster(pairs: pl.DataFrame, cluster: dict[str, str]) -> np.ndarray:
    return np.array([cluster.get(a, a) == cluster.get(b, b) for a, b in
                     zip(pairs["id"], pairs["source_id"], strict=True)], dtype=bool)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=["sample", "webtext"], default="sample")
    ap.add_argument("--data-dir", type=Path, help="the shared web text folder (../shared/data/webtext) for webtext")
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="processes on every side")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed at the end)")
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument("--skip-datasketch", action="store_true")
    ap.add_argument("--no-verify", action="store_true", help="also time ours without pair verification")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="winnow-dedup-bench-"))
    folder = sharded(a.corpus, a.docs, work, a.data_dir, a.seed, shards=a.workers)
    print(f"{describe(folder)}; {a.workers} processes per side; {machine()}", flush=True)
    env = bench_env()
    ws = work / "ws"

    def ours(name: str, extra: list[str]) -> Side:
        out = work / f"out_{name}"
        return Side(name, lambda: run_timed([*winnow_cmd(), "curate", str(folder), "--out", str(out), "--recipe",
                                             str(RECIPE), "--workers", str(a.workers), "--overwrite",
                                             "--workspace", str(ws), *extra], env=env, cwd=ROOT))

    def baseline(name: str) -> Side:
        out = work / f"out_{name}"

        def run():  # noqa: ANN202
            shutil.rmtree(out, ignore_errors=True)
            return run_timed([sys.executable, str(ROOT / "bench" / "baselines.py"), f"{name}-minhash", str(folder),
                              str(out), "--workers", str(a.workers)], env=env, cwd=ROOT)
        return Side(name, run)

    sides = [ours("winnow", [])]
    if a.no_verify:
        sides.append(ours("winnow-noverify", ["--set", "signals.minhash.verify=false"]))
    if not a.skip_datasketch:
        sides.append(baseline("datasketch"))
    if not a.skip_datatrove:
        sides.append(baseline("datatrove"))
    alternate(sides, a.rounds)  # --rounds 0: only score the outputs an earlier run left in --work
    by = {s.name: s for s in sides if s.results or a.rounds == 0}
    result: dict[str, object] = {"corpus": a.corpus, "docs": a.docs, "workers": a.workers, "rounds": a.rounds,
                                 "machine": machine()}
    timed = {k: v for k, v in by.items() if v.results}
    if "datasketch" in timed:
        result["vs_datasketch"] = report(by["winnow"], by["datasketch"], 3, "MinHash dedup vs datasketch")
    if "datatrove" in timed:
        result["vs_datatrove"] = report(by["winnow"], by["datatrove"], 25, "MinHash dedup vs datatrove")
    if "winnow-noverify" in timed:
        v, nv = by["winnow"], by["winnow-noverify"]
        print(f"pair verification costs {v.wall - nv.wall:+.2f} s wall, {v.cpu - nv.cpu:+.2f} s cpu "
              f"({v.wall:.2f} vs {nv.wall:.2f} s)")
        result["verify_cost_s"] = {"wall": v.wall - nv.wall, "cpu": v.cpu - nv.cpu}

    labels = labels_of(folder)
    if labels is not None:
        pairs = labels.filter(pl.col("source_id").is_not_null() & pl.col("jaccard").is_not_null())
        sig = pl.read_parquet(work / "out_winnow" / "signals" / "minhash" / "*.parquet")
        quality = {"winnow": score_pairs(pairs, same_cluster(pairs, dict(zip(
            sig["id"].to_list(), sig["cluster_id"].cast(pl.Utf8).to_list(), strict=True))))}
        removed_path = work / "out_winnow" / "removed.parquet"
        quality["winnow"]["removed"] = pl.read_parquet(removed_path).height
        if "datasketch" in by:
            rpath = work / "out_datasketch" / "removed.jsonl"
            rem = [json.loads(x) for x in rpath.read_text(encoding="utf-8").splitlines()]
            cl = {r["id"]: r["kept_id"] for r in rem}
            quality["datasketch"] = {**score_pairs(pairs, same_cluster(pairs, cl)), "removed": len(cl)}
        if "datatrove" in by:
            files = list((work / "out_datatrove" / "removed").glob("*.jsonl"))
            ids = set(pl.concat([pl.read_ndjson(p) for p in files if p.stat().st_size])["id"].cast(pl.Utf8)
                      .to_list()) if files else set()
            found = np.array([x in ids or y in ids for x, y in zip(pairs["id"], pairs["source_id"], strict=True)],
                             dtype=bool)
            quality["datatrove"] = {**score_pairs(pairs, found), "removed": len(ids)}
        for k, q in quality.items():
            print(f"quality {k:<11} {q}")
        result["quality"] = quality
    if a.json:
        a.json.write_text(json.dumps(result, indent=2, default=str))
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
