"""Benchmark: MinHash near-duplicate detection, signatures -> clusters, against datasketch and datatrove.

    python bench/curation_dedup.py [--corpus FILE] [--docs 20000] [--work DIR] [--skip-datatrove]

Without --corpus it writes Winnow's labelled sample corpus (`curation.samples.corpus`, `--docs` documents)
into the work folder. With --corpus FILE (.parquet/.jsonl with id, text) the labels are read from
`<stem>.labels.parquet` beside it when present (id, kind, source_id, jaccard); without labels only speeds
are printed.

All three systems get the same documents, word 5-grams of `curation.text.dedup_words` and 128
permutations (16 bands x 8 rows where a system lets us choose):
  * ours: the `minhash` step as the pipeline runs it: `score` per batch of 2,000 (signatures + band hashes,
    written as Parquet parts), then `finalize` (candidates, verification, clusters, output Parquet);
  * datasketch: `MinHash(num_perm=128, hashfunc=xxh32)` per document, `LeanMinHash`, insert into
    `MinHashLSH(threshold=0.8)` and query every document (candidate pairs), then a union-find;
  * datatrove: MinhashDedupSignature, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter on a
    LocalPipelineExecutor (1 task/1 worker per stage, 16 buckets x 8 hashes), end to end from the corpus file.
Quality from the labels: recall = labelled (copy, source) pairs with Jaccard >= 0.8 that end in one cluster;
precision = those found / (those found + pairs with Jaccard < 0.6 found); pairs in [0.6, 0.8) not scored.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.dedup.signatures import numba_available, signatures  # noqa: E402
from curation.steps.minhash import MinHashConfig, MinHashStep  # noqa: E402
from curation.text import dedup_words, word_ngrams  # noqa: E402

BATCH = 2000


def cpu_now() -> float:
    """CPU seconds of this process (all threads) and its reaped children: steadier than wall time on a
    busy shared machine, where a single-threaded Python baseline loses more wall time than we do."""
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def load_corpus(args: argparse.Namespace, work: Path) -> tuple[pl.DataFrame, pl.DataFrame | None, Path]:
    if args.corpus:
        path = Path(args.corpus)
        if not path.exists():
            sys.exit(f"--corpus {path}: not found")
    else:
        from curation.samples.corpus import write_sample_corpus

        path = work / "sample.parquet"
        t = time.perf_counter()
        write_sample_corpus(path, args.docs, args.seed)
        print(f"wrote the sample corpus ({args.docs} docs) in {time.perf_counter() - t:.1f}s: {path}")
    df = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_ndjson(path)
    df = df.select(pl.col("id").cast(pl.Utf8), pl.col("text").cast(pl.Utf8)).head(args.docs)
    stem = path.name.split(".")[0]
    lpath = path.with_name(f"{stem}.labels.parquet")
    labels = pl.read_parquet(lpath) if lpath.exists() else None
    if path.suffix != ".parquet":  # datatrove reads the same rows from a parquet copy
        path = work / "corpus.parquet"
        df.write_parquet(path)
    return df, labels, path


def labelled_pairs(labels: pl.DataFrame | None, ids: set[str]) -> pl.DataFrame | None:
    if labels is None:
        return None
    pairs = labels.filter(pl.col("source_id").is_not_null() & pl.col("jaccard").is_not_null()
                          & pl.col("id").is_in(ids) & pl.col("source_id").is_in(ids))
    return pairs.select("id", "source_id", "jaccard")


def score_pairs(pairs: pl.DataFrame | None, same_cluster: np.ndarray) -> dict[str, float]:
    if pairs is None or len(pairs) == 0:
        return {}
    j = pairs["jaccard"].to_numpy()
    hi, lo = j >= 0.8, j < 0.6
    found_hi, found_lo = int(same_cluster[hi].sum()), int(same_cluster[lo].sum())
    return {"pairs_hi": int(hi.sum()), "pairs_lo": int(lo.sum()),
            "recall": found_hi / max(1, int(hi.sum())),
            "precision": found_hi / max(1, found_hi + found_lo),
            "lo_merged": found_lo / max(1, int(lo.sum()))}


def cluster_lookup(ids: list[str], cluster: list[str]) -> dict[str, str]:
    return dict(zip(ids, cluster, strict=True))


def same_cluster_of(pairs: pl.DataFrame | None, cl: dict[str, str]) -> np.ndarray:
    if pairs is None:
        return np.zeros(0, dtype=bool)
    return np.array([cl[a] == cl[b] for a, b in zip(pairs["id"], pairs["source_id"], strict=True)], dtype=bool)


def run_ours(df: pl.DataFrame, work: Path, cfg: MinHashConfig) -> tuple[float, float, pl.DataFrame]:
    run = work / "ours"
    shutil.rmtree(run, ignore_errors=True)
    parts_dir = run / "signals" / "minhash.parts"
    parts_dir.mkdir(parents=True)
    step = MinHashStep(cfg)
    frame = df.with_row_index("order").with_columns(pl.col("order").cast(pl.Int64))
    t, c = time.perf_counter(), cpu_now()
    parts = []
    for k, s in enumerate(range(0, len(frame), BATCH)):
        p = parts_dir / f"0_{k:05d}.parquet"
        step.score(frame.slice(s, BATCH)).write_parquet(p)
        parts.append(p)
    step.finalize(parts, run / "signals" / "minhash")
    dt, dc = time.perf_counter() - t, cpu_now() - c
    return dt, dc, pl.read_parquet(run / "signals" / "minhash" / "*.parquet")


def run_datasketch(df: pl.DataFrame) -> tuple[float, float, dict[str, str], np.ndarray]:
    import xxhash
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    texts, ids = df["text"].to_list(), df["id"].to_list()
    t, c = time.perf_counter(), cpu_now()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    mhs = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=128, hashfunc=xxhash.xxh32_intdigest)
        m.update_batch([s.encode("utf-8") for s in word_ngrams(dedup_words(text), 5)])
        lm = LeanMinHash(m)
        lsh.insert(i, lm)
        mhs.append(lm)
    parent = list(range(len(texts)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(mhs):
        for j in lsh.query(m):
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = [find(i) for i in range(len(texts))]
    dt, dc = time.perf_counter() - t, cpu_now() - c
    print(f"  datasketch LSH params (bands, rows) = {lsh.b, lsh.r}")
    sigs = np.stack([m.hashvalues for m in mhs[:500]])
    return dt, dc, cluster_lookup(ids, [ids[r] for r in roots]), sigs


def run_datatrove(corpus: Path, work: Path, n: int) -> tuple[float, float, set[str]]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import JsonlWriter

    base = work / "datatrove"
    shutil.rmtree(base, ignore_errors=True)
    cfg = MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8)

    def reader() -> ParquetReader:
        return ParquetReader(str(corpus.parent), glob_pattern=corpus.name, id_key="id", text_key="text",
                             limit=n)

    stages = [
        LocalPipelineExecutor(pipeline=[reader(), MinhashDedupSignature(str(base / "sigs"), config=cfg)],
                              tasks=1, workers=1, logging_dir=str(base / "logs1")),
        LocalPipelineExecutor(pipeline=[MinhashDedupBuckets(str(base / "sigs"), str(base / "buckets"), config=cfg)],
                              tasks=cfg.num_buckets, workers=1, logging_dir=str(base / "logs2")),
        LocalPipelineExecutor(pipeline=[MinhashDedupCluster(str(base / "buckets"), str(base / "remove"), config=cfg)],
                              tasks=1, workers=1, logging_dir=str(base / "logs3")),
        LocalPipelineExecutor(pipeline=[reader(), MinhashDedupFilter(
            str(base / "remove"), exclusion_writer=JsonlWriter(str(base / "removed"), compression=None)),
            JsonlWriter(str(base / "kept"), compression=None)],
            tasks=1, workers=1, logging_dir=str(base / "logs4")),
    ]
    t, c = time.perf_counter(), cpu_now()
    for st in stages:
        st.run()
    dt, dc = time.perf_counter() - t, cpu_now() - c
    removed = pl.concat([pl.read_ndjson(p) for p in sorted((base / "removed").glob("*.jsonl"))]) \
        if list((base / "removed").glob("*.jsonl")) else pl.DataFrame({"id": []})
    return dt, dc, set(removed["id"].cast(pl.Utf8).to_list())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="corpus file with id,text (default: write the labelled sample corpus)")
    ap.add_argument("--docs", type=int, default=20000, help="number of documents (default 20000)")
    ap.add_argument("--seed", type=int, default=0, help="sample corpus seed")
    ap.add_argument("--work", help="scratch folder (default: a temporary folder)")
    ap.add_argument("--threshold", type=float, default=0.75, help="our verification threshold")
    ap.add_argument("--skip-datatrove", action="store_true", help="skip the (slow) datatrove baseline")
    args = ap.parse_args()
    os.environ.setdefault("WINNOW_NO_BAR", "1")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="winnow-dedup-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    df, labels, corpus = load_corpus(args, work)
    n = len(df)
    print(f"{n} documents, {df['text'].str.len_bytes().mean():.0f} bytes on average; numba kernel: "
          f"{numba_available()}")
    pairs = labelled_pairs(labels, set(df["id"].to_list()))

    t = time.perf_counter()
    signatures(df["text"].head(4))  # load (or compile, the first time) the numba kernel
    print(f"kernel warm-up (numba cache load / compile): {time.perf_counter() - t:.2f}s")
    cfg = MinHashConfig(threshold=args.threshold)
    t_ours, c_ours, out = run_ours(df, work, cfg)
    cl = cluster_lookup(out["id"].to_list(), out["cluster_id"].to_list())
    q_ours = score_pairs(pairs, same_cluster_of(pairs, cl))
    print(f"ours:       {t_ours:7.2f}s  {n / t_ours:9.0f} docs/s  (cpu {c_ours:.2f}s)  near-duplicates flagged: "
          f"{int(out['duplicate'].sum())}  {q_ours}")

    t_ds, c_ds, cl_ds, ds_sigs = run_datasketch(df)
    q_ds = score_pairs(pairs, same_cluster_of(pairs, cl_ds))
    ours_sig, _ = signatures(df["text"].head(len(ds_sigs)))
    agree = float((ours_sig == ds_sigs).all(axis=1).mean())
    print(f"datasketch: {t_ds:7.2f}s  {n / t_ds:9.0f} docs/s  (cpu {c_ds:.2f}s)  {q_ds}")
    print(f"  signatures equal to datasketch's on the first {len(ds_sigs)} documents: {agree:.1%}")
    print(f"RATIO vs datasketch: {t_ds / t_ours:.1f}x wall, {c_ds / c_ours:.1f}x cpu  (bar: >= 3x)")

    if not args.skip_datatrove:
        t_dt, c_dt, removed = run_datatrove(corpus, work, n)
        q_dt = {}
        if pairs is not None:
            found = np.array([a in removed for a in pairs["id"].to_list()], dtype=bool)
            q_dt = score_pairs(pairs, found)
        print(f"datatrove:  {t_dt:7.2f}s  {n / t_dt:9.0f} docs/s  (cpu {c_dt:.2f}s)  removed {len(removed)}  {q_dt}")
        print(f"RATIO vs datatrove: {t_dt / t_ours:.1f}x wall, {c_dt / c_ours:.1f}x cpu  (bar: >= 25x)")
    if q_ours:
        print(f"QUALITY ours: recall {q_ours['recall']:.4f} (bar >= 0.95) on {q_ours['pairs_hi']} pairs >= 0.8; "
              f"precision {q_ours['precision']:.4f} (bar >= 0.98) against {q_ours['pairs_lo']} pairs < 0.6")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
