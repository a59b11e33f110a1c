"""PII benchmark: pattern detection + scrubbing as whole commands, `winnow curate` against Presidio's batch engines.

    python bench/pii.py --corpus sample --docs 20000 2000
    python bench/pii.py --corpus webtext --data-dir ../shared/data/webtext --docs 20000 2000
    python bench/pii.py --docs 2000 --data ../shared/data/pii/presidio_synth_dataset_v2.json   # + recall table

For each `--docs` size, both sides read the same folder of JSONL files (one per process), work in `--workers`
processes and write every document with its PII replaced; start-up inside the clock; wall time and CPU time
of the whole process tree; medians of `--rounds` alternating rounds.
  * ours: `winnow curate DIR --recipe curation/recipes/bench/pii_patterns.yaml --workers 2`: the `pii` step
    (Presidio's English pattern recognizers run in batch; the recipe's default entity types, NER off), then
    the `pii_scrub` transform writes `<ENTITY_TYPE>` placeholders into the kept documents (Parquet);
  * Presidio: `bench/baselines.py presidio-pii`: `BatchAnalyzerEngine` (no-op NLP engine, so its pattern
    recognizers only) + `BatchAnonymizerEngine`, one process per input file, the same entity types (those
    Presidio knows), JSONL out.
What still differs: to tell phone numbers from dates and URLs we also run the DATE_TIME and URL patterns
(found, not scrubbed), and drop phones inside IPs / URLs inside emails (`fix_overlaps`); we also store every
document and the spans as signals, and a manifest. `--data FILE` (presidio-research's synthetic set) adds a
per-entity precision/recall table of both engines, in-process.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpora import describe, sharded  # noqa: E402
from bench.proctime import ROOT, Side, alternate, bench_env, machine, report, run_timed, winnow_cmd  # noqa: E402

RECIPE = ROOT / "curation" / "recipes" / "bench" / "pii_patterns.yaml"


def recipe_entities() -> list[str]:
    """The entity types our bench recipe scrubs (the `pii` step's defaults with NER off)."""
    from curation.recipe import load_recipe

    return list(load_recipe(RECIPE).step_config("pii").entities)


def _offline_presidio_email() -> None:
    import presidio_analyzer.predefined_recognizers.generic.email_recognizer as em

    from curation.pii.recognizers import offline_tld_extractor

    class _T:
        extract = staticmethod(lambda s: offline_tld_extractor()(s))

    em.tldextract = _T


def recall_table(data: str, entities: list[str]) -> list[tuple[str, str]]:
    """Per-entity precision/recall of Presidio's pattern recognizers and ours on a presidio-research file."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    from curation.pii.engine import PiiEngine
    from curation.pii.evaluate import load_dataset, score_spans

    logging.disable(logging.WARNING)
    texts, golds = load_dataset(data)
    _offline_presidio_email()
    an = AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "noop"}]),
                        supported_languages=["en"])
    known = [e for e in entities if e in an.get_supported_entities("en")]
    runs = {"presidio patterns": score_spans(golds, [[(r.entity_type, r.start, r.end, r.score) for r in
                                                      an.analyze(t, language="en", entities=known)] for t in texts]),
            "ours patterns": score_spans(golds, PiiEngine(known).analyze_batch(texts))}
    ents = sorted({e for r in runs.values() for e, m in r.items() if m["support"]})
    print(f"\nper-entity precision/recall on {Path(data).name} ({len(texts)} texts; IoU>=0.5, same type)")
    print(f"{'entity':<18}" + "".join(f"{k:>22}" for k in runs))
    worse = []
    for e in ents:
        cells = [f"{r.get(e, {}).get('precision', 0.0):.3f}/{r.get(e, {}).get('recall', 0.0):.3f}"
                 for r in runs.values()]
        print(f"{e:<18}" + "".join(f"{c:>22}" for c in cells))
        if runs["ours patterns"].get(e, {}).get("recall", 0) < runs["presidio patterns"].get(e, {}).get("recall", 0):
            worse.append(("ours patterns", e))
    print("recall below Presidio's:", worse or "none")
    return worse


def compare_outputs(run: Path, presidio_out: Path) -> tuple[int, int]:
    """(documents whose scrubbed text is identical on both sides, documents)."""
    ours = pl.read_parquet(run / "kept" / "*.parquet", columns=["id", "text"])
    ref = pl.concat([pl.read_ndjson(p) for p in sorted(presidio_out.glob("*.jsonl"))]).select(
        pl.col("id").cast(pl.Utf8), "text")
    j = ours.join(ref, on="id", how="inner", suffix="_p")
    return int((j["text"] == j["text_p"]).sum()), ref.height


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=["sample", "webtext"], default="sample")
    ap.add_argument("--data-dir", type=Path, help="the shared web text folder (../shared/data/webtext) for webtext")
    ap.add_argument("--docs", type=int, nargs="+", default=[20000, 2000], help="corpus sizes to measure")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="processes on each side")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", default=None, help="presidio-research JSON for the recall comparison")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed at the end)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="winnow-pii-bench-"))
    entities = recipe_entities()
    env = bench_env()
    result: dict[str, object] = {"corpus": a.corpus, "workers": a.workers, "rounds": a.rounds, "machine": machine(),
                                 "entities": entities}
    for n in a.docs:
        folder = sharded(a.corpus, n, work, a.data_dir, a.seed, shards=a.workers)
        print(f"{describe(folder)}; {a.workers} processes per side; {machine()}", flush=True)
        run, p_out = work / f"out_winnow_{n}", work / f"out_presidio_{n}"

        def presidio(folder: Path = folder, p_out: Path = p_out):  # noqa: ANN202
            shutil.rmtree(p_out, ignore_errors=True)
            return run_timed([sys.executable, str(ROOT / "bench" / "baselines.py"), "presidio-pii", str(folder),
                              str(p_out), "--workers", str(a.workers), "--entities", ",".join(entities)],
                             env=env, cwd=ROOT)

        argv = [*winnow_cmd(), "curate", str(folder), "--out", str(run), "--recipe", str(RECIPE), "--workers",
                str(a.workers), "--overwrite", "--workspace", str(work / "ws")]
        sides = [Side("winnow", lambda argv=argv: run_timed(argv, env=env, cwd=ROOT)), Side("presidio", presidio)]
        alternate(sides, a.rounds)
        r = report(sides[0], sides[1], 10 if n >= 20000 else 3, f"PII patterns + scrubbing vs Presidio, {n} docs")
        same, total = compare_outputs(run, p_out)
        print(f"  scrubbed texts identical to Presidio's: {same}/{total}")
        result[str(n)] = {**r, "identical_texts": same, "docs": total}
    if a.data:
        result["recall_below_presidio"] = recall_table(a.data, entities)
    else:
        print("recall comparison skipped: pass --data presidio_synth_dataset_v2.json (presidio-research format)")
    if a.json:
        a.json.write_text(json.dumps(result, indent=2, default=str))
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
