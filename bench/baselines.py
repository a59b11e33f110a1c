"""The baselines' own pipelines, each a whole command: read a folder of JSONL files, work in `--workers`
processes, write the result. The curation benchmarks time these against `winnow curate` on the same folder.

    python bench/baselines.py datatrove-minhash   IN_DIR OUT_DIR [--workers 2]
    python bench/baselines.py datasketch-minhash  IN_DIR OUT_DIR [--workers 2]
    python bench/baselines.py datatrove-heuristics IN_DIR OUT_DIR [--workers 2]
    python bench/baselines.py presidio-pii        IN_DIR OUT_DIR [--workers 2] [--entities A,B,...]

* datatrove-minhash: datatrove's four MinHash stages on `LocalPipelineExecutor` (signatures, buckets,
  clusters, filter), word 5-grams, 16 buckets x 8 hashes; the filter writes the kept documents (JSONL).
* datasketch-minhash: `MinHash(num_perm=128, hashfunc=xxh32)` of the same word 5-grams
  (`curation.text`), `LeanMinHash`, in a pool of `--workers` processes (one per input file), then
  `MinHashLSH(num_perm=128, params=(16, 8))` insert + query and a union-find in the main process; writes
  the kept documents (first of each cluster) as JSONL. No pair verification (as datasketch's users do).
* datatrove-heuristics: GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter ->
  FineWebQualityFilter (default parameters) between a JsonlReader and a JsonlWriter, `--workers` tasks.
  C4 passes its cleaned text on, so the kept documents hold C4's cleaned text.
* presidio-pii: per input file, in a pool of `--workers` processes, `BatchAnalyzerEngine` over an
  `AnalyzerEngine` with the no-op NLP engine (Presidio's pattern recognizers, English) and
  `BatchAnonymizerEngine` (default: replace each span with `<ENTITY_TYPE>`); writes the anonymized texts.
  The email recognizer's suffix list comes from tldextract's bundled snapshot (offline).
Datatrove's executors need one input file per task: give as many files as workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _files(in_dir: Path) -> list[Path]:
    files = sorted(p for p in in_dir.iterdir() if p.name.endswith(".jsonl"))
    if not files:
        sys.exit(f"{in_dir}: no *.jsonl files")
    return files


def _read(path: Path) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            ids.append(str(rec["id"]))
            texts.append(rec["text"])
    return ids, texts


def datatrove_minhash(in_dir: Path, out: Path, workers: int) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    tasks = len(_files(in_dir))
    cfg = MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8)

    def reader() -> JsonlReader:
        return JsonlReader(str(in_dir), glob_pattern="*.jsonl", id_key="id", text_key="text", compression=None)

    stages = [
        LocalPipelineExecutor(pipeline=[reader(), MinhashDedupSignature(str(out / "sigs"), config=cfg)],
                              tasks=tasks, workers=workers, logging_dir=str(out / "logs1")),
        LocalPipelineExecutor(pipeline=[MinhashDedupBuckets(str(out / "sigs"), str(out / "buckets"), config=cfg)],
                              tasks=cfg.num_buckets, workers=workers, logging_dir=str(out / "logs2")),
        LocalPipelineExecutor(pipeline=[MinhashDedupCluster(str(out / "buckets"), str(out / "remove"), config=cfg)],
                              tasks=1, workers=1, logging_dir=str(out / "logs3")),
        LocalPipelineExecutor(pipeline=[reader(), MinhashDedupFilter(
            str(out / "remove"), exclusion_writer=JsonlWriter(str(out / "removed"), compression=None)),
            JsonlWriter(str(out / "kept"), compression=None)],
            tasks=tasks, workers=workers, logging_dir=str(out / "logs4")),
    ]
    for st in stages:
        st.run()


def _signatures(path: str) -> tuple[list[str], list[str], list]:
    import xxhash
    from datasketch import LeanMinHash, MinHash

    from curation.text import dedup_words, word_ngrams

    ids, texts = _read(Path(path))
    sigs = []
    for text in texts:
        m = MinHash(num_perm=128, hashfunc=xxhash.xxh32_intdigest)
        m.update_batch([s.encode("utf-8") for s in word_ngrams(dedup_words(text), 5)])
        sigs.append(LeanMinHash(m))
    return ids, texts, sigs


def datasketch_minhash(in_dir: Path, out: Path, workers: int) -> None:
    from multiprocessing import get_context

    from datasketch import MinHashLSH

    with get_context("forkserver").Pool(workers) as pool:
        parts = pool.map(_signatures, [str(p) for p in _files(in_dir)])
    ids = [i for p in parts for i in p[0]]
    texts = [t for p in parts for t in p[1]]
    lsh = MinHashLSH(num_perm=128, params=(16, 8))
    mhs = []
    for k, m in enumerate(s for p in parts for s in p[2]):
        lsh.insert(k, m)
        mhs.append(m)
    parent = list(range(len(ids)))

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
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "kept.jsonl", "w", encoding="utf-8") as kept, \
            open(out / "removed.jsonl", "w", encoding="utf-8") as removed:
        for i, (doc_id, text) in enumerate(zip(ids, texts, strict=True)):
            root = find(i)
            if root == i:
                kept.write(json.dumps({"id": doc_id, "text": text}) + "\n")
            else:
                removed.write(json.dumps({"id": doc_id, "kept_id": ids[root]}) + "\n")


def datatrove_heuristics(in_dir: Path, out: Path, workers: int) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    tasks = len(_files(in_dir))
    LocalPipelineExecutor(pipeline=[
        JsonlReader(str(in_dir), glob_pattern="*.jsonl", id_key="id", text_key="text", compression=None),
        GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter(),
        JsonlWriter(str(out / "kept"), compression=None),
    ], tasks=tasks, workers=workers, logging_dir=str(out / "logs")).run()


def _presidio_file(job: tuple[str, str, list[str] | None]) -> int:
    import logging

    import tldextract
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    from presidio_anonymizer import BatchAnonymizerEngine

    logging.disable(logging.WARNING)
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class _Offline:
        extract = staticmethod(offline)

    email_recognizer.tldextract = _Offline  # the bundled suffix list, no download
    path, dest, entities = job
    ids, texts = _read(Path(path))
    analyzer = AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "noop"}]),
                              supported_languages=["en"])
    if entities:  # the types Presidio has recognizers for (ours may add types of its own)
        entities = [e for e in entities if e in analyzer.get_supported_entities("en")]
    results = BatchAnalyzerEngine(analyzer_engine=analyzer).analyze_iterator(
        texts, language="en", entities=entities, batch_size=500)
    anonymized = BatchAnonymizerEngine().anonymize_list(texts, list(results))
    with open(dest, "w", encoding="utf-8") as f:
        for doc_id, text in zip(ids, anonymized, strict=True):
            f.write(json.dumps({"id": doc_id, "text": text}) + "\n")
    return len(ids)


def presidio_pii(in_dir: Path, out: Path, workers: int, entities: list[str] | None) -> None:
    from multiprocessing import get_context

    out.mkdir(parents=True, exist_ok=True)
    jobs = [(str(p), str(out / p.name), entities) for p in _files(in_dir)]
    with get_context("forkserver").Pool(workers) as pool:
        pool.map(_presidio_file, jobs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", choices=["datatrove-minhash", "datasketch-minhash", "datatrove-heuristics",
                                      "presidio-pii"])
    ap.add_argument("in_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--entities", default=None, help="presidio-pii: comma-separated entity types (default all)")
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if a.which == "datatrove-minhash":
        datatrove_minhash(a.in_dir, a.out, a.workers)
    elif a.which == "datasketch-minhash":
        datasketch_minhash(a.in_dir, a.out, a.workers)
    elif a.which == "datatrove-heuristics":
        datatrove_heuristics(a.in_dir, a.out, a.workers)
    else:
        presidio_pii(a.in_dir, a.out, a.workers, a.entities.split(",") if a.entities else None)


if __name__ == "__main__":
    main()
