"""The typed reader of a curated run folder: the one place that parses what `curate` and `mix` write.

    RunReader(run).manifest / .recipe / .signal_steps() / .signals(step) / .docs() / .removed()
    RunReader(run).page(...)        one page of documents: status, rule, signal filters, sort, text search
    RunReader(run).document(id)     text, signals, PII spans, scrubbed kept text, why removed, kept copy
    RunReader(run).cluster(id)      every member of a document's near-duplicate cluster
    RunReader(run).recounter()      what a recipe would keep, from the stored signals (no mix)

Everything is lazy Polars over the Parquet files with only the needed columns, so a run of a million
documents stays responsive. A run made by `mix --out` may hold no documents or signals of its own: they
are read in place from the parent run its manifest names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.errors import WinnowError
from curation.recipe import Recipe, Rule, load_recipe
from curation.text_index import PREVIEW_CHARS, TextIndex, preview_of, whole_word_pattern  # noqa: F401 (PREVIEW_CHARS: as before)

REMOVED_SCHEMA = {"id": pl.String, "rule": pl.String, "rules": pl.List(pl.String), "value": pl.Float64,
                  "detail": pl.String, "kept_id": pl.String}
_OPS = {">=": "ge", "<=": "le", ">": "gt", "<": "lt", "==": "eq", "!=": "ne"}


def is_run_dir(path: str | Path) -> bool:
    return (Path(path) / "manifest.json").is_file()


def _glob(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


@dataclass
class SignalFilter:
    """Keep documents whose `step.column` compares true with `value` (op one of >=, <=, >, <, ==, !=)."""

    step: str
    column: str
    op: str
    value: float | str | bool

    def expr(self) -> pl.Expr:
        if self.op not in _OPS:
            raise WinnowError(f"unknown comparison {self.op!r} (use one of {', '.join(_OPS)})")
        col = pl.col(f"{self.step}.{self.column}")
        return getattr(col, _OPS[self.op])(self.value).fill_null(False)


@dataclass
class DocumentView:
    """One document and everything known about it."""

    id: str
    text: str
    source: str | None
    metadata: Any
    order: int | None
    removed: dict[str, Any] | None
    signals: dict[str, dict[str, Any]]
    pii_spans: list[dict[str, Any]] = field(default_factory=list)
    kept_text: str | None = None  # the text as written to kept/ (PII scrubbed), for kept documents
    kept_copy: dict[str, Any] | None = None  # the copy kept instead of this duplicate: {id, text}

    @property
    def status(self) -> str:
        return "removed" if self.removed else "kept"


@dataclass
class Counts:
    """What a recipe keeps: totals and, per rule, documents it removes first and documents failing it at all."""

    kept: int
    removed: int
    quarantined: int
    by_rule: dict[str, int]
    by_rule_any: dict[str, int]


class RunReader:
    """Read a curated run folder (`winnow curate --out RUN`, or `winnow mix PARENT --out RUN`)."""

    def __init__(self, run: str | Path, cache_dir: str | Path | None = None) -> None:
        self.path = Path(run).absolute()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None  # where the table is kept between uses
        self._file_hint: dict[str, str] = {}  # id -> docs file of the rows of pages shown: `document` reads only it
        if not (self.path / "manifest.json").is_file():
            raise WinnowError(f"{run}: not a finished curation run (no manifest.json)")

    # -- what the run is -----------------------------------------------------------------------------
    @cached_property
    def manifest(self) -> dict[str, Any]:
        path = self.path / "manifest.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise WinnowError(f"{path}: not valid JSON (line {e.lineno})") from None

    @property
    def mtime(self) -> float:
        """Changes when the run is re-mixed: a cache key."""
        return (self.path / "manifest.json").stat().st_mtime

    @cached_property
    def parent(self) -> Path | None:
        """The run whose documents and signals this one reads in place (`mix --out`), if any."""
        from curation.store import source_dir

        src = source_dir(self.path)
        return None if src == self.path else src

    @cached_property
    def data_root(self) -> Path:
        """The folder holding docs/ and signals/: this run, or the parent it was mixed from."""
        return self.parent or self.path

    def signal_key(self, step: str) -> str:
        """The row key a step's signals join on: `order` (the input position), or `id` in older runs."""
        return "order" if "order" in self.signals(step).collect_schema().names() else "id"

    def _signal_cols(self, step: str, cols: set[str] | list[str]) -> tuple[pl.LazyFrame, str]:
        """A step's columns renamed `step.col`, one row per key, and the key to join on."""
        key = self.signal_key(step)
        sig = self.signals(step).select(key, *sorted(cols)).unique(key, keep="first")
        return sig.rename({c: f"{step}.{c}" for c in cols}), key

    @cached_property
    def recipe(self) -> Recipe | None:
        """The recipe this run was mixed with (its recipe.yaml, else the copy in the manifest)."""
        path = self.path / "recipe.yaml"
        if path.is_file():
            return load_recipe(path)
        data = self.manifest.get("recipe")
        if isinstance(data, dict) and data.get("rules") is not None:
            from curation.recipe import parse_recipe

            return parse_recipe(data, f"{self.path}/manifest.json recipe")
        return None

    @cached_property
    def run_info(self) -> dict[str, Any]:
        for folder in (self.path, self.data_root):
            p = folder / "run.json"
            if p.is_file():
                return json.loads(p.read_text(encoding="utf-8"))
        return {}

    def removals_by_rule(self) -> pl.DataFrame:
        rows = [{"rule": k, "removed": int(v)} for k, v in (self.manifest.get("by_rule") or {}).items()]
        return pl.DataFrame(rows, schema={"rule": pl.String, "removed": pl.Int64})

    # -- files -----------------------------------------------------------------------------------------
    def doc_files(self) -> list[Path]:
        return _glob(self.data_root / "docs")

    def kept_files(self) -> list[Path]:
        return _glob(self.path / "kept")

    def docs(self) -> pl.LazyFrame:
        """Every document as read (falls back to the kept corpus for runs without docs/)."""
        files = self.doc_files() or self.kept_files()
        if not files:
            raise WinnowError(f"{self.path}: no documents (docs/*.parquet or kept/*.parquet)")
        return pl.scan_parquet(files)

    def removed(self) -> pl.LazyFrame:
        path = self.path / "removed.parquet"
        if not path.is_file():
            return pl.LazyFrame(schema=REMOVED_SCHEMA)
        return pl.scan_parquet(path)

    def rules_removed(self) -> list[str]:
        return sorted(self.removed().select(pl.col("rule").unique()).collect()["rule"].drop_nulls().to_list())

    def signal_steps(self) -> list[str]:
        """Steps with stored columns (signals/<step>/*.parquet; `.parts` folders are scratch)."""
        root = self.data_root / "signals"
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if p.is_dir() and "." not in p.name and _glob(p))

    def signals(self, step: str) -> pl.LazyFrame:
        files = _glob(self.data_root / "signals" / step)
        if not files:
            raise WinnowError(f"{self.path}: no signals stored for step {step!r}")
        return pl.scan_parquet(files)

    def signal_schema(self, step: str) -> dict[str, pl.DataType]:
        """Columns of a step's signals (every shard of a step has the same: the first one's footer is read)."""
        files = _glob(self.data_root / "signals" / step)
        if not files:
            raise WinnowError(f"{self.path}: no signals stored for step {step!r}")
        return {k: v for k, v in pl.read_parquet_schema(files[0]).items() if k not in ("id", "order")}

    def numeric_columns(self, step: str) -> list[str]:
        return [n for n, t in self.signal_schema(step).items() if t.is_numeric() or t == pl.Boolean]

    def filterable_columns(self) -> list[str]:
        """`step.column` of every numeric or boolean signal: what the document table can filter and sort on."""
        return [f"{s}.{c}" for s in self.signal_steps() for c in self.numeric_columns(s)]

    def quarantine(self, limit: int = 1000) -> pl.DataFrame:
        """Malformed input lines that were set aside: file, line, reason."""
        path = self.path / "quarantine.jsonl"
        rows: list[dict[str, Any]] = []
        if path.is_file():
            with open(path, encoding="utf-8") as fh:
                for raw in fh:
                    if len(rows) >= limit:
                        break
                    try:
                        rec = json.loads(raw)
                    except json.JSONDecodeError:
                        continue
                    rows.append({"file": str(rec.get("file")), "line": rec.get("line"),
                                 "reason": str(rec.get("reason"))})
        return pl.DataFrame(rows, schema={"file": pl.String, "line": pl.Int64, "reason": pl.String})

    # -- rules and histograms -----------------------------------------------------------------------------
    def thresholds(self, step: str, column: str) -> list[Rule]:
        """Min/max rules of the run's recipe on this column."""
        rec = self.recipe
        if rec is None:
            return []
        return [r for r in rec.rules if r.signal == step and r.column == column
                and (r.min is not None or r.max is not None)]

    def histogram(self, step: str, column: str, bins: int = 40) -> tuple[pl.DataFrame, int]:
        """Bin counts of one signal column (only that column is read) and the number of null values."""
        col = self.signals(step).select(pl.col(column).cast(pl.Float64)).collect().to_series()
        return histogram_of(col.to_numpy(), bins, col.null_count())

    # -- browsing ---------------------------------------------------------------------------------------
    @cached_property
    def table(self) -> pl.DataFrame:
        """One row per stored document: id, order, docs file (categorical), rule and value (null: kept).

        Read once (the id and order columns of every docs file, and the removal log) and kept in memory:
        every page, count, filter and search of the same run starts from it instead of the files."""
        files = self.doc_files() or self.kept_files()
        if not files:
            raise WinnowError(f"{self.path}: no documents (docs/*.parquet or kept/*.parquet)")
        cached = self._cache_file("table")
        removed = self.path / "removed.parquet"
        key = {**self._index_key(), "run": str(self.path),
               "removed": [removed.stat().st_size, removed.stat().st_mtime_ns] if removed.is_file() else None}
        if cached is not None and cached.is_file():
            try:
                if json.loads(cached.with_suffix(".json").read_text(encoding="utf-8")) == key:
                    return pl.read_parquet(cached).with_columns(pl.col("_file").cast(pl.Categorical))
            except (OSError, json.JSONDecodeError, pl.exceptions.PolarsError):
                pass
        docs = pl.scan_parquet(files, include_file_paths="_file")
        names = docs.collect_schema().names()
        q = docs.select("id", *(["order"] if "order" in names else []), pl.col("_file").cast(pl.Categorical))
        table = q.join(self.removed().select("id", "rule", "value"), on="id", how="left").collect()
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_name(cached.name + ".tmp")
                table.write_parquet(tmp, compression="lz4")
                tmp.replace(cached)
                cached.with_suffix(".json").write_text(json.dumps(key), encoding="utf-8")
            except OSError:
                pass  # a read-only cache: the table is rebuilt next time
        return table

    def _cache_file(self, what: str) -> Path | None:
        if self.cache_dir is None:
            return None
        import xxhash

        return self.cache_dir / f"{what}-{xxhash.xxh64_hexdigest(str(self.path))}.parquet"

    def _base(self, status: str, rule: str | None, filters: list[SignalFilter],
              sort: tuple[str, bool] | None) -> pl.LazyFrame:
        """id, order, rule, value and the signal columns filters/sort need: small columns only."""
        q = self.table.lazy()
        if status == "kept":
            q = q.filter(pl.col("rule").is_null())
        elif status == "removed":
            q = q.filter(pl.col("rule").is_not_null())
        if rule:
            q = q.filter(pl.col("rule") == rule)
        wanted: dict[str, set[str]] = {}
        for f in filters:
            wanted.setdefault(f.step, set()).add(f.column)
        if sort:
            step, col = sort[0].split(".", 1)
            wanted.setdefault(step, set()).add(col)
        for step, cols in wanted.items():
            sig, key = self._signal_cols(step, cols)
            q = q.join(sig, on=key, how="left")
        for f in filters:
            q = q.filter(f.expr())
        return q

    # -- full-text search ------------------------------------------------------------------------------
    def _index_key(self) -> dict[str, Any]:
        files = self.doc_files() or self.kept_files()
        return {"version": 1, "polars": pl.__version__, "root": str(self.data_root),
                "files": [f.name for f in files], "bytes": sum(f.stat().st_size for f in files)}

    @cached_property
    def text_index(self) -> TextIndex | None:
        """The search index `mix` wrote into `search/` (curation/text_index.py), if it matches the documents."""
        files = self.doc_files()
        return TextIndex.open(self.path / "search", files) if files else None

    def _search_hits(self, pattern: str, files: list[Path]) -> Iterator[pl.DataFrame]:
        """Without an index: ids whose text matches `pattern`, a group of docs files at a time."""
        step = 16  # files per scan: Polars reads them in parallel; the caller may stop after any group
        for i in range(0, len(files), step):
            hits = pl.scan_parquet(files[i:i + step]).select("id", "text").filter(
                pl.col("text").str.contains(pattern)).select("id").collect()
            if hits.height:
                yield hits

    def _search_batches(self, search: str, whole_words: bool) -> Iterator[tuple[pl.DataFrame, int | None, bool]]:
        """(matching ids, smallest input position not read yet, whether batches come in corpus order)."""
        idx = self.text_index
        if idx is not None:
            for hits, nxt in idx.search(search, whole_words):
                yield hits, nxt, True
            return
        files = self.doc_files() or self.kept_files()
        q = search.strip() if whole_words else search
        pattern = "(?i)" + (whole_word_pattern(q) if whole_words else re.escape(q))
        for hits in self._search_hits(pattern, files):
            yield hits, None, False

    def page(self, status: str = "all", rule: str | None = None, search: str | None = None,
             filters: list[SignalFilter] | None = None, sort: tuple[str, bool] | None = None,
             limit: int = 100, offset: int = 0, whole_words: bool = False) -> tuple[pl.DataFrame, int | None]:
        """One page of documents (id, status, rule, value, preview, sort column) and how many match.

        Search is case-insensitive (the lowercased text contains the lowercased query), for a substring or
        (`whole_words`) whole words; pages are in input order. With the run's search index (written by `mix`)
        it reads only the blocks of documents that can match, in input order, and stops once the page is full
        and no unread block can hold an earlier match (the total is then None). Without one it reads the docs
        files in turn.
        """
        filters = filters or []
        if not search and status == "all" and not rule and not filters and not sort and "table" not in self.__dict__:
            first = self._first_rows(offset + limit)  # a run as it opens: only the files of its first documents
            if first is not None:
                rows, n_all = first
                return self._finish_page(rows.sort("order").slice(offset, limit)), n_all
        idx = self.text_index
        if search and status == "all" and not rule and not filters and not sort and "table" not in self.__dict__ \
                and idx is not None and idx.has_order and idx.has_preview:
            rows, total = self._index_hits(search, whole_words, offset + limit)  # no document table needed
            page = rows.slice(offset, limit)
            return self._finish_page(page.drop("preview"), page.select("id", "preview")), total
        base = self._base(status, rule, filters, sort)
        total: int | None
        has_order = "order" in self.table.columns
        if search:
            need = offset + limit
            unfiltered = status == "all" and not rule and not filters  # every hit is a row of the page's base
            found: list[pl.DataFrame] = []
            known: list[pl.DataFrame] = []  # previews the search read with the hits (the index's copy holds them)
            orders: list[pl.Series] = []
            n = 0
            stopped = False
            for hits, next_min, ordered in self._search_batches(search, whole_words):
                if hits.height:
                    if "preview" in hits.columns:
                        known.append(hits.select("id", "preview"))
                    use_order = ordered and has_order
                    got = hits if unfiltered and (not use_order or "order" in hits.columns) else \
                        base.join(hits.lazy().select("id"), on="id", how="semi").select(
                            "id", *(["order"] if has_order else [])).collect()
                    found.append(got.select("id"))
                    if use_order:
                        orders.append(got["order"])
                    n += got.height
                if n >= need and not sort:
                    if not (ordered and has_order):
                        stopped = True
                    elif next_min is not None:  # stop if no unread block can hold a match before the page's end
                        stopped = int(pl.concat(orders).sort()[need - 1]) < next_min
                    if stopped:
                        break
            ids = pl.concat(found) if found else pl.DataFrame(schema={"id": pl.String})
            q = base.join(ids.lazy(), on="id", how="semi")  # one join with the whole table, at the end
            total = None if stopped else n
        else:
            q = base
            total = int(q.select(pl.len()).collect().item())
        if sort:
            q = q.sort(sort[0], descending=sort[1], nulls_last=True)
        elif has_order:
            q = q.sort("order")
        return self._finish_page(q.slice(offset, limit).collect(), pl.concat(known) if search and known else None), \
            total

    def _finish_page(self, page: pl.DataFrame, known: pl.DataFrame | None = None) -> pl.DataFrame:
        """The page's rows with status and preview (from `known` where it has them, else read from the docs
        files); their docs files are remembered for `document`."""
        self._file_hint.update(zip(page["id"].to_list(), page["_file"].cast(pl.String).to_list(), strict=True))
        if len(self._file_hint) > 10_000:
            self._file_hint.clear()
        have = known.join(page.select("id"), on="id", how="semi").unique("id", keep="first") if known is not None \
            else pl.DataFrame(schema={"id": pl.String, "preview": pl.String})
        rest = page.join(have.select("id"), on="id", how="anti")
        previews = pl.concat([have, self._previews(rest)]) if rest.height else have
        page = page.join(previews, on="id", how="left", maintain_order="left")
        status_col = pl.when(pl.col("rule").is_null()).then(pl.lit("kept")).otherwise(pl.lit("removed"))
        extra = [c for c in page.columns if "." in c]
        return page.select("id", status_col.alias("status"), "rule", "value", *extra, "preview")

    def _index_hits(self, search: str, whole_words: bool, need: int) -> tuple[pl.DataFrame, int | None]:
        """The first `need` hits in input order (id, order, _file, preview, rule, value) from the search index
        alone, and how many hit (None: it stopped once no unread block could hold an earlier hit)."""
        assert self.text_index is not None
        parts: list[pl.DataFrame] = []
        orders = np.zeros(0, dtype=np.int64)
        stopped = False
        for hits, next_min in self.text_index.search(search, whole_words):
            if hits.height:
                parts.append(hits)
                orders = np.concatenate([orders, hits["order"].to_numpy()])
            if orders.size >= need and next_min is not None and np.partition(orders, need - 1)[need - 1] < next_min:
                stopped = True
                break
        docs = str(self.data_root / "docs") + "/"
        rows = pl.concat(parts) if parts else pl.DataFrame(schema={"id": pl.String, "order": pl.Int64,
                                                                   "preview": pl.String, "_copy": pl.String})
        rows = rows.sort("order").head(need).with_columns(
            _file=pl.lit(docs) + pl.col("_copy").str.split("/").list.last()).drop("_copy")
        rem = self.removed().select("id", "rule", "value").filter(pl.col("id").is_in(rows["id"].implode())).collect()
        return rows.join(rem, on="id", how="left", maintain_order="left"), None if stopped else int(orders.size)

    def _file_starts(self) -> tuple[list[tuple[int, Path]], int] | None:
        """(smallest input position, docs file) of every docs file and the number of documents, from the
        search index's block list when there is one, else from the files' Parquet footers (their `order`
        statistics); None where neither tells (no `order` column, no statistics)."""
        files = self.doc_files() or self.kept_files()
        if not files:
            return None
        idx = self.text_index if self.doc_files() else None
        if idx is not None and idx.has_order:
            by_name = {f.name: f for f in files}
            mins = idx.file_min_orders()
            if set(mins) == set(by_name):
                return sorted((int(m), by_name[n]) for n, m in mins.items()), int(idx.meta["n_docs"])
        from concurrent.futures import ThreadPoolExecutor

        import pyarrow.parquet as pq

        def one(f: Path) -> tuple[int, int | None]:
            md = pq.read_metadata(f)
            names = md.schema.names
            if "order" not in names:
                return md.num_rows, None
            col = names.index("order")
            stats = [md.row_group(g).column(col).statistics for g in range(md.num_row_groups)]
            if md.num_rows == 0:
                return 0, 1 << 62
            if any(s is None or not s.has_min_max for s in stats):
                return md.num_rows, None
            return md.num_rows, int(min(s.min for s in stats))

        with ThreadPoolExecutor(max_workers=16) as pool:  # footers are small reads: latency, not bandwidth
            got = list(pool.map(one, files))
        if any(m is None for _, m in got):
            return None
        return sorted((m, f) for (_, m), f in zip(got, files, strict=True)), sum(n for n, _ in got)

    def _first_rows(self, need: int) -> tuple[pl.DataFrame, int] | None:
        """The first `need` documents in input order (id, order, _file, rule, value) and how many the run
        holds, reading the id and order of only the docs files that can hold them (files in order of their
        smallest input position, until the next one starts after the `need`-th position read). None where
        the run's files do not say their input positions, or for deep pages: the whole table answers then."""
        if need > 20_000:
            return None
        starts = self._file_starts()
        if starts is None:
            return None
        spans, n_all = starts
        parts: list[pl.DataFrame] = []
        orders = np.zeros(0, dtype=np.int64)
        for lo, f in spans:
            if orders.size >= need and np.partition(orders, need - 1)[need - 1] < lo:
                break
            d = pl.read_parquet(f, columns=["id", "order"]).with_columns(_file=pl.lit(str(f)))
            parts.append(d)
            orders = np.concatenate([orders, d["order"].to_numpy()])
        rows = pl.concat(parts) if parts else pl.DataFrame(schema={"id": pl.String, "order": pl.Int64,
                                                                   "_file": pl.String})
        rows = rows.sort("order").head(need)
        rem = self.removed().select("id", "rule", "value").filter(pl.col("id").is_in(rows["id"].implode())).collect()
        return rows.join(rem, on="id", how="left", maintain_order="left"), n_all

    def _previews(self, page: pl.DataFrame) -> pl.DataFrame:
        """id, preview of the page's documents, reading the text of only the files they are in."""
        by_file = page.with_columns(pl.col("_file").cast(pl.String)).group_by("_file")
        parts = [pl.scan_parquet(f).filter(pl.col("id").is_in(grp["id"].implode())).select(
            "id", preview=preview_of(pl.col("text"))) for (f,), grp in by_file] if page.height else []
        if not parts:
            return pl.DataFrame(schema={"id": pl.String, "preview": pl.String})
        return pl.concat(pl.collect_all(parts)).unique("id", keep="first")

    # -- one document ----------------------------------------------------------------------------------
    def _row_of(self, doc_id: str, files: list[Path], columns: list[str] | None = None) -> tuple[dict, Path] | None:
        for f in files:
            lf = pl.scan_parquet(f)
            if columns:
                lf = lf.select(columns)
            rows = lf.filter(pl.col("id") == doc_id).head(1).collect()
            if rows.height:
                return rows.row(0, named=True), f
        return None

    def _find(self, doc_id: str) -> tuple[dict, Path] | None:
        """The document's row and docs file: ids are scanned in one pass, then only that file is read."""
        hint = self._file_hint.get(doc_id)
        if hint is not None:
            found = self._row_of(doc_id, [Path(hint)]) if Path(hint).is_file() else None
            if found is not None:
                return found
        if "table" in self.__dict__:  # the document table in memory says which file holds it
            rows = self.table.filter(pl.col("id") == doc_id).head(1)
            if rows.height and Path(str(rows["_file"][0])).is_file():
                found = self._row_of(doc_id, [Path(str(rows["_file"][0]))])
                if found is not None:
                    return found
        files = self.doc_files() or self.kept_files()
        if not files:
            return None
        hit = pl.scan_parquet(files, include_file_paths="_file").select("id", "_file").filter(
            pl.col("id") == doc_id).head(1).collect()
        if hit.height == 0:
            return None
        f = Path(hit["_file"][0])
        return self._row_of(doc_id, [f])

    def document(self, doc_id: str) -> DocumentView | None:
        """Everything about one document: text, source, metadata, every signal value, why it was removed."""
        found = self._find(doc_id)
        if found is None:
            return None
        row, file = found
        rem = self.removed().filter(pl.col("id") == doc_id).head(1).collect()
        removed = rem.row(0, named=True) if rem.height else None
        signals: dict[str, dict[str, Any]] = {}
        spans: list[dict[str, Any]] = []
        for step in self.signal_steps():
            same = self.data_root / "signals" / step / file.name  # batch-local steps share the docs file name
            files = [same] if same.is_file() else _glob(self.data_root / "signals" / step)
            got = self._row_of(doc_id, files)
            if got is None:
                continue
            vals = {k: v for k, v in got[0].items() if k not in ("id", "order")}
            if isinstance(vals.get("pii_spans"), list):
                spans = [dict(s) for s in vals.pop("pii_spans")]
            signals[step] = vals
        kept_text = None
        if removed is None and (self.path / "kept").is_dir():
            same = self.path / "kept" / file.name
            got = self._row_of(doc_id, [same] if same.is_file() else self.kept_files(), ["id", "text"])
            kept_text = got[0]["text"] if got else None
        kept_copy = None
        if removed and removed.get("kept_id"):
            got = self._find(removed["kept_id"])
            if got is not None:
                kept_copy = {"id": removed["kept_id"], "text": got[0]["text"]}
        meta = row.get("metadata")
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except json.JSONDecodeError:
                pass
        return DocumentView(id=doc_id, text=row.get("text") or "", source=row.get("source"), metadata=meta,
                            order=row.get("order"), removed=removed, signals=signals,
                            pii_spans=sorted(spans, key=lambda s: s.get("start", 0)), kept_text=kept_text,
                            kept_copy=kept_copy)

    def cluster(self, doc_id: str, limit: int = 200) -> pl.DataFrame:
        """Every member of the document's duplicate cluster (minhash cluster, else exact-duplicate group)."""
        steps = self.signal_steps()
        members: pl.DataFrame | None = None
        if "minhash" in steps and "cluster_id" in self.signal_schema("minhash"):
            sig = self.signals("minhash")
            cid = sig.filter(pl.col("id") == doc_id).select("cluster_id").head(1).collect()
            if cid.height and cid["cluster_id"][0] is not None:
                members = sig.filter(pl.col("cluster_id") == cid["cluster_id"][0]).select(
                    "id", "duplicate", "similarity").head(limit).collect()
        if (members is None or members.height <= 1) and "exact_dedup" in steps:
            sig = self.signals("exact_dedup").select("id", "duplicate", "kept_id")
            me = sig.filter(pl.col("id") == doc_id).head(1).collect()
            if me.height:
                root = me["kept_id"][0] or doc_id
                members = sig.filter((pl.col("id") == root) | (pl.col("kept_id") == root)).select(
                    "id", "duplicate", pl.lit(1.0).alias("similarity")).head(limit).collect()
        if members is None or members.height == 0:
            return pl.DataFrame(schema={"id": pl.String, "duplicate": pl.Boolean, "similarity": pl.Float64,
                                        "preview": pl.String})
        previews = self.docs().filter(pl.col("id").is_in(members["id"].implode())).select(
            "id", preview=preview_of(pl.col("text"))).collect()
        return members.join(previews, on="id", how="left", maintain_order="left").sort("duplicate")

    # -- live re-thresholding ------------------------------------------------------------------------------
    def recounter(self, recipe: Recipe | None = None) -> Recounter:
        rec = recipe or self.recipe
        if rec is None:
            raise WinnowError(f"{self.path}: no recipe.yaml to re-threshold")
        return Recounter(self, rec)


def histogram_of(vals: np.ndarray, bins: int, nulls: int = 0) -> tuple[pl.DataFrame, int]:
    vals = vals[~np.isnan(vals)] if vals.dtype.kind == "f" else vals
    if vals.size == 0:
        return pl.DataFrame(schema={"start": pl.Float64, "end": pl.Float64, "count": pl.Int64}), nulls
    lo, hi = float(vals.min()), float(vals.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(vals, bins=bins, range=(lo, hi))
    return pl.DataFrame({"start": edges[:-1], "end": edges[1:], "count": counts.astype(np.int64)}), nulls


class Recounter:
    """The rule columns of every document in memory (numpy), so a threshold change recounts in milliseconds.

    Same semantics as `mix`: rules in recipe order, the first failing rule removes a document, a null value
    never fires, documents with a repeated id are quarantined, rules on skipped signals do not apply.
    """

    def __init__(self, reader: RunReader, recipe: Recipe) -> None:
        self.reader = reader
        self.rules = list(recipe.rules)
        info = reader.run_info
        skipped = info.get("skipped", reader.manifest.get("skipped_signals") or {})
        available = set(info.get("steps") or reader.signal_steps())
        self.inactive = {r.name: (f"signal {r.signal} skipped" if r.signal in skipped else
                                  f"signal {r.signal} not computed in this run")
                         for r in self.rules if r.signal in skipped or r.signal not in available}
        from curation.mix import _cluster_size_columns

        docs = reader.docs().select("id", "order")
        frame = docs
        needed: dict[str, set[str]] = {}
        active = [r for r in self.rules if r.name not in self.inactive]
        # dedup rules' kept copies and cluster sizes: mix re-keeps a cluster whose kept copy was quarantined
        self._sizes_of = _cluster_size_columns(reader.data_root, active)
        for r in active:
            needed.setdefault(r.signal, set()).add(r.column)
            if r.kept_id_column:
                needed[r.signal].add(r.kept_id_column)
            if r.name in self._sizes_of:
                needed[r.signal].add(self._sizes_of[r.name])
        self._by_id: set[str] = set()  # steps of an old run keyed by id: mix leaves their rules as decided
        for step, cols in needed.items():
            sig, key = reader._signal_cols(step, cols)
            frame = frame.join(sig, on=key, how="left")
            if key == "id":
                self._by_id.add(step)
        frame = frame.with_columns(_dup=pl.col("order") != pl.col("order").min().over("id"))
        df = frame.collect()
        self.n = df.height
        self.dup = df["_dup"].to_numpy()
        self.quarantined_dups = int(self.dup.sum())
        self._numeric: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # step.column -> (values f64, null mask)
        self._fixed: dict[str, np.ndarray] = {}  # rule name -> fail mask (drop_if, keep/drop values)
        for r in self.rules:
            if r.name in self.inactive:
                continue
            key = f"{r.signal}.{r.column}"
            s = df[key]
            if r.min is not None or r.max is not None:
                if key not in self._numeric:
                    self._numeric[key] = (s.cast(pl.Float64).fill_null(np.nan).to_numpy(),
                                          s.is_null().to_numpy())
            else:
                self._fixed[r.name] = _fixed_fail(r, s)
        self._cache: dict[tuple, np.ndarray] = {}
        # what mix's re-keep reads, for the only rows it can change: those of a repeated id and those naming one
        # as their kept copy (none when no id repeats, and then a recount does no more than before)
        self._dedup: pl.DataFrame | None = None
        kept_cols = [f"{r.signal}.{r.kept_id_column}" for r in active if r.kept_id_column]
        if self.quarantined_dups and kept_cols:
            repeated = df.filter(pl.col("_dup"))["id"].unique().implode()
            near = pl.col("id").is_in(repeated) | pl.any_horizontal(
                pl.col(c).cast(pl.Utf8).is_in(repeated).fill_null(False) for c in kept_cols)
            keep = ["id", "order", *(f"{r.signal}.{c}" for r in active for c in (r.kept_id_column,
                                                                                 self._sizes_of.get(r.name)) if c)]
            rows = df.with_row_index("_row").filter(near)
            self._rows = rows["_row"].to_numpy()
            self._dedup = rows.select(*dict.fromkeys(keep), _dup_id="_dup")

    def values(self, step: str, column: str) -> np.ndarray:
        """The (non-null) values of a min/max rule's column, for its histogram."""
        vals, nulls = self._numeric[f"{step}.{column}"]
        return vals[~nulls & ~self.dup]

    def fails(self, rule: Rule) -> np.ndarray:
        if rule.min is None and rule.max is None:
            return self._fixed[rule.name]
        key = (rule.signal, rule.column, rule.min, rule.max)
        got = self._cache.get(key)
        if got is None:
            vals, nulls = self._numeric[f"{rule.signal}.{rule.column}"]
            with np.errstate(invalid="ignore"):
                f = np.zeros(self.n, dtype=bool)
                if rule.min is not None:
                    f |= vals < rule.min
                if rule.max is not None:
                    f |= (vals > rule.max) | np.isnan(vals)  # Polars orders NaN above every number
            f &= ~nulls
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = got = f
        return got

    def count(self, rules: list[Rule] | None = None) -> Counts:
        """Kept/removed totals and per-rule counts for these rules (default: the recipe's), in milliseconds."""
        rules = [r for r in (self.rules if rules is None else rules) if r.name not in self.inactive]
        undecided = ~self.dup
        by_rule: dict[str, int] = {}
        by_any: dict[str, int] = {}
        for r, f in zip(rules, self._rekept([self.fails(r) for r in rules], rules), strict=True):
            first = f & undecided
            k = int(np.count_nonzero(first))
            if k:
                by_rule[r.name] = k
                undecided &= ~first
            a = int(np.count_nonzero(f & ~self.dup))
            if a:
                by_any[r.name] = a
        kept = int(np.count_nonzero(undecided))
        removed = self.n - self.quarantined_dups - kept
        quarantined = int(self.reader.manifest.get("quarantined", 0) or 0)
        return Counts(kept=kept, removed=removed, quarantined=quarantined,
                      by_rule=dict(sorted(by_rule.items(), key=lambda kv: -kv[1])), by_rule_any=by_any)

    def _rekept(self, fails: list[np.ndarray], rules: list[Rule]) -> list[np.ndarray]:
        """The rules' fail masks after mix's re-keep of clusters whose kept copy was quarantined as a repeated
        id (`curation.mix._rekeep_lost_clusters`, the same code); unchanged when no id repeats."""
        if self._dedup is None or not any(r.kept_id_column for r in rules):
            return fails
        from curation.mix import _rekeep_lost_clusters

        rows = self._rows
        df = self._dedup.with_columns(pl.Series(f"_f{i}", f[rows]) for i, f in enumerate(fails))
        df = _rekeep_lost_clusters(df, rules, self._sizes_of, self._by_id)
        out = []
        for i, f in enumerate(fails):
            f = f.copy()  # a cached mask (fails()) must not change
            f[rows] = df[f"_f{i}"].to_numpy()
            out.append(f)
        return out


def _fixed_fail(rule: Rule, s: pl.Series) -> np.ndarray:
    if rule.drop_if is not None:
        e = s == rule.drop_if
    elif rule.keep_values is not None:
        e = ~s.cast(pl.String).is_in(rule.keep_values)
    else:
        e = s.cast(pl.String).is_in(rule.drop_values or [])
    return e.fill_null(False).to_numpy()
