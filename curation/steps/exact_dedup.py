"""`exact_dedup`: documents whose dedup-normalised text is identical (case, punctuation and spacing ignored).

The key is xxh3-128 of the normalised text (`curation.text.dedup_words` joined by single spaces: NFKC,
lowercase, runs of non-word characters -> one space), computed per batch and stored in
`signals/exact_dedup.parts/`; `finalize` groups all parts by key and keeps one copy per group
(`keep: first` = smallest `order`, `longest` = most characters, then first).

With `--against` (earlier runs in `context["against"]`), the keys those runs stored in their own
`signals/exact_dedup.parts/` count as already kept: a document whose normalised text is a document of an
earlier run is an exact duplicate of that one, so `exact_duplicate` (not `near_duplicate`) names why it went.

Columns: `duplicate`, `kept_id` (the copy kept instead: an id of this run, or `<run>:<id>` when the copy is
in the earlier run folder named `<run>`), `kept_run` (that run folder's name; null when the copy is in this
run) and `group_size` (copies in this run, plus one when an earlier run holds the kept copy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import Field

from curation.errors import WinnowError
from curation.progress import Progress
from curation.steps.base import CorpusStep, StepConfig, register_step
from curation.store import part_files


class ExactDedupConfig(StepConfig):
    keep: Literal["first", "longest"] = Field("first", description="which copy of a group is kept")


def normalised_text_expr(col: str = "text") -> pl.Expr:
    """`" ".join(dedup_words(text))` as a Polars expression (NFKC only where a row is not ASCII)."""
    t = pl.col(col).cast(pl.Utf8).fill_null("")
    t = pl.when(t.str.len_bytes() != t.str.len_chars()).then(t.str.normalize("NFKC")).otherwise(t)
    return t.str.to_lowercase().str.replace_all(r"[^\w]+", " ").str.strip_chars(" ")


def text_keys(texts: pl.Series, use_numba: bool | None = None) -> pl.Series:
    """16-byte xxh3-128 digests of the normalised texts (stable across Polars versions, unlike `hash`)."""
    import xxhash

    from curation.dedup.signatures import normalised_bytes, use_kernels

    digest = xxhash.xxh3_128_digest
    texts = texts.cast(pl.Utf8)
    if use_numba is None:
        use_numba = use_kernels(len(texts))
    if use_numba:  # the signature kernel's normaliser: ~10x faster than the Polars regex
        buf, offs = normalised_bytes(texts)
        mv = memoryview(buf)
        keys = [digest(mv[a:b]) for a, b in zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True)]
    else:
        norm = texts.to_frame("text").select(normalised_text_expr("text")).to_series()
        keys = [digest(t.encode("utf-8")) for t in norm.to_list()]
    return pl.Series("key", keys, dtype=pl.Binary)


@register_step
class ExactDedupStep(CorpusStep):
    """Exact duplicates after normalisation: `duplicate`, `kept_id`, `group_size`."""

    name = "exact_dedup"
    Config = ExactDedupConfig
    config: ExactDedupConfig
    columns = ("duplicate", "kept_id", "kept_run", "group_size")
    preload = ("curation.dedup.kernels_warm",)  # the kernels, loaded once in the workers' server

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame({
            "id": batch["id"].cast(pl.Utf8),
            "order": batch["order"].cast(pl.Int64),
            "length": batch["text"].cast(pl.Utf8).fill_null("").str.len_chars().cast(pl.UInt32),
            "key": text_keys(batch["text"]),
        })

    def finalize(self, parts: list[Path], out_dir: Path, progress: Progress | None = None) -> None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        frames = []
        for p in sorted(parts):
            try:
                frames.append(pl.read_parquet(p, columns=["id", "order", "length", "key"]))
            except Exception as e:  # noqa: BLE001
                raise WinnowError(f"{p}: cannot read exact_dedup part: {e}") from None
        schema = {"id": pl.Utf8, "order": pl.Int64, "length": pl.UInt32, "key": pl.Binary}
        df = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=schema)
        out = exact_groups(df, self.config.keep, earlier_keys(self.context.get("against") or []))
        out.write_parquet(out_dir / "part-00000.parquet")
        if progress is not None:
            progress.message(f"exact_dedup: {int(out['duplicate'].sum()) if len(out) else 0} exact duplicates "
                             f"among {len(out)} documents")


def run_label(run_dir: str | Path) -> str:
    """How a kept copy's run is named in `kept_id` / `kept_run`: the run folder's name."""
    return Path(run_dir).name


def earlier_keys(runs: list[str | Path]) -> pl.DataFrame | None:
    """`key`, `kept_id` (`<run>:<id>`) and `kept_run` of the first copy of each text in earlier runs (the
    first run listed wins), or None when there are none."""
    frames = []
    for i, d in enumerate(runs):
        parts = part_files(Path(d), "exact_dedup")  # a mix --out folder's are its parent's
        if not parts:
            raise WinnowError(f"--against {d}: no stored exact_dedup keys (signals/exact_dedup.parts/); "
                              "curate that run with the exact_dedup signal, or leave exact_dedup out here")
        name = run_label(d)
        frames.append(pl.scan_parquet(parts).select(
            "key", (pl.lit(f"{name}:") + pl.col("id").cast(pl.Utf8)).alias("kept_id"),
            pl.lit(name).alias("kept_run"), pl.lit(i).alias("_run"), pl.col("order").alias("_order")).collect())
    if not frames:
        return None
    return pl.concat(frames).sort("_run", "_order").unique("key", keep="first").drop("_run", "_order")


def exact_groups(df: pl.DataFrame, keep: str = "first", earlier: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per document: duplicate, kept_id (null for the kept copy), kept_run, group_size.

    `earlier`: keys already kept by earlier runs (`earlier_keys`); a document with one of them is a duplicate
    of that earlier copy, whatever its place in this run."""
    df = df.with_row_index("_r")
    by = [pl.col("length").cast(pl.Int64).neg(), pl.col("order"), pl.col("_r")] if keep == "longest" \
        else [pl.col("order"), pl.col("_r")]
    kept_r = pl.col("_r").sort_by(by).first().over("key")
    kept_id = pl.col("id").sort_by(by).first().over("key")
    out = df.with_columns(
        kept_r.alias("_kr"), kept_id.alias("_kid"), pl.len().over("key").cast(pl.UInt32).alias("group_size"))
    dup = pl.col("_kr") != pl.col("_r")
    out = out.with_columns(dup.alias("duplicate"),
                           pl.when(dup).then(pl.col("_kid")).otherwise(None).cast(pl.Utf8).alias("kept_id"),
                           pl.lit(None, pl.Utf8).alias("kept_run"))
    if earlier is not None and earlier.height:
        old = earlier.rename({"kept_id": "_old_id", "kept_run": "_old_run"})
        out = out.join(old, on="key", how="left").with_columns(
            (pl.col("duplicate") | pl.col("_old_id").is_not_null()).alias("duplicate"),
            pl.coalesce("_old_id", "kept_id").alias("kept_id"),
            pl.col("_old_run").alias("kept_run"),
            (pl.col("group_size") + pl.col("_old_id").is_not_null().cast(pl.UInt32)).alias("group_size"))
    return out.sort("order", "_r").select("id", "order", "duplicate", "kept_id", "kept_run", "group_size")
