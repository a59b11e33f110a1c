"""Benchmark `winnow data sample`: documents per second and peak memory of the sample corpus writer.

The target from issue 2 is >= 5,000 documents/s (~2 KB each) with memory under 1 GiB whatever N.
Each (N, format) runs in a fresh subprocess so its peak RSS is its own. No input data is needed: the
benchmark writes its own corpus into a temporary folder (or --out-dir) and deletes it afterwards.

    python bench/sample.py                       # 20k and 200k documents, JSONL and Parquet
    python bench/sample.py --sizes 20000 --formats jsonl
    python bench/sample.py --check-quality 1500   # datatrove heuristics: pass rate per planted kind
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_DOCS_PER_S = 5000.0
# bench/ holds scripts named like the packages (bench/curation.py): import the packages from the repo root
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def _child(out: str, docs: int) -> None:
    from curation.samples.corpus import write_sample_corpus

    t0 = time.perf_counter()
    write_sample_corpus(Path(out), docs, seed=0)
    dt = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": dt, "cpu_seconds": cpu.ru_utime + cpu.ru_stime,
                      "peak_rss_mib": cpu.ru_maxrss / 1024, "bytes": Path(out).stat().st_size}))


def check_quality(n: int) -> None:
    """Run datatrove's Gopher repetition, Gopher quality, C4 and FineWeb filters on n sample documents."""
    from collections import Counter, defaultdict

    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    from curation.samples.corpus import iter_chunks

    filters = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()]
    res: dict[str, Counter] = defaultdict(Counter)
    for recs, lab in iter_chunks(n, seed=0):
        for r, k in zip(recs, lab["kind"], strict=True):
            doc, verdict = Document(text=r["text"], id=r["id"]), "pass"
            for f in filters:
                out = f.filter(doc)
                if not (out if isinstance(out, bool) else out[0]):
                    verdict = f"{type(f).__name__}:{'' if isinstance(out, bool) else out[1]}"
                    break
            res[k][verdict] += 1
    print(f"{'kind':<12} {'docs':>5} {'pass':>6}  first failing filter (top 3)")
    for k, c in sorted(res.items(), key=lambda kv: -sum(kv[1].values())):
        tot = sum(c.values())
        top = ", ".join(f"{v}={m}" for v, m in c.most_common() if v != "pass")
        print(f"{k:<12} {tot:>5} {c['pass'] / tot:>6.1%}  {top[:150]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 200000], help="Corpus sizes (documents).")
    ap.add_argument("--formats", nargs="+", default=["jsonl", "parquet"], help="jsonl, jsonl.gz and/or parquet.")
    ap.add_argument("--out-dir", type=Path, default=None, help="Where to write (default: a temporary folder).")
    ap.add_argument("--check-quality", type=int, default=0, metavar="N",
                    help="Instead of timing: pass rates of datatrove's quality filters on N documents.")
    ap.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.check_quality:
        check_quality(args.check_quality)
        return
    if args._child:
        _child(args._child[0], int(args._child[1]))
        return
    tmp = Path(tempfile.mkdtemp(prefix="winnow-bench-sample-", dir=args.out_dir))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    print(f"{'docs':>8} {'format':<9} {'seconds':>8} {'docs/s':>8} {'cpu docs/s':>10} {'MB/s':>6} "
          f"{'peak RSS':>9}  vs target {TARGET_DOCS_PER_S:.0f} docs/s")
    try:
        for n in args.sizes:
            for fmt in args.formats:
                out = tmp / f"c{n}.{fmt}"
                res = subprocess.run([sys.executable, __file__, "--_child", str(out), str(n)], env=env,
                                     capture_output=True, text=True, check=True)
                r = json.loads(res.stdout.strip().splitlines()[-1])
                rate = n / r["seconds"]
                print(f"{n:>8} {fmt:<9} {r['seconds']:>8.1f} {rate:>8.0f} {n / r['cpu_seconds']:>10.0f} "
                      f"{r['bytes'] / r['seconds'] / 1e6:>6.1f} {r['peak_rss_mib']:>6.0f} MiB  "
                      f"{rate / TARGET_DOCS_PER_S:.2f}x", flush=True)
                for p in tmp.glob(f"c{n}*"):
                    p.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
