"""Decontamination: benchmark items found in documents, in the layouts quiz and answer pages use.

A `CorpusStep` because the per-benchmark report needs the whole corpus: `score` writes, per batch, each
document's best match plus every item it matched (`matched`); `finalize` writes the final signals and one
report per benchmark, `<run_dir>/contamination/<benchmark>.json` (items checked, items matched, documents
matched, matches per layout, examples).

Signal columns (one row per document):
* `contaminated`: some benchmark item is in the document, in one of three layouts (see
  `curation.decontam.ngrams`): its question alone (questions of `min_item_words` words or more; longer than
  `ngram` words: any shared n-gram, GPT-3's rule), its question followed by all its options (any order,
  any lettering), or its question followed by its correct answer.
* `overlap`: for the best-matching item, the fraction of its question's distinct n-grams found (1.0 = the
  whole question). A stricter cut is a recipe rule on `overlap`.
* `match`: `benchmark/split/item_id` of that item; `benchmark` its folder; `layout` the layout it was found in
  (`question`, `question+options`, `question+answer`); `shared_ngrams` the question n-grams found.
* `decontam_items`: EVERY item found, as `benchmark/split/item_id` (e.g. `mmlu/test/abstract_algebra-12`,
  `arc_challenge/test/Mercury_7175875`; before 2026-12-01 `benchmark:item_id`, without the split, which cannot
  tell MMLU's dev row 12 from its test row 12); `decontam_layouts`: the layout of each, in the same order. These
  are what a contamination split of evaluation scores joins on (`benchmark` = the benchmark folder name,
  `item_id` = the id `curation.decontam.benchmarks` gives that benchmark's items).
* `n_items`: how many items were found.

See `curation.decontam.ngrams` for hashing and the rule for items shorter than n words, and
`curation.decontam.benchmarks` for which fields make an item's text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import Field

from curation.errors import WinnowError
from curation.progress import Progress
from curation.recipe import Recipe, Rule
from curation.steps.base import CorpusStep, StepConfig, register_step

LAYOUTS = ("question+options", "question+answer", "question")  # most specific first (= ngrams.LAYOUTS)

EXAMPLES = 20


class DecontaminationConfig(StepConfig):
    benchmarks_dir: str | None = Field(None, description="<folder>/<split>.jsonl tree; default <workspace>/benchmarks")
    ngram: int = Field(13, ge=3, le=50, description="words per n-gram")
    benchmarks: list[str] | None = Field(None, description="benchmark folders to check (default: all found)")
    splits: list[str] | None = Field(None, description="splits to check (default: test, validation, dev)")
    min_item_words: int = Field(8, ge=1, description="a question with fewer words counts only together with its "
                                                     "options or its answer (alone it is too common)")


@register_step
class Decontamination(CorpusStep):
    """Flags documents that contain benchmark items (question alone, with its options, or with its answer)."""

    name = "decontamination"
    Config: ClassVar[type[StepConfig]] = DecontaminationConfig
    columns: ClassVar[tuple[str, ...]] = ("contaminated", "overlap", "match", "benchmark", "layout", "shared_ngrams",
                                          "n_items", "decontam_items", "decontam_layouts")

    @property
    def cfg(self) -> DecontaminationConfig:
        return self.config  # type: ignore[return-value]

    def bench_dir(self) -> Path:
        if self.cfg.benchmarks_dir:
            return Path(self.cfg.benchmarks_dir).expanduser()
        base = self.context.get("benchmarks_dir") or Path("winnow-workspace") / "benchmarks"
        return Path(base)

    def skip_reason(self) -> str | None:
        """None when there are benchmark items to check; a reason when there are no benchmark files, or only
        empty ones. The items are read here, in the command before any work, so a bad line (invalid JSON or
        UTF-8, a missing field) is one error naming its file and line (WinnowError) instead of a worker's
        traceback after the run folder was started; an empty split file among others is warned about."""
        from curation.decontam.benchmarks import benchmark_files, count_items

        try:
            files = benchmark_files(self.bench_dir(), self.cfg.benchmarks, self.cfg.splits)
        except WinnowError as e:
            return f"{e}: import benchmarks with `winnow data` or pass `--decontaminate BENCH_DIR`"
        empty = [p for b, s, p in files if count_items(b, s, p) == 0]
        if len(empty) == len(files):
            return f"no benchmark items in {', '.join(map(str, empty))} (empty): nothing to check documents against"
        for p in empty:
            print(f"warning: {p}: no benchmark items (the file is empty): that split is not checked")
        return None

    def setup(self) -> None:
        from curation.decontam.benchmarks import load_items
        from curation.decontam.ngrams import BenchmarkIndex

        items = load_items(self.bench_dir(), self.cfg.benchmarks, self.cfg.splits)
        self._index = BenchmarkIndex.build(items, self.cfg.ngram, self.cfg.min_item_words)
        self._keys = pl.Series("key", [it.key for it in items], dtype=pl.String)
        self._refs = pl.Series("ref", [it.ref for it in items], dtype=pl.String)
        self._benches = pl.Series("bench", [it.benchmark for it in items], dtype=pl.String)

    def _ensure(self) -> None:
        if getattr(self, "_index", None) is None:
            self.setup()

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        self._ensure()
        m = self._index.match(batch.get_column("text"))
        base = pl.DataFrame({"id": batch.get_column("id")}).with_row_index("doc").with_columns(
            pl.col("doc").cast(pl.Int64))
        if m.height == 0:
            return base.select(
                "id", pl.lit(False).alias("contaminated"), pl.lit(0.0, dtype=pl.Float32).alias("overlap"),
                pl.lit(None, dtype=pl.String).alias("match"), pl.lit(None, dtype=pl.String).alias("benchmark"),
                pl.lit(None, dtype=pl.String).alias("layout"),
                pl.lit(0, dtype=pl.Int32).alias("shared_ngrams"),
                pl.lit(None, dtype=pl.List(pl.String)).alias("matched"),
                pl.lit([], dtype=pl.List(pl.String)).alias("decontam_items"),
                pl.lit([], dtype=pl.List(pl.String)).alias("decontam_layouts"))
        m = m.with_columns(self._keys.gather(m.get_column("item")).alias("key"),
                           self._refs.gather(m.get_column("item")).alias("ref"),
                           self._benches.gather(m.get_column("item")).alias("bench"),
                           pl.col("layout").replace_strict(list(LAYOUTS), list(range(len(LAYOUTS))),
                                                           return_dtype=pl.Int8).alias("_rank"))
        # best match: the most specific layout, then the largest share of the question found
        per_doc = (m.sort(["doc", "_rank", "overlap", "shared", "item"], descending=[False, False, True, True, False])
                   .group_by("doc", maintain_order=True)
                   .agg(pl.col("overlap").first(), pl.col("key").first().alias("match"),
                        pl.col("bench").first().alias("benchmark"), pl.col("layout").first(),
                        pl.col("shared").first().alias("shared_ngrams"),
                        pl.col("key").alias("matched"), pl.col("ref").alias("decontam_items"),
                        pl.col("layout").alias("decontam_layouts")))
        return base.join(per_doc, on="doc", how="left").sort("doc").select(
            "id", pl.col("match").is_not_null().alias("contaminated"),
            pl.col("overlap").fill_null(0.0).cast(pl.Float32), "match", "benchmark", "layout",
            pl.col("shared_ngrams").fill_null(0).cast(pl.Int32), "matched",
            pl.col("decontam_items").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("decontam_layouts").fill_null(pl.lit([], dtype=pl.List(pl.String))))

    def finalize(self, parts: list[Path], out_dir: Path, progress: Progress | None = None) -> None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        cols = ["id", "contaminated", "overlap", "match", "benchmark", "layout", "shared_ngrams", "matched",
                "decontam_items", "decontam_layouts"]
        frames = [pl.read_parquet(p, columns=cols) for p in parts]
        df = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(
            schema={"id": pl.String, "contaminated": pl.Boolean, "overlap": pl.Float32, "match": pl.String,
                    "benchmark": pl.String, "layout": pl.String, "shared_ngrams": pl.Int32,
                    "matched": pl.List(pl.String), "decontam_items": pl.List(pl.String),
                    "decontam_layouts": pl.List(pl.String)})
        signals = df.select("id", "contaminated", "overlap", "match", "benchmark", "layout", "shared_ngrams",
                            pl.col("matched").list.len().fill_null(0).cast(pl.Int32).alias("n_items"),
                            "decontam_items", "decontam_layouts")
        tmp = out_dir / "part-00000.parquet.tmp"
        signals.write_parquet(tmp)
        tmp.replace(out_dir / "part-00000.parquet")
        if progress is not None:
            progress.update(df.height)
        run_dir = self.context.get("run_dir")
        report_dir = Path(run_dir) / "contamination" if run_dir else out_dir.parent.parent / "contamination"
        self.write_reports(df, report_dir)

    def write_reports(self, df: pl.DataFrame, report_dir: Path) -> dict[str, dict[str, Any]]:
        """One JSON per benchmark: items checked/matched, documents matched, examples; returns them."""
        self._ensure()
        report_dir.mkdir(parents=True, exist_ok=True)
        idx = self._index
        items_df = pl.DataFrame({"bench": self._benches, "key": self._keys,
                                 "ngrams": idx.item_ngrams}).with_columns(
            pl.col("key").str.split("/").list.get(1).alias("split"))
        hits = (df.filter(pl.col("contaminated")).select("id", "matched").explode("matched")
                .rename({"matched": "key"}).join(items_df, on="key"))
        best = df.filter(pl.col("contaminated"))
        reports = {}
        for bench in items_df.get_column("bench").unique().sort().to_list():
            its = items_df.filter(pl.col("bench") == bench)
            h = hits.filter(pl.col("bench") == bench)
            per_item = h.group_by("key").agg(pl.len().alias("docs"), pl.col("id").head(3).alias("doc_ids")).sort(
                ["docs", "key"], descending=[True, False])
            ex = best.filter(pl.col("benchmark") == bench).sort("overlap", descending=True).head(EXAMPLES)
            splits = {}
            for split in its.get_column("split").unique().sort().to_list():
                s_items = its.filter(pl.col("split") == split)
                s_hits = h.filter(pl.col("split") == split)
                splits[split] = {"items": s_items.height,
                                 "items_checked": int((s_items.get_column("ngrams") > 0).sum()),
                                 "items_matched": s_hits.get_column("key").n_unique(),
                                 "docs_matched": s_hits.get_column("id").n_unique()}
            reports[bench] = {
                "benchmark": bench, "ngram": idx.n, "min_item_words": self.cfg.min_item_words,
                "benchmarks_dir": str(self.bench_dir()), "docs_scanned": df.height,
                "items": its.height, "items_checked": int((its.get_column("ngrams") > 0).sum()),
                "items_matched": h.get_column("key").n_unique(), "docs_matched": h.get_column("id").n_unique(),
                "docs_best_match_here": int((best.get_column("benchmark") == bench).sum()),
                "docs_by_layout": {lay: int(((best.get_column("benchmark") == bench)
                                             & (best.get_column("layout") == lay)).sum()) for lay in LAYOUTS},
                "splits": splits,
                "top_items": per_item.head(50).to_dicts(),
                "examples": [{"id": r["id"], "match": r["match"], "layout": r["layout"],
                              "overlap": round(float(r["overlap"]), 4),
                              "shared_ngrams": int(r["shared_ngrams"])} for r in ex.iter_rows(named=True)],
            }
            tmp = report_dir / f"{bench}.json.tmp"
            tmp.write_text(json.dumps(reports[bench], indent=2), encoding="utf-8")
            tmp.replace(report_dir / f"{bench}.json")
        return reports

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["benchmarks_dir"] = str(self.bench_dir())
        try:
            from curation.classifiers.fasttext_model import file_sha256
            from curation.decontam.benchmarks import benchmark_files

            d["files"] = {f"{b}/{s}": file_sha256(p)
                          for b, s, p in benchmark_files(self.bench_dir(), self.cfg.benchmarks, self.cfg.splits)}
        except WinnowError:
            d["files"] = {}
        return d


def add_decontamination(recipe: Recipe, bench_dir: str | Path, ngram: int = 13) -> Recipe:
    """A copy of `recipe` that computes the decontamination signal against `bench_dir` and drops
    contaminated documents with a rule named `decontamination` (what `winnow curate --decontaminate` does)."""
    from curation.decontam.benchmarks import benchmark_files

    bench_dir = Path(bench_dir).expanduser().absolute()
    benchmark_files(bench_dir)  # a clear error now rather than a skipped signal later
    data = recipe.model_dump(mode="json", exclude_none=True)
    params = dict(data["signals"].get("decontamination") or {})
    params.update({"benchmarks_dir": str(bench_dir), "ngram": ngram})
    data["signals"]["decontamination"] = params
    data["optional"] = [o for o in data.get("optional", []) if o != "decontamination"]
    rule = Rule(name="decontamination", signal="decontamination", column="contaminated", drop_if=True,
                value_column="overlap", detail_column="match")
    data["rules"] = [r for r in data.get("rules", []) if r["name"] != "decontamination"]
    data["rules"].append(rule.model_dump(mode="json", exclude_none=True))
    return Recipe(**data)
