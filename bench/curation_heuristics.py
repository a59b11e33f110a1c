"""Benchmark: our four heuristic steps vs datatrove's four filters chained, on the same documents.

    python bench/curation_heuristics.py --sample --docs 20000          # the built-in sample corpus
    python bench/curation_heuristics.py --data-dir ../shared/data/webtext --docs 20000
    python bench/curation_heuristics.py --input corpus.jsonl --docs 5000

`--data-dir` takes every *.jsonl, *.jsonl.gz, *.json.gz and *.parquet file with a `text` field in that
folder (the offline web text lies in `../shared/data/webtext`; without it, use `--sample`).

Baseline: datatrove 0.10.1 GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter ->
FineWebQualityFilter, default parameters, one process, one document at a time, stopping at the first
filter that drops (C4 passes its cleaned text on to FineWeb, as in a datatrove pipeline).
Ours: the `gopher_repetition`, `gopher_quality`, `c4_quality` and `fineweb_quality` steps scoring
batches of `--batch-size` documents, then the rules of `curation/recipes/heuristics.yaml`. Both timings
start cold in this process (spaCy loads, our word cache starts empty; unrelated imports that loading
a recipe triggers happen before either timing). Prints throughput of both, the
ratio, keep/drop agreement and the first `--show` disagreements with the rule and values on each side.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# bench/curation.py would shadow the `curation` package: import from the repository root
sys.path[:] = [str(Path(__file__).resolve().parents[1])] + [p for p in sys.path
                                                             if Path(p or ".").resolve() != Path(__file__).parent]

import polars as pl  # noqa: E402


def read_texts(paths: list[Path], limit: int) -> list[str]:
    """Texts from JSONL / JSONL.gz / JSON.gz / Parquet files (records with a string `text`)."""
    out: list[str] = []
    for p in paths:
        if len(out) >= limit:
            break
        name = p.name
        if name.endswith(".parquet"):
            df = pl.read_parquet(p)
            if "text" not in df.columns:
                continue
            out.extend(t for t in df["text"].to_list() if isinstance(t, str))
            continue
        if not (name.endswith(".jsonl") or name.endswith(".jsonl.gz") or name.endswith(".json.gz")):
            continue
        opener = gzip.open if name.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8") as f:
            for line in f:
                if len(out) >= limit:
                    break
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("text"), str):
                    out.append(rec["text"])
    return out[:limit]


def datatrove_chain(texts: list[str]) -> tuple[list[tuple[bool, str | None]], float]:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    t0 = time.perf_counter()
    chain = [("gopher_repetition", GopherRepetitionFilter()), ("gopher_quality", GopherQualityFilter()),
             ("c4_quality", C4QualityFilter()), ("fineweb_quality", FineWebQualityFilter())]
    out = []
    for i, t in enumerate(texts):
        doc = Document(text=t, id=str(i))
        verdict: tuple[bool, str | None] = (True, None)
        for name, f in chain:
            r = f.filter(doc)
            if r is not True:
                reason = r[1] if isinstance(r, tuple) else ""
                verdict = (False, f"{name}:{reason}")
                break
        out.append(verdict)
    return out, time.perf_counter() - t0


def ours(texts: list[str], batch_size: int, recipe) -> tuple[dict[str, pl.DataFrame], float]:
    """Score all texts with the four steps; timed from step construction (word cache and spaCy load)."""
    from curation.steps.c4_quality import C4QualityStep
    from curation.steps.fineweb_quality import FineWebQualityStep
    from curation.steps.gopher_quality import GopherQualityStep
    from curation.steps.gopher_repetition import GopherRepetitionStep

    t0 = time.perf_counter()
    steps = [cls(cls.Config(**(recipe.signals.get(cls.name) or {}))) for cls in
             (GopherRepetitionStep, GopherQualityStep, C4QualityStep, FineWebQualityStep)]
    for s in steps:
        s.setup()
    parts: dict[str, list[pl.DataFrame]] = {s.name: [] for s in steps}
    for b in range(0, len(texts), batch_size):
        chunk = texts[b:b + batch_size]
        batch = pl.DataFrame({"id": [str(i) for i in range(b, b + len(chunk))], "text": chunk,
                              "order": list(range(b, b + len(chunk)))})
        for s in steps:  # as curation/scoring.py does: every step on the same batch frame
            parts[s.name].append(s.score(batch))
    signals = {k: pl.concat(v) for k, v in parts.items()}
    return signals, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=20000, help="number of documents (at most)")
    ap.add_argument("--input", type=Path, action="append", default=[], help="a JSONL/JSONL.gz/Parquet file")
    ap.add_argument("--data-dir", type=Path, help="a folder of such files (e.g. ../shared/data/webtext)")
    ap.add_argument("--sample", action="store_true", help="generate the built-in sample corpus instead")
    ap.add_argument("--seed", type=int, default=0, help="sample corpus seed")
    ap.add_argument("--batch-size", type=int, default=2000, help="documents per scored batch")
    ap.add_argument("--show", type=int, default=10, help="disagreements to print")
    ap.add_argument("--json", type=Path, help="also write the summary here")
    a = ap.parse_args(argv)

    paths = list(a.input)
    if a.data_dir:
        if not a.data_dir.is_dir():
            print(f"--data-dir {a.data_dir} is not a folder (the offline web text is ../shared/data/webtext; "
                  "or use --sample)", file=sys.stderr)
            return 2
        paths += sorted(p for p in a.data_dir.iterdir() if p.is_file())
    tmp = None
    if a.sample:
        from curation.samples.corpus import write_sample_corpus

        tmp = tempfile.TemporaryDirectory()
        out = Path(tmp.name) / "sample.jsonl"
        write_sample_corpus(out, a.docs, seed=a.seed)
        paths.append(out)
    if not paths:
        print("give --sample, --data-dir DIR or --input FILE", file=sys.stderr)
        return 2
    texts = read_texts(paths, a.docs)
    if not texts:
        print("no documents with a text field found", file=sys.stderr)
        return 2
    n = len(texts)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{n} documents, {mb:.1f} MB, from {', '.join(p.name for p in paths[:6])}"
          f"{' ...' if len(paths) > 6 else ''}")

    from curation.heuristics.decide import decisions, first_failing, heuristics_recipe

    recipe = heuristics_recipe()  # (validating it imports every registered step: not timed)
    # imports both sides need, outside both timings: spaCy, and the plugins spacy.blank() loads (on this
    # machine presidio's entry points pull in transformers: ~10-20 s that would land on whichever runs first)
    import spacy
    from datatrove.pipeline.filters import GopherQualityFilter  # noqa: F401

    spacy.blank("en")
    signals, t_ours = ours(texts, a.batch_size, recipe)
    # a second pass shows the steady state once the word cache is warm (a long corpus)
    _, t_warm = ours(texts, a.batch_size, recipe)
    ref, t_dt = datatrove_chain(texts)

    dec = decisions(signals, recipe)["all"]
    ref_keep = [k for k, _ in ref]
    agree = sum(int(x == y) for x, y in zip(dec.tolist(), ref_keep, strict=True))
    dt_rate, our_rate, warm_rate = n / t_dt, n / t_ours, n / t_warm
    print(f"datatrove chain : {t_dt:8.2f} s  {dt_rate:9.1f} docs/s  (kept {sum(ref_keep)})")
    print(f"ours (cold)     : {t_ours:8.2f} s  {our_rate:9.1f} docs/s  (kept {int(dec.sum())})  "
          f"ratio {our_rate / dt_rate:.1f}x")
    print(f"ours (warm)     : {t_warm:8.2f} s  {warm_rate:9.1f} docs/s  ratio {warm_rate / dt_rate:.1f}x")
    print(f"agreement       : {agree}/{n} = {agree / n:.4%}")
    shown = 0
    for i, (x, (y, why)) in enumerate(zip(dec.tolist(), ref, strict=True)):
        if x == y or shown >= a.show:
            continue
        shown += 1
        mine = first_failing(signals, recipe, i)
        print(f"  doc {i}: datatrove {'keeps' if y else 'drops (' + str(why) + ')'}; "
              f"ours {'keeps' if x else 'drops (' + str(mine) + ')'}")
        if why:
            step = why.split(":")[0]
            print(f"    our {step} row: {signals[step].row(i, named=True)}")
    summary = {"docs": n, "mb": round(mb, 2), "datatrove_docs_per_s": round(dt_rate, 1),
               "ours_docs_per_s": round(our_rate, 1), "ours_warm_docs_per_s": round(warm_rate, 1),
               "ratio": round(our_rate / dt_rate, 2), "ratio_warm": round(warm_rate / dt_rate, 2),
               "agreement": agree / n, "kept_datatrove": sum(ref_keep), "kept_ours": int(dec.sum())}
    print(json.dumps(summary))
    if a.json:
        a.json.write_text(json.dumps(summary, indent=2))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
