"""Curation benchmark (issue 3; named curation_engine.py because bench/curation.py would shadow the curation
package for every script in bench/): heuristics and near-duplicate ratios, memory scaling, and mix time.

    python bench/curation_engine.py [--docs 20000] [--big-docs 200000] [--webtext ../shared/data/webtext]
                             [--work /tmp/winnow-bench] [--skip-ratios] [--skip-big]

1. runs bench/curation_heuristics.py, bench/curation_dedup.py and bench/pii.py on --docs documents of the sample
   corpus (and of the composed web text with --webtext): whole commands on each side, see each script;
2. runs `winnow curate` (default recipe, 2 workers) on --docs and on --big-docs documents and samples the
   resident memory of the whole process tree (bar: peak at 200k <= 3x peak at 20k);
3. times `winnow mix` on the stored signals of the --big-docs run (bar: under 10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def sample_corpus(work: Path, docs: int) -> Path:
    from curation.samples.corpus import write_sample_corpus

    out = work / f"sample_{docs}.jsonl"
    if not out.exists():
        t0 = time.perf_counter()
        write_sample_corpus(out, docs, seed=0)
        print(f"generated {docs} sample docs in {time.perf_counter() - t0:.1f}s -> {out}")
    return out


def run_tree_peak(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run argv; return (wall seconds, peak RSS of the process tree in MiB, exit code)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sampler() -> None:
        nonlocal peak
        p = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                procs = [p, *p.children(recursive=True)]
                rss = 0
                for q in procs:
                    try:
                        rss += q.memory_info().rss
                    except psutil.Error:
                        pass
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.1)

    t0 = time.perf_counter()
    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    _, err = proc.communicate()
    stop.set()
    th.join()
    if proc.returncode:
        print(err[-2000:], file=sys.stderr)
    return time.perf_counter() - t0, peak / 2**20, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--big-docs", type=int, default=200000)
    ap.add_argument("--webtext", type=Path, default=None, help="../shared/data/webtext for the real-text ratio")
    ap.add_argument("--work", type=Path, default=Path("/tmp/winnow-bench"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-ratios", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "WINNOW_NO_BAR": "1"}
    small = sample_corpus(a.work, a.docs)
    results: dict[str, object] = {}

    if not a.skip_ratios:
        corpora = [["--corpus", "sample"]] + ([["--corpus", "webtext", "--data-dir", str(a.webtext)]]
                                             if a.webtext else [])
        runs = [(script, c) for script in ("curation_heuristics.py", "curation_dedup.py", "pii.py") for c in corpora]
        for script, extra in runs:
            cmd = [sys.executable, str(ROOT / "bench" / script), "--docs", str(a.docs), "--workers", str(a.workers),
                   "--work", str(a.work / "ratios"), *extra]
            print(f"\n$ {' '.join(cmd)}", flush=True)
            subprocess.run(cmd, env=env, check=False)

    sizes = [("small", small)]
    if not a.skip_big:
        sizes.append(("big", sample_corpus(a.work, a.big_docs)))
    ws = a.work / "ws"
    for label, corpus in sizes:
        out = a.work / f"run_{label}"
        # PII NER (when the ner extra is installed) runs ~20 docs/s per core; this measures the engine
        argv = [sys.executable, "-m", "app.cli", "curate", str(corpus), "--out", str(out), "--workers",
                str(a.workers), "--overwrite", "--workspace", str(ws), "--set", "signals.pii.ner=off"]
        wall, peak, rc = run_tree_peak(argv, env)
        m = json.loads((out / "manifest.json").read_text()) if rc == 0 else {}
        results[label] = {"docs": m.get("input"), "wall_s": round(wall, 1), "peak_rss_mib": round(peak),
                          "docs_per_s": round((m.get("input") or 0) / wall), "rc": rc}
        print(f"curate {label}: {results[label]}", flush=True)
    if "big" in results and results["big"]["rc"] == 0:
        ratio = results["big"]["peak_rss_mib"] / max(1, results["small"]["peak_rss_mib"])
        print(f"memory: peak RSS {results['big']['peak_rss_mib']} MiB at {a.big_docs} docs vs "
              f"{results['small']['peak_rss_mib']} MiB at {a.docs}: ratio {ratio:.2f} (bar <= 3)")
        argv = [sys.executable, "-m", "app.cli", "mix", str(a.work / "run_big"), "--workspace", str(ws)]
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        from curation.mix import mix

        t0 = time.perf_counter()
        mix(a.work / "run_big")
        inproc = time.perf_counter() - t0
        print(f"mix on {a.big_docs} docs: {wall:.1f}s as a command (with start-up), {inproc:.1f}s in-process "
              f"(bar < 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
