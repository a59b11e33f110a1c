"""Estimated lower bounds on this machine for the curation benchmarks, from measured micro-benchmarks.

    python bench/bounds.py --corpus webtext --data-dir ../shared/data/webtext --docs 20000
    python bench/bounds.py --corpus sample --docs 20000

Everything runs on ONE core (POLARS_MAX_THREADS=1, one BLAS thread); the 2-process bound divides the
per-core work by two and adds one process start-up. Parts, each the median of `--repeat` runs:
  * start-up: CPU of a fresh `python -c "import polars, numpy"` (a worker must at least start and load
    its tools);
  * read: `pl.read_ndjson` of the corpus (both sides read JSONL);
  * write: the texts back out as Parquet (a curate run writes what it keeps);
  * heuristics, one pass over the text: a single regex scan of every byte (`\\S+` counted per document with
    Polars), the least any tokenizer must do;
  * dedup, hashing the shingles once: words split and hashed (Polars' vectorised hash, one u64 per word), then
    one u64 per word 5-gram combined from the word hashes with numpy (SIMD-friendly array arithmetic); and
    the 128 permutation minima MinHash needs on top (numpy uint32 affine hashes, datasketch's scheme),
    reported apart: the bound on the work MinHash itself asks for.
Prints each part in seconds and the bounds; `--json FILE` saves them.
"""

from __future__ import annotations

import os

os.environ["POLARS_MAX_THREADS"] = "1"
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpora import corpus  # noqa: E402
from bench.proctime import machine, run_timed  # noqa: E402

NGRAM = 5
NUM_PERM = 128
MERSENNE = (1 << 61) - 1


def timed(fn, repeat: int) -> tuple[float, object]:  # noqa: ANN001
    """Median CPU seconds of `fn()` over `repeat` runs (CPU: steadier than wall on a shared machine)."""
    times, out = [], None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        times.append(time.process_time() - t)
    return statistics.median(times), out


def startup(repeat: int) -> float:
    """CPU seconds of a fresh interpreter that imports Polars and numpy."""
    return statistics.median(run_timed([sys.executable, "-c", "import polars, numpy"]).cpu for _ in range(repeat))


def one_pass(texts: pl.Series) -> pl.Series:
    return texts.str.count_matches(r"\S+")


def shingle_hashes(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """One u64 per word 5-gram of every document (and each document's shingle count)."""
    words = texts.str.to_lowercase().str.split(" ")
    lens = words.list.len().to_numpy()
    h = words.explode().hash(seed=1).to_numpy()
    starts = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    n = h.size - (NGRAM - 1)
    if n <= 0:
        return np.zeros(0, np.uint64), np.zeros(len(lens), np.int64)
    with np.errstate(over="ignore"):
        s = h[:n].copy()
        for k in range(1, NGRAM):
            s = s * np.uint64(0x9E3779B97F4A7C15) + h[k:k + n]
    # keep the shingles that lie inside one document
    doc_of_start = np.searchsorted(starts, np.arange(n), side="right") - 1
    inside = np.arange(n) + NGRAM <= starts[doc_of_start + 1]
    return s[inside], np.bincount(doc_of_start[inside], minlength=len(lens))


def permutation_minima(sh: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per document, the minimum of 128 affine uint32 hashes of its shingles (datasketch's affine32)."""
    rng = np.random.RandomState(1)
    a = rng.randint(1, 1 << 31, NUM_PERM, dtype=np.uint32) | np.uint32(1)
    b = rng.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32)
    x = (sh & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    nonempty = counts > 0
    out = np.full((len(counts), NUM_PERM), 0xFFFFFFFF, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for p in range(NUM_PERM):
            v = x * a[p] + b[p]
            out[nonempty, p] = np.minimum.reduceat(v, starts[nonempty]) if x.size else 0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=["sample", "webtext"], default="sample")
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="winnow-bounds-"))
    path = corpus(a.corpus, a.docs, work, a.data_dir, a.seed)
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB; one core; {machine()}")
    t_start = startup(a.repeat)
    t_read, df = timed(lambda: pl.read_ndjson(path), a.repeat)
    texts = df["text"]  # type: ignore[index]
    out = work / "bound_write.parquet"
    t_write, _ = timed(lambda: df.write_parquet(out), a.repeat)  # type: ignore[union-attr]
    t_pass, _ = timed(lambda: one_pass(texts), a.repeat)
    t_shingle, (sh, counts) = timed(lambda: shingle_hashes(texts), a.repeat)  # type: ignore[misc]
    t_perm, _ = timed(lambda: permutation_minima(sh, counts), a.repeat)
    p = a.processes
    io = t_read + t_write
    bounds = {
        "startup_s": t_start, "read_s": t_read, "write_s": t_write, "one_pass_s": t_pass,
        "shingle_hash_s": t_shingle, "permutations_s": t_perm, "shingles": int(sh.size),
        "heuristics_bound_s": t_start + (io + t_pass) / p,
        "dedup_bound_s": t_start + (io + t_shingle) / p,
        "dedup_minhash_bound_s": t_start + (io + t_shingle + t_perm) / p,
        # CPU of the whole process tree, to set beside a benchmark's measured CPU (steadier on a loaded machine)
        "heuristics_bound_cpu_s": p * t_start + io + t_pass,
        "dedup_bound_cpu_s": p * t_start + io + t_shingle,
        "dedup_minhash_bound_cpu_s": p * t_start + io + t_shingle + t_perm,
    }
    print(f"start-up {t_start:.2f} s | read {t_read:.2f} s | write {t_write:.2f} s | one regex pass {t_pass:.2f} s | "
          f"shingle hashes {t_shingle:.2f} s ({sh.size:,} shingles) | 128 permutation minima {t_perm:.2f} s  "
          f"(CPU seconds on one core)")
    print(f"bound with {p} processes: heuristics {bounds['heuristics_bound_s']:.2f} s; dedup (shingles hashed once) "
          f"{bounds['dedup_bound_s']:.2f} s; dedup with MinHash's 128 permutations "
          f"{bounds['dedup_minhash_bound_s']:.2f} s")
    print(f"as CPU of the process tree: heuristics {bounds['heuristics_bound_cpu_s']:.2f} s; dedup "
          f"{bounds['dedup_bound_cpu_s']:.2f} s; with permutations {bounds['dedup_minhash_bound_cpu_s']:.2f} s")
    if a.json:
        a.json.write_text(json.dumps(bounds, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
