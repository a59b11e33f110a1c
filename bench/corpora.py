"""The two corpora the curation benchmarks run on, written once as JSONL (id, text) into a work folder.

* `sample`: Winnow's own sample corpus (`winnow data sample`; labels beside it).
* `webtext`: N documents composed from the real web text in `../shared/data/webtext` (about 1,200
  documents, 24,000 lines). That folder is too small for 20,000 distinct documents, so each composed
  document is 2-4 contiguous runs of lines cut from different real documents (their own line breaks,
  words and punctuation), to a length drawn from the real documents' lengths. Then 4% of the documents
  are replaced by exact copies and 8% by near copies (one word in 25 replaced) of earlier composed
  documents, with their Jaccard (word 5-grams, `curation.text.ngram_jaccard`) in the labels file
  (`<stem>.labels.parquet`: id, kind, source_id, jaccard), the format `winnow data sample` writes. The
  vocabulary is that of the 1,200 real documents: a word cache warms up faster than on a truly new corpus.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import polars as pl

from bench.proctime import ROOT, bench_env, run_timed, winnow_cmd

EXACT_SHARE = 0.04
NEAR_SHARE = 0.08
NEAR_EDIT = 1 / 25


def read_webtext(data_dir: Path) -> list[str]:
    """Texts of every *.jsonl / *.json.gz record with a string `text` in `data_dir` (sorted by file name)."""
    texts: list[str] = []
    for p in sorted(data_dir.iterdir()):
        if not (p.name.endswith(".jsonl") or p.name.endswith(".jsonl.gz") or p.name.endswith(".json.gz")):
            continue
        opener = gzip.open if p.name.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("text"), str) and rec["text"].strip():
                    texts.append(rec["text"])
    return texts


def compose_webtext(data_dir: Path, out: Path, n: int, seed: int = 0) -> Path:
    """Write `n` composed documents to `out` (JSONL) and their duplicate labels beside it."""
    from curation.text import ngram_jaccard

    if not data_dir.is_dir():
        raise SystemExit(f"--data-dir {data_dir}: not a folder (pass the shared web text folder, "
                         "../shared/data/webtext, or use the sample corpus)")
    real = read_webtext(data_dir)
    if not real:
        raise SystemExit(f"--data-dir {data_dir}: no *.jsonl / *.json.gz records with a `text` field")
    rng = random.Random(seed)
    lines = [t.splitlines(keepends=True) for t in real]
    lengths = [len(t) for t in real]
    docs: list[str] = []
    kinds: list[str] = []
    sources: list[str | None] = []
    jacc: list[float | None] = []
    for i in range(n):
        r = rng.random()
        if i > 10 and r < EXACT_SHARE:
            j = rng.randrange(i)
            docs.append(docs[j])
            kinds.append("exact_dup")
            sources.append(f"w{j:07d}")
            jacc.append(1.0)
            continue
        if i > 10 and r < EXACT_SHARE + NEAR_SHARE:
            j = rng.randrange(i)
            words = docs[j].split(" ")
            vocab = rng.choice(lines)
            for k in range(len(words)):
                if rng.random() < NEAR_EDIT:
                    words[k] = rng.choice(rng.choice(vocab).split() or ["the"])
            text = " ".join(words)
            docs.append(text)
            kinds.append("near_dup")
            sources.append(f"w{j:07d}")
            jacc.append(ngram_jaccard(text, docs[j]))
            continue
        target = max(200, rng.choice(lengths))
        parts: list[str] = []
        size = 0
        for _ in range(rng.randint(2, 4)):
            src = rng.choice(lines)
            a = rng.randrange(len(src))
            b = min(len(src), a + rng.randint(1, max(1, len(src) // 2)))
            chunk = "".join(src[a:b])
            parts.append(chunk if chunk.endswith("\n") else chunk + "\n")
            size += len(chunk)
            if size >= target:
                break
        docs.append("".join(parts).strip("\n"))
        kinds.append("composed")
        sources.append(None)
        jacc.append(None)
    ids = [f"w{i:07d}" for i in range(n)]
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": ids, "text": docs}).write_ndjson(out)
    pl.DataFrame({"id": ids, "kind": kinds, "source_id": sources, "jaccard": jacc},
                 schema={"id": pl.Utf8, "kind": pl.Utf8, "source_id": pl.Utf8, "jaccard": pl.Float64}
                 ).write_parquet(out.with_name(out.name.split(".")[0] + ".labels.parquet"))
    return out


def corpus(kind: str, n: int, work: Path, data_dir: Path | None = None, seed: int = 0) -> Path:
    """Path of the `kind` corpus ("sample" or "webtext") of `n` documents in `work`, written when absent."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"{kind}_{n}_s{seed}.jsonl"
    if out.exists():
        return out
    if kind == "sample":
        ws = work / "ws"
        run_timed([*winnow_cmd(), "data", "sample", "--out", str(out), "--docs", str(n), "--seed", str(seed),
                   "--workspace", str(ws)], env=bench_env(), cwd=ROOT)
        return out
    if kind == "webtext":
        if data_dir is None:
            raise SystemExit("the webtext corpus needs --data-dir (the shared web text: ../shared/data/webtext)")
        return compose_webtext(data_dir, out, n, seed)
    raise SystemExit(f"unknown corpus {kind!r} (sample or webtext)")


def sharded(kind: str, n: int, work: Path, data_dir: Path | None = None, seed: int = 0, shards: int = 2) -> Path:
    """The corpus as a folder of `shards` JSONL files of consecutive documents (datatrove's readers give
    each task whole files, so both sides get one file per process); its labels file lies beside it."""
    src = corpus(kind, n, work, data_dir, seed)
    folder = work / f"{src.stem}_x{shards}"
    if folder.is_dir():
        return folder
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    per = -(-len(lines) // shards)
    for k in range(shards):
        (tmp / f"part-{k:05d}.jsonl").write_text("".join(lines[k * per:(k + 1) * per]), encoding="utf-8")
    tmp.rename(folder)
    return folder


def labels_of(folder: Path) -> pl.DataFrame | None:
    """The duplicate labels of a corpus made by `sharded` (id, kind, source_id, jaccard), when there are any."""
    stem = folder.name.rsplit("_x", 1)[0]
    p = folder.parent / f"{stem.split('.')[0]}.labels.parquet"
    return pl.read_parquet(p) if p.exists() else None


def describe(path: Path) -> str:
    df = pl.concat([pl.read_ndjson(p) for p in sorted(path.glob("*.jsonl"))]) if path.is_dir() else pl.read_ndjson(path)
    mb = df["text"].str.len_bytes().sum() / 1e6
    return f"{path.name}: {df.height} documents, {mb:.1f} MB, {mb * 1e6 / max(1, df.height):.0f} bytes on average"
