"""Benchmark: fastText classifier steps vs bare fastText `predict`, plus language ID, word-list and
decontamination throughput, on ~2 KB web documents.

    python bench/classifiers.py --data-dir /work/shared/data [--docs 10000] [--model quality.bin]

`--data-dir` is the shared public data folder (it needs `webtext/*.jsonl`; with `toxicity/ldnoobw_en.txt`
the word-list step runs, with `benchmarks/` decontamination runs). Without it there is nothing real to
measure: pass the folder (on this project's machines: ../shared/data).

The baseline is bare fastText: the same documents, already lowercased and on one line, given to
`model.predict(list_of_texts, k=1)` batch by batch. The step is `QualityClassifier.score(batch)` on the
raw documents (Polars normalisation + batched predict + building the output frame). Both run in the same
process, interleaved batch by batch, and each batch keeps the fastest of `--rounds` tries on each side (a
busy machine only ever slows a try down); the printed ratio is step docs/s divided by bare docs/s
(>= 0.9 is the bar).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import polars as pl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_docs(data_dir: Path, n: int, size: int = 2000) -> pl.DataFrame:
    """n documents of about `size` characters cut from the web text files (repeated to reach n)."""
    web = data_dir / "webtext"
    files = [p for p in sorted(web.glob("*.jsonl")) if "dedup" not in p.name]
    if not files:
        sys.exit(f"no webtext/*.jsonl under {data_dir}: pass --data-dir pointing at the shared data folder")
    texts: list[str] = []
    for p in files:
        for line in p.read_text(encoding="utf-8").splitlines():
            t = json.loads(line).get("text") or ""
            for i in range(0, max(len(t) - size // 2, 1), size):
                chunk = t[i:i + size]
                if len(chunk) >= size // 2:
                    texts.append(chunk)
    base = len(texts)
    texts = (texts * (n // base + 1))[:n]
    return pl.DataFrame({"id": [f"d{i}" for i in range(n)], "text": texts, "order": list(range(n))}), base


def train_model(data_dir: Path, out: Path) -> Path:
    from curation.classifiers.data import load_labelled
    from curation.classifiers.fasttext_model import TrainParams, train_binary

    df = load_labelled(data_dir / "webtext" / "dclm_quality_majority.jsonl")
    train_binary(df, out, TrainParams())
    return out


def timed(fn, *args):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    r = fn(*args)
    return time.perf_counter() - t0, r


def score_all(step, frame: pl.DataFrame, batch_size: int) -> list[pl.DataFrame]:  # noqa: ANN001
    return [step.score(frame.slice(i, batch_size)) for i in range(0, frame.height, batch_size)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="shared data folder (webtext/, toxicity/, ...)")
    ap.add_argument("--docs", type=int, default=10000, help="documents to score")
    ap.add_argument("--batch-size", type=int, default=2000, help="documents per batch (the recipe default)")
    ap.add_argument("--model", type=Path, help="fastText model (default: trained here on dclm_quality_majority)")
    ap.add_argument("--rounds", type=int, default=5, help="passes over the documents; per batch the best is kept")
    ap.add_argument("--skip-decontam", action="store_true", help="skip the decontamination measurement")
    args = ap.parse_args()

    from curation.classifiers.fasttext_model import normalise
    from curation.steps import get_step

    docs, distinct = make_docs(args.data_dir, args.docs)
    avg = docs.select(pl.col("text").str.len_chars().mean()).item()
    print(f"{docs.height} documents ({distinct} distinct chunks), {avg:.0f} characters on average; "
          f"batch {args.batch_size}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    tmp = Path(tempfile.mkdtemp(prefix="winnow-bench-"))
    model = args.model or train_model(args.data_dir, tmp / "quality.bin")
    step_cls = get_step("quality_classifier")
    step = step_cls(step_cls.Config(model=str(model)))
    step.setup()
    ft = step._clf.model
    batches = [docs.slice(i, args.batch_size) for i in range(0, docs.height, args.batch_size)]
    prepared = [normalise(b.get_column("text")).to_list() for b in batches]  # baseline's input, not timed

    # per batch, the fastest of `rounds` tries for each side (interleaved): noise on a shared box only slows
    bare_t = [float("inf")] * len(batches)
    step_t = [float("inf")] * len(batches)
    for _ in range(args.rounds):
        for j, (b, lines) in enumerate(zip(batches, prepared, strict=True)):
            dt, _ = timed(lambda x: ft.predict(x, k=1), lines)
            bare_t[j] = min(bare_t[j], dt)
            dt, _ = timed(step.score, b)
            step_t[j] = min(step_t[j], dt)
    bare_t, step_t = [sum(bare_t)], [sum(step_t)]
    bare, stepr = docs.height / min(bare_t), docs.height / min(step_t)
    results = {"docs": docs.height, "bare_predict_docs_s": round(bare), "step_docs_s": round(stepr),
               "ratio": round(stepr / bare, 3), "model": str(model)}
    print(f"fastText quality: bare predict {bare:,.0f} docs/s, step.score {stepr:,.0f} docs/s, "
          f"ratio {stepr / bare:.3f} (bar: >= 0.90)")

    lang_cls = get_step("language")
    for backend in ("cld2", "py3langid"):
        s = lang_cls(lang_cls.Config(backend=backend))
        if s.skip_reason():
            print(f"language {backend}: skipped ({s.skip_reason()})")
            continue
        s.setup()
        n = docs.height if backend == "cld2" else min(docs.height, 2000)
        sub = docs.head(n)
        dt = min(timed(score_all, s, sub, args.batch_size)[0] for _ in range(2))
        results[f"language_{backend}_docs_s"] = round(n / dt)
        print(f"language {backend}: {n / dt:,.0f} docs/s on {n} documents")

    wl = args.data_dir / "toxicity" / "ldnoobw_en.txt"
    if wl.is_file():
        tw = get_step("toxic_words")
        s = tw(tw.Config(wordlist=str(wl)))
        s.setup()
        dt = min(timed(lambda: [s.score(b) for b in batches])[0] for _ in range(2))
        results["toxic_words_docs_s"] = round(docs.height / dt)
        print(f"toxic_words (LDNOOBW, {len(s._terms)} terms): {docs.height / dt:,.0f} docs/s")

    bench_dir = args.data_dir / "benchmarks"
    if bench_dir.is_dir() and not args.skip_decontam:
        dc = get_step("decontamination")
        s = dc(dc.Config(benchmarks_dir=str(bench_dir)))
        t_build, _ = timed(s.setup)
        n_items = len(s._index.items)
        dt, outs = timed(lambda: [s.score(b) for b in batches])
        flagged = sum(int(o.get_column("contaminated").sum()) for o in outs)
        results.update({"decontam_index_s": round(t_build, 2), "decontam_items": n_items,
                        "decontam_docs_s": round(docs.height / dt), "decontam_flagged": flagged})
        print(f"decontamination (13-grams, {n_items} items, index built in {t_build:.1f} s): "
              f"{docs.height / dt:,.0f} docs/s, {flagged} documents flagged")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
