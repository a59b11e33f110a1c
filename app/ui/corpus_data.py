"""Read a curation run folder for the Corpus page: lazy Polars scans with limits, no Streamlit.

A run folder holds `manifest.json`, `recipe.yaml`, `removed.parquet`, `docs/*.parquet` (every document as
read), `kept/*.parquet`, `signals/<step>/*.parquet` and `quarantine.jsonl`. Everything here reads only the
columns and rows it needs, so a 200k-document run stays responsive.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.errors import WinnowError

PREVIEW_CHARS = 160
_REMOVED_SCHEMA = {"id": pl.String, "rule": pl.String, "rules": pl.List(pl.String), "value": pl.Float64,
                   "detail": pl.String, "kept_id": pl.String}


def is_run_dir(path: str | Path) -> bool:
    return (Path(path) / "manifest.json").is_file()


def load_manifest(run: str | Path) -> dict[str, Any]:
    path = Path(run) / "manifest.json"
    if not path.is_file():
        raise WinnowError(f"{run}: not a finished curation run (no manifest.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WinnowError(f"{path}: not valid JSON (line {e.lineno})") from None


def _glob(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def docs_lazy(run: str | Path) -> pl.LazyFrame:
    """Every document as read (falls back to the kept corpus for runs without docs/)."""
    files = _glob(Path(run) / "docs") or _glob(Path(run) / "kept")
    if not files:
        raise WinnowError(f"{run}: no documents (docs/*.parquet or kept/*.parquet)")
    return pl.scan_parquet(files)


def removed_lazy(run: str | Path) -> pl.LazyFrame:
    path = Path(run) / "removed.parquet"
    if not path.is_file():
        return pl.LazyFrame(schema=_REMOVED_SCHEMA)
    return pl.scan_parquet(path)


def rules_removed(run: str | Path) -> list[str]:
    return sorted(removed_lazy(run).select(pl.col("rule").unique()).collect()["rule"].drop_nulls().to_list())


def removals_by_rule(manifest: dict[str, Any]) -> pl.DataFrame:
    rows = [{"rule": k, "removed": int(v)} for k, v in (manifest.get("by_rule") or {}).items()]
    return pl.DataFrame(rows, schema={"rule": pl.String, "removed": pl.Int64})


def browse(run: str | Path, status: str = "all", rule: str | None = None, search: str | None = None,
           limit: int = 200, offset: int = 0) -> tuple[pl.DataFrame, int]:
    """One page of documents (id, status, rule, value, preview) and how many match in all.

    status: all, kept or removed; rule: only documents removed by this rule; search: case-insensitive
    substring of the text.
    """
    docs = docs_lazy(run)
    names = docs.collect_schema().names()
    order = ["order"] if "order" in names else []
    removed = removed_lazy(run).select("id", "rule", "value")
    # filter and sort on the small columns; the text is read only to search, and for the page shown
    q = docs.select("id", *order, *(["text"] if search else [])).join(removed, on="id", how="left")
    if status == "kept":
        q = q.filter(pl.col("rule").is_null())
    elif status == "removed":
        q = q.filter(pl.col("rule").is_not_null())
    if rule:
        q = q.filter(pl.col("rule") == rule)
    if search:
        q = q.filter(pl.col("text").str.contains("(?i)" + re.escape(search))).drop("text")
    total = q.select(pl.len()).collect().item()
    if order:
        q = q.sort("order")
    page = q.slice(offset, limit).collect()
    previews = docs.filter(pl.col("id").is_in(page["id"].implode())).select(
        "id", preview=pl.col("text").str.slice(0, PREVIEW_CHARS).str.replace_all(r"\s+", " ")).collect()
    page = page.join(previews, on="id", how="left", maintain_order="left")
    status_col = pl.when(pl.col("rule").is_null()).then(pl.lit("kept")).otherwise(pl.lit("removed"))
    return page.select("id", status_col.alias("status"), "rule", "value", "preview"), int(total)


def signal_steps(run: str | Path) -> list[str]:
    """Signal steps with stored columns (signals/<step>/*.parquet; the `.parts` folders are scratch)."""
    root = Path(run) / "signals"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and "." not in p.name and _glob(p))


def signals_lazy(run: str | Path, step: str) -> pl.LazyFrame:
    files = _glob(Path(run) / "signals" / step)
    if not files:
        raise WinnowError(f"{run}: no signals stored for step {step!r}")
    return pl.scan_parquet(files)


def numeric_columns(run: str | Path, step: str) -> list[str]:
    schema = signals_lazy(run, step).collect_schema()
    return [n for n, t in schema.items() if n != "id" and (t.is_numeric() or t == pl.Boolean)]


def document(run: str | Path, doc_id: str) -> dict[str, Any] | None:
    """Everything about one document: text, source, metadata, every signal value, and why it was removed."""
    rows = docs_lazy(run).filter(pl.col("id") == doc_id).head(1).collect()
    if rows.height == 0:
        return None
    doc = rows.row(0, named=True)
    rem = removed_lazy(run).filter(pl.col("id") == doc_id).head(1).collect()
    doc["removed"] = rem.row(0, named=True) if rem.height else None
    doc["signals"] = {}
    for step in signal_steps(run):
        sig = signals_lazy(run, step).filter(pl.col("id") == doc_id).head(1).collect()
        if sig.height:
            doc["signals"][step] = {k: v for k, v in sig.row(0, named=True).items() if k != "id"}
    kept_id = (doc["removed"] or {}).get("kept_id")
    doc["kept_copy"] = None
    if kept_id:
        kept = docs_lazy(run).filter(pl.col("id") == kept_id).select("id", "text").head(1).collect()
        if kept.height:
            doc["kept_copy"] = kept.row(0, named=True)
    return doc


def histogram(run: str | Path, step: str, column: str, bins: int = 40) -> tuple[pl.DataFrame, int]:
    """Bin counts of one signal column (only that column is read) and the number of null values."""
    col = signals_lazy(run, step).select(pl.col(column).cast(pl.Float64)).collect().to_series()
    nulls = col.null_count()
    vals = col.drop_nulls().drop_nans().to_numpy()
    if vals.size == 0:
        return pl.DataFrame(schema={"start": pl.Float64, "end": pl.Float64, "count": pl.Int64}), nulls
    lo, hi = float(vals.min()), float(vals.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(vals, bins=bins, range=(lo, hi))
    return pl.DataFrame({"start": edges[:-1], "end": edges[1:], "count": counts.astype(np.int64)}), nulls


def thresholds(run: str | Path, step: str, column: str) -> list[dict[str, Any]]:
    """Rules of the run's recipe on this column: [{name, min, max}] (drop below min / above max)."""
    path = Path(run) / "recipe.yaml"
    if not path.is_file():
        return []
    from curation.recipe import load_recipe

    try:
        recipe = load_recipe(path)
    except WinnowError:
        return []
    return [{"name": r.name, "min": r.min, "max": r.max} for r in recipe.rules
            if r.signal == step and r.column == column and (r.min is not None or r.max is not None)]


def quarantine(run: str | Path, limit: int = 1000) -> pl.DataFrame:
    """Malformed input lines that were set aside: file, line, reason."""
    path = Path(run) / "quarantine.jsonl"
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
