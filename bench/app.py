"""How responsive is the app on a curated run of 1,000,000 documents? Server-side timings.

    python bench/app.py build --out /tmp/winnow-app-1m [--docs 1000000]   # once: synthesize the run folder
    python bench/app.py index --run /tmp/winnow-app-1m    # its search index, as mix builds it (build does it too)
    python bench/app.py time --run /tmp/winnow-app-1m [--out docs/benchmarks/app.json]

`build` writes a run folder the way `curate` + `mix` lay it out (docs/, signals/<step>/ keyed by id and
order, recipe.yaml, removed.parquet, manifest.json, run.json, search/): ~2.2 KB of text per document from a
5,000-word vocabulary, with signals for five steps and 30+ rules. It is synthesized directly (scoring a
million documents takes hours on two cores) and kept off the test suite. Its search index is built by the
code mix runs (curation/text_index.py), in a process of its own, and the cost is recorded in search/index.json.

`time` measures, each in the state a user meets it:
- first table render: a new session's first run of the Corpus page on the run (AppTest; the server
  already started, every data cache empty), as the page's own script time; AppTest's wall time, which
  adds its harness's ~2 s for a new session (measured on the Runs page), is reported beside it;
- threshold change + recount: moving one rule's slider, the whole script rerun (the rule columns are
  loaded once when the Re-threshold view first opens: that load is reported apart);
- new full-text search to the first page of hits (wall and CPU): the queries in SEARCHES, from a word in 10
  documents to a phrase of five of the commonest words (no block can be skipped: a full scan of the text),
  with the index mix wrote, and the first two again without it;
- opening a document: text, every signal, removal reason, kept copy;
- peak memory of the process (ru_maxrss) after all of the above.

The page cache: with `--cache cold` (the default) the run folder's files are dropped from the OS page cache
(posix_fadvise DONTNEED, which needs no privileges) before the first table render and before each search,
so each is measured as on a server whose run files were not read lately (the disk, not memory, is then the
limit: ~0.3-0.45 GB/s here); `--cache warm` leaves the cache as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PER_FILE = 2_000  # documents per docs file: what curate writes (its batch size)
RARE = "zephyrine"  # planted in one document of every 100,000
RULES = [
    {"name": "length.min_words", "signal": "length", "column": "n_words", "min": 50},
    {"name": "gopher_quality.min_avg_word_length", "signal": "gopher_quality", "column": "avg_word_length",
     "min": 3},
    {"name": "gopher_quality.max_avg_word_length", "signal": "gopher_quality", "column": "avg_word_length",
     "max": 10},
    {"name": "gopher_quality.alpha_words", "signal": "gopher_quality", "column": "alpha_words_ratio", "min": 0.8},
    {"name": "gopher_quality.stop_words", "signal": "gopher_quality", "column": "stop_words", "min": 2},
    *[{"name": f"gopher_repetition.dup_{n}_grams", "signal": "gopher_repetition",
       "column": f"dup_{n}_gram_char_frac", "max": round(0.2 - 0.01 * n, 2)} for n in range(5, 11)],
    {"name": "gopher_repetition.dup_line_frac", "signal": "gopher_repetition", "column": "dup_line_frac",
     "max": 0.3},
    {"name": "fineweb_quality.line_punct_ratio", "signal": "fineweb_quality", "column": "line_punct_ratio",
     "min": 0.12},
    {"name": "fineweb_quality.short_line_ratio", "signal": "fineweb_quality", "column": "short_line_ratio",
     "max": 0.67},
    {"name": "fineweb_quality.char_dup_ratio", "signal": "fineweb_quality", "column": "char_dup_ratio",
     "max": 0.01},
    {"name": "exact_duplicate", "signal": "exact_dedup", "column": "duplicate", "drop_if": True,
     "kept_id_column": "kept_id"},
    {"name": "near_duplicate", "signal": "minhash", "column": "duplicate", "drop_if": True,
     "value_column": "similarity", "kept_id_column": "kept_id"},
    {"name": "pii.too_many", "signal": "pii", "column": "pii_count", "max": 20},
]
# (name, query, whole words): what a user types, from rarest to most common; each is a new search
SEARCHES = [
    ("rare_word", RARE, True),  # in 10 documents
    ("rare_phrase_mid_words", "item 13. the", True),  # ~110 documents; "13" is in 1 of 8 blocks
    ("rare_phrase_top_words", "the of and to in", True),  # five of the most common words: in every block
    ("common_phrase", "of the", True),  # fills the page from the first block
    ("substring_rare", "ephyrin", False),  # part of a word: no whole word to narrow with, every block is read
    ("substring_phrase", "out item 13. th", False),  # inner word "item" (in every block), then "13"
]
RECIPE = {"name": "bench", "signals": {"length": {}, "gopher_quality": {}, "gopher_repetition": {},
                                       "fineweb_quality": {}, "exact_dedup": {}, "minhash": {}, "pii": {}},
          "rules": RULES}


def _paragraphs(rng: np.random.Generator, n: int, words: int) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(rng.choice(letters, size=int(k))) for k in rng.integers(2, 11, size=5000)]
    vocab[:20] = ["the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "with", "was", "on",
                  "be", "by", "this", "are", "from", "at"]
    probs = 1.0 / np.arange(1, len(vocab) + 1)
    probs /= probs.sum()
    out = []
    for _ in range(n):
        idx = rng.choice(len(vocab), size=words, p=probs)
        sent = [" ".join(vocab[j] for j in idx[k:k + 15]) + "." for k in range(0, words, 15)]
        out.append("\n".join(" ".join(sent[k:k + 4]) for k in range(0, len(sent), 4)))
    return out


def build(out: Path, n_docs: int, seed: int = 0) -> None:
    """Synthesize a curated run folder of `n_docs` documents under `out`."""
    from curation.recipe import parse_recipe
    from curation.run_reader import RunReader

    t0 = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    (out / "docs").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    paras = pl.Series(_paragraphs(rng, 4000, 330))
    n_files = (n_docs + PER_FILE - 1) // PER_FILE
    for f in range(n_files):
        lo, hi = f * PER_FILE, min(n_docs, (f + 1) * PER_FILE)
        n = hi - lo
        order = np.arange(lo, hi, dtype=np.int64)
        pick = rng.integers(0, len(paras), size=n)
        dup_of = np.where(rng.random(n) < 0.03, rng.integers(0, max(1, lo + 1), size=n), -1)  # 3% copies
        ids = pl.Series([f"{i:016x}" for i in order])
        text = paras.gather(pick)
        prefix = pl.Series([f"Document {i} about item {int(k) % 977}. " for i, k in zip(order, pick, strict=True)])
        rare = pl.Series(np.where(order % 100_000 == 7, f" {RARE} ", " "))
        full = (prefix + text + rare).alias("text")
        name = f"{0:05d}_{f:06d}"
        docs = pl.DataFrame({"id": ids, "text": full, "order": order, "source": pl.Series(["bench.jsonl"] * n),
                             "metadata": pl.Series(["{}"] * n)}).with_columns(
            n_chars=pl.col("text").str.len_chars(), n_words=pl.col("text").str.count_matches(r"\S+"))
        docs.write_parquet(out / "docs" / f"{name}.parquet", compression="zstd", compression_level=1)
        u = lambda lo_, hi_, n=n: rng.uniform(lo_, hi_, size=n)  # noqa: E731
        batch = {
            "length": {"n_chars": docs["n_chars"], "n_words": docs["n_words"]},
            "gopher_quality": {"non_symbol_words": docs["n_words"], "avg_word_length": u(2.9, 8.0),
                               "alpha_words_ratio": u(0.77, 1.0), "stop_words": rng.integers(0, 40, size=n)},
            "gopher_repetition": {"dup_line_frac": rng.beta(1, 20, size=n),
                                  **{f"dup_{k}_gram_char_frac": rng.beta(1, 60, size=n) for k in range(5, 11)}},
            "fineweb_quality": {"line_punct_ratio": u(0.1, 1.0), "short_line_ratio": u(0, 0.7),
                                "char_dup_ratio": rng.beta(1, 900, size=n)},
            "pii": {"pii_count": rng.poisson(1.5, size=n).astype(np.int32)},
        }
        for step, cols in batch.items():
            (out / "signals" / step).mkdir(parents=True, exist_ok=True)
            pl.DataFrame({"id": ids, "order": order, **cols}).write_parquet(
                out / "signals" / step / f"{name}.parquet")
        dup = dup_of >= 0
        kept = pl.Series([f"{int(j):016x}" if d else None for j, d in zip(dup_of, dup, strict=True)], dtype=pl.String)
        for step in ("exact_dedup", "minhash"):
            frac = dup & (rng.random(n) < 0.5) if step == "exact_dedup" else dup
            (out / "signals" / step).mkdir(parents=True, exist_ok=True)
            none = pl.Series([None] * n, dtype=pl.String)
            cols = {"duplicate": frac, "kept_id": kept.zip_with(pl.Series(frac), none)}
            if step == "minhash":
                cols |= {"cluster_id": kept.fill_null(ids), "similarity": np.where(frac, u(0.75, 1.0), 1.0)}
            pl.DataFrame({"id": ids, "order": order, **cols}).write_parquet(
                out / "signals" / step / f"{name}.parquet")
        print(f"\rfile {f + 1}/{n_files}", end="", flush=True)
    recipe = parse_recipe(RECIPE)
    (out / "recipe.yaml").write_text(recipe.to_yaml(), encoding="utf-8")
    (out / "run.json").write_text(json.dumps({"steps": list(RECIPE["signals"]), "skipped": {}}), encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps({"input": n_docs, "kept": 0, "removed": 0, "quarantined": 0,
                                                   "by_rule": {}, "recipe": RECIPE}), encoding="utf-8")
    # removal log and counts: the rules applied with the reader's recounter (mix's semantics)
    reader = RunReader(out)
    rc = reader.recounter()
    counts = rc.count()
    undecided = ~rc.dup
    first_rule = np.full(rc.n, -1, dtype=np.int32)
    for i, r in enumerate(rc.rules):
        first = rc.fails(r) & undecided
        first_rule[first] = i
        undecided &= ~first
    names = pl.Series([r.name for r in rc.rules], dtype=pl.String)
    kept_ids = pl.scan_parquet(sorted((out / "signals" / "minhash").glob("*.parquet"))).select("order", "kept_id")
    removed = (reader.docs().select("id", "order").collect()
               .with_columns(_r=pl.Series(first_rule)).filter(pl.col("_r") >= 0)
               .with_columns(rule=pl.col("_r").replace_strict(
                   list(range(len(names))), names.to_list(), return_dtype=pl.String))
               .join(kept_ids.collect(), on="order", how="left")
               .select("id", "rule", pl.concat_list(pl.col("rule")).alias("rules"),
                       pl.lit(None, pl.Float64).alias("value"), pl.lit(None, pl.String).alias("detail"),
                       pl.when(pl.col("rule").str.ends_with("duplicate")).then(pl.col("kept_id")).alias("kept_id")))
    removed.write_parquet(out / "removed.parquet")
    (out / "manifest.json").write_text(json.dumps({
        "input": n_docs, "kept": counts.kept, "removed": counts.removed, "quarantined": 0,
        "by_rule": counts.by_rule, "by_rule_any": counts.by_rule_any, "recipe": RECIPE}), encoding="utf-8")
    print()
    index(out)  # what mix writes with the kept documents: the search index
    size = sum(p.stat().st_size for p in (out / "docs").glob("*.parquet"))
    text_bytes = sum(pl.scan_parquet(p).select(pl.col("n_chars").sum()).collect().item()
                     for p in (out / "docs").glob("*.parquet"))
    print(f"\nbuilt {n_docs:,} documents ({text_bytes / 1e9:.2f} G chars of text, docs/ {size / 1e9:.2f} GB on disk) "
          f"in {time.perf_counter() - t0:.0f} s: kept {counts.kept:,}, removed {counts.removed:,}")


def index(run: Path) -> dict:
    """Build the run's search index the way mix does (curation/text_index.py), recording its cost."""
    from curation.text_index import build_index

    c0 = time.process_time()
    meta = build_index(run)
    meta["cpu_s_process"] = round(time.process_time() - c0, 1)
    meta["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    meta["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (run / "search" / "index.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    print(f"search index of {run}: {meta['wall_s']:.0f} s, {meta['cpu_s_process']:.0f} s CPU, "
          f"{meta['bytes'] / 1e9:.2f} GB")
    return meta


def evict(folder: Path) -> int:
    """Drop every file under `folder` from the OS page cache (clean pages only); returns the bytes."""
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            p = os.path.join(dirpath, name)
            try:
                fd = os.open(p, os.O_RDONLY)
            except OSError:
                continue
            try:
                total += os.fstat(fd).st_size
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return total


def _timed(fn, repeat: int = 1) -> tuple[float, object]:  # noqa: ANN001
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def time_app(run: Path, cold: bool = True) -> dict:
    from streamlit.testing.v1 import AppTest

    from curation.run_reader import RunReader

    ws = run.parent / (run.name + "-ws")
    ws.mkdir(exist_ok=True)
    os.environ["WINNOW_WORKSPACE"] = str(ws)
    os.environ["WINNOW_ALLOW"] = str(run.parent)
    res: dict = {"run": str(run), "docs": RunReader(run).manifest["input"], "cache": "cold" if cold else "warm"}
    drop = (lambda: evict(run)) if cold else (lambda: 0)  # noqa: E731
    peaks: dict[str, float] = {}  # peak RSS (MB) of the process after each step: what holds the memory
    res["peak_rss_after_mb"] = peaks

    def peak(step: str) -> None:
        peaks[step] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    # the server's own start (Streamlit scans installed packages for components, the app imports its pages and
    # their chart code) happens once per `winnow app`, not per page: measured on a first session on a small run
    small = run.parent / (run.name + "-warmup")
    if not (small / "manifest.json").is_file():
        build(small, 2_000)
    warm = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=300)
    warm.session_state["page"] = "Corpus"  # another, small run: what a server that is already up has loaded
    warm.query_params["run"] = str(small)
    t, _ = _timed(warm.run)
    res["server_start_first_session_s"] = round(t, 3)
    peak("server_start")
    import streamlit as st

    import app.ui.corpus_page as corpus_page

    page_s: list[float] = []
    render = corpus_page.render

    def timed_render(ws_: Path) -> None:  # the page's own script time, without AppTest's harness
        t0 = time.perf_counter()
        try:
            render(ws_)
        finally:
            page_s.append(time.perf_counter() - t0)

    corpus_page.render = timed_render
    baseline = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=300)
    baseline.session_state["page"] = "Runs"
    t, _ = _timed(baseline.run)
    res["apptest_new_session_on_runs_page_s"] = round(t, 3)  # AppTest's own cost of a new session
    st.cache_data.clear()
    st.cache_resource.clear()
    shutil.rmtree(ws / "cache" / "corpus", ignore_errors=True)  # no document table kept from an earlier start
    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=300)
    at.session_state["page"] = "Corpus"
    at.query_params["run"] = str(run)
    drop()
    t, _ = _timed(at.run)
    assert not at.exception, [e.value for e in at.exception]
    res["first_table_render_apptest_s"] = round(t, 3)
    res["first_table_render_s"] = round(page_s[-1], 3)
    # the same, after a server restart: the document table comes from the workspace cache
    st.cache_data.clear()
    st.cache_resource.clear()
    again = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=300)
    again.session_state["page"] = "Corpus"
    again.query_params["run"] = str(run)
    drop()
    t, _ = _timed(again.run)
    res["first_table_render_cached_table_apptest_s"] = round(t, 3)
    res["first_table_render_cached_table_s"] = round(page_s[-1], 3)
    res["first_page_rows"] = int(at.dataframe[0].value.shape[0])
    peak("first_table")
    # re-threshold: first open (loads every rule's column), then a slider move with recount
    t, _ = _timed(lambda: at.radio(key="corpus_view").set_value("Re-threshold").run())
    assert not at.exception, [e.value for e in at.exception]
    res["rethreshold_open_s"] = round(page_s[-1], 3)
    peak("rethreshold_open")
    at.selectbox(key="rethr_step").set_value("gopher_quality").run()
    key = "thr|gopher_quality.alpha_words|min"
    times, walls = [], []
    for v in (0.85, 0.9, 0.82):
        t, _ = _timed(lambda v=v: at.slider(key=key).set_value(v).run())
        assert not at.exception, [e.value for e in at.exception]
        times.append(page_s[-1])
        walls.append(t)
    live = {m.label: m.value for m in at.metric}
    res["threshold_change_rerun_s"] = round(float(np.median(times)), 3)
    res["threshold_change_rerun_apptest_s"] = round(float(np.median(walls)), 3)
    res["recount_only_ms"] = live.get("recount")
    res["kept_after_change"] = live.get("kept (live)")
    # the recount alone, on the reader
    reader = RunReader(run)  # no cache folder: the table is read from the docs files
    t, _ = _timed(lambda: reader.table)
    res["document_table_load_s"] = round(t, 3)
    peak("document_table")
    rc = reader.recounter()
    rule = next(r for r in rc.rules if r.name == "fineweb_quality.line_punct_ratio")
    t, _ = _timed(lambda: rc.count([r if r.name != rule.name else r.model_copy(update={"min": 0.3})
                                    for r in rc.rules]), repeat=3)
    res["recount_call_s"] = round(t, 4)
    # search, to the first page of hits: the reader the app holds (its document table is in memory), each query
    # never searched before. The run's search index is what `mix` writes (curation/text_index.py); a run
    # synthesized before the index existed gets it here, built the way mix builds it, and its cost is recorded.
    index_meta = run / "search" / "index.json"
    if reader.text_index is None:  # built in its own process, as mix builds it (not in the app's memory)
        import subprocess

        subprocess.run([sys.executable, __file__, "index", "--run", str(run)], check=True)
        table = reader.table
        reader = RunReader(run)
        reader.__dict__["table"] = table  # the document table in memory, as the app holds it
    meta = json.loads(index_meta.read_text(encoding="utf-8"))
    res["search_index"] = {k: meta.get(k) for k in ("wall_s", "cpu_s", "cpu_s_process", "peak_rss_mb", "bytes",
                                                    "n_blocks", "n_words", "n_postings", "date")}
    res["search_index"]["text_copy_bytes"] = sum(p.stat().st_size for p in (run / "search" / "text").glob("*"))
    from curation.text_index import phrase_words

    for name, query, whole in SEARCHES:
        drop()
        c0 = time.process_time()
        t, (page, total) = _timed(lambda q=query, w=whole: reader.page(search=q, limit=100, whole_words=w))
        res[f"search_{name}_cpu_s"] = round(time.process_time() - c0, 3)
        idx = reader.text_index
        q = query.lower().strip() if whole else query.lower()
        cands = idx.candidates(q, whole)
        words = phrase_words(q, whole)
        phrase = len(idx.phrase_blocks(cands, idx.query_codes(words))) if len(words) >= 2 and idx.codes is not None \
            else None
        res[f"search_{name}_s"] = round(t, 3)
        res[f"search_{name}"] = {"query": query, "whole_words": whole, "rows": page.height, "total": total,
                                 "candidate_blocks": len(cands), "phrase_blocks": phrase, "blocks": idx.n_blocks}
    # the same searches on a reader that has not loaded the document table (a run just opened): the app
    # answers them from the index alone (RunReader._index_hits), a path the loop above does not take
    for name, query, whole in SEARCHES:
        drop()
        fresh = RunReader(run)
        t, _ = _timed(lambda q=query, w=whole, r=fresh: r.page(search=q, limit=100, whole_words=w))
        res[f"search_{name}_fresh_reader_s"] = round(t, 3)
    peak("searches")
    # the same searches without the index: every docs file is read until the page fills (one difference left:
    # previews come from the docs files here, from the index's copy above)
    bare = RunReader(run)
    bare.__dict__["text_index"] = None
    bare.__dict__["table"] = reader.table
    for name, query, whole in SEARCHES[:2]:
        drop()
        t, (page, total) = _timed(lambda q=query, w=whole: bare.page(search=q, limit=100, whole_words=w))
        res[f"search_{name}_no_index_s"] = round(t, 3)
    at.radio(key="corpus_view").set_value("Documents").run()
    drop()
    t, _ = _timed(lambda: at.text_input(key="corpus_search").set_value(SEARCHES[2][1]).run())
    assert not at.exception, [e.value for e in at.exception]
    res["search_page_rerun_s"] = {"query": SEARCHES[2][1], "s": round(page_s[-1], 3)}
    peak("searches_without_index_and_page_rerun")
    # opening a document: a removed near-duplicate (reads its kept copy too)
    rem = reader.removed().filter(pl.col("rule") == "near_duplicate").select("id").head(1).collect()["id"][0]
    drop()  # as a user opens it: a row of the page listing removed near-duplicates, on the reader the app holds
    t, doc = _timed(lambda: reader.document(rem))
    res["open_doc_s"] = round(t, 3)
    drop()  # a document not on any page shown, by a reader without the document table: every id column is read
    t, doc = _timed(lambda: RunReader(run).document(rem))
    res["open_doc_fresh_reader_s"] = round(t, 3)
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    res["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--docs", type=int, default=1_000_000)
    i = sub.add_parser("index")
    i.add_argument("--run", type=Path, required=True)
    t = sub.add_parser("time")
    t.add_argument("--run", type=Path, required=True)
    t.add_argument("--out", type=Path)
    t.add_argument("--cache", choices=["cold", "warm"], default="cold",
                   help="drop the run's files from the page cache before each timed step (default), or not")
    args = ap.parse_args()
    if args.cmd == "build":
        build(args.out.absolute(), args.docs)
        return
    if args.cmd == "index":
        index(args.run.absolute())
        return
    res = time_app(args.run.absolute(), cold=args.cache == "cold")
    print(json.dumps(res, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
