"""`minhash`: near-duplicate clusters from MinHash signatures, LSH banding and verified candidate pairs.

Per batch (`score`) the step stores each document's signature and band hashes
(`signals/minhash.parts/*.parquet`: these are the signatures kept with the run, which `--against` and
`winnow similar` read later). `finalize` groups documents that share a band, confirms each candidate pair
with the Jaccard estimated from the whole signature (`threshold`), joins confirmed pairs into clusters
(connected components) and keeps one representative per cluster (`keep: first|longest`). Documents of
earlier runs listed in `context["against"]` join the index as already-kept documents: a new document in
their cluster is a duplicate whose `kept_id` is the old document, written `<run>:<id>` with `kept_run` =
`<run>` (the earlier run folder's name; null when the kept copy is in this run), so a removed document's
`kept_id` never reads like one of this run's ids; old documents get no output rows.
Documents without any word have no shingles and are never near-duplicates (exact_dedup handles them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from curation.dedup.lsh import (
    band_hashes,
    candidate_pairs,
    connected_components,
    estimated_jaccard,
    pick_representatives,
)
from curation.errors import WinnowError
from curation.progress import Progress
from curation.steps.base import CorpusStep, StepConfig, register_step
from curation.store import part_files, source_dir

PARAMS_FILE = "params.json"
_PARAM_KEYS = ("ngram", "num_perm", "seed", "bands", "rows")


class MinHashConfig(StepConfig):
    ngram: int = Field(5, ge=1, description="word n-gram size of a shingle")
    num_perm: int = Field(128, ge=2, le=1024, description="permutations (signature length)")
    bands: int = Field(16, ge=1, description="LSH bands")
    rows: int = Field(8, ge=1, description="signature rows per band")
    seed: int = Field(1, ge=0, description="seed of the permutations (datasketch's MinHash seed)")
    keep: Literal["first", "longest"] = Field("first", description="which copy of a cluster is kept")
    verify: bool = Field(True, description="confirm candidate pairs with the full-signature Jaccard")
    threshold: float = Field(0.75, ge=0.0, le=1.0,
                             description="estimated Jaccard a candidate pair needs to join a cluster")

    @model_validator(mode="after")
    def _fits(self) -> MinHashConfig:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self


def params_of(cfg: MinHashConfig) -> dict[str, int]:
    return {k: int(getattr(cfg, k)) for k in _PARAM_KEYS}


@dataclass
class Stored:
    """Stored MinHash parts as numpy arrays (one row per document, in part order)."""

    ids: pl.Series
    order: np.ndarray
    length: np.ndarray
    n_shingles: np.ndarray
    sig: np.ndarray
    bands: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def count_rows(paths: list[Path]) -> list[int]:
    """Row count of each part from its Parquet metadata."""
    sizes = []
    for p in paths:
        try:
            sizes.append(pl.scan_parquet(p).select(pl.len()).collect().item())
        except Exception as e:  # noqa: BLE001 - a corrupt part is a user-fixable problem
            raise WinnowError(f"{p}: cannot read MinHash part: {e}") from None
    return sizes


def load_stored(paths: list[Path], num_perm: int | None = None, bands: int | None = None) -> Stored:
    """Read parts straight into preallocated arrays (no whole-corpus Polars frame: bounded memory)."""
    paths = list(paths)
    sizes = count_rows(paths)
    n = sum(sizes)
    k, nb = num_perm, bands
    ids: list[pl.Series] = []
    order = np.empty(n, np.int64)
    length = np.empty(n, np.int64)
    nsh = np.empty(n, np.uint32)
    sig = np.empty((n, k or 0), np.uint32) if k else None
    bh = np.empty((n, nb or 0), np.uint64) if nb else None
    at = 0
    for p, m in zip(paths, sizes, strict=True):
        try:
            df = pl.read_parquet(p, columns=["id", "order", "length", "n_shingles", "signature", "bands"])
        except Exception as e:  # noqa: BLE001
            raise WinnowError(f"{p}: cannot read MinHash part: {e}") from None
        s_arr, b_arr = df["signature"].to_numpy(), df["bands"].to_numpy()
        if sig is None:
            k, nb = s_arr.shape[1], b_arr.shape[1]
            sig, bh = np.empty((n, k), np.uint32), np.empty((n, nb), np.uint64)
        if s_arr.shape[1:] != (k,) or b_arr.shape[1:] != (nb,):
            raise WinnowError(f"{p}: stored signatures have {s_arr.shape[1]} permutations and "
                              f"{b_arr.shape[1]} bands; expected {k} and {nb} (same recipe parameters)")
        sl = slice(at, at + m)
        sig[sl], bh[sl] = s_arr, b_arr
        order[sl] = df["order"].to_numpy()
        length[sl] = df["length"].to_numpy()
        nsh[sl] = df["n_shingles"].to_numpy()
        ids.append(df["id"].cast(pl.Utf8))
        at += m
    if sig is None:
        sig, bh = np.empty((0, k or 0), np.uint32), np.empty((0, nb or 0), np.uint64)
    all_ids = pl.concat(ids) if ids else pl.Series("id", [], dtype=pl.Utf8)
    return Stored(all_ids, order, length, nsh, sig, bh)


def run_parts(run_dir: str | Path) -> list[Path]:
    """The stored MinHash parts of a curated run folder, or of the run a `mix --out` folder was mixed from
    (error when it has none)."""
    paths = part_files(Path(run_dir), "minhash")
    if not paths:
        d = source_dir(Path(run_dir)) / "signals" / "minhash.parts"
        raise WinnowError(f"{run_dir}: no stored MinHash signatures ({d}/*.parquet); "
                          "was it curated with the minhash signal?")
    return paths


def run_params(run_dir: str | Path) -> dict[str, int] | None:
    p = source_dir(Path(run_dir)) / "signals" / "minhash" / PARAMS_FILE
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))["params"]
    except (json.JSONDecodeError, KeyError) as e:
        raise WinnowError(f"{p}: unreadable MinHash parameters: {e}") from None


@register_step
class MinHashStep(CorpusStep):
    """Near-duplicate clusters (cluster_id, kept_id, similarity) from stored MinHash signatures."""

    name = "minhash"
    Config = MinHashConfig
    config: MinHashConfig
    columns = ("duplicate", "cluster_id", "kept_id", "kept_run", "similarity", "cluster_size", "n_shingles")
    preload = ("curation.dedup.kernels_warm",)  # the kernels, loaded once in the workers' server

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
        from curation.dedup.signatures import signatures  # numba: imported only where signatures are made

        sig, counts = signatures(batch["text"], ngram=cfg.ngram, num_perm=cfg.num_perm, seed=cfg.seed)
        bh = band_hashes(sig, cfg.bands, cfg.rows)
        return pl.DataFrame({
            "id": batch["id"].cast(pl.Utf8),
            "order": batch["order"].cast(pl.Int64),
            "length": batch["text"].fill_null("").str.len_chars().cast(pl.UInt32),
            "n_shingles": pl.Series(counts, dtype=pl.UInt32),
            "signature": pl.Series(sig, dtype=pl.Array(pl.UInt32, cfg.num_perm)),
            "bands": pl.Series(bh, dtype=pl.Array(pl.UInt64, cfg.bands)),
        })

    def describe(self) -> dict:
        from curation.dedup.signatures import NUMBA_FROM_DOCS
        from curation.imports import c_kernels, numba_available  # imports no numba

        # without the compiled kernels, batches under NUMBA_FROM_DOCS documents take the python+numpy path: the
        # same signatures
        kernel = ("compiled (curation/_ckernels.c)" if c_kernels() is not None
                  else f"numba (batches of {NUMBA_FROM_DOCS}+ documents)" if numba_available() else "python+numpy")
        return {"config": self.config.model_dump(mode="json"), "kernel": kernel,
                "against": [str(d) for d in self.context.get("against") or []]}

    def _against_parts(self) -> list[Path]:
        return [p for _, ps in self._against_runs() for p in ps]

    def _against_runs(self) -> list[tuple[str, list[Path]]]:
        """(run name, its stored parts) for each earlier run, in the order given."""
        from curation.steps.exact_dedup import run_label

        mine = params_of(self.config)
        out: list[tuple[str, list[Path]]] = []
        for d in self.context.get("against") or []:
            theirs = run_params(d)
            if theirs is not None and theirs != mine:
                raise WinnowError(f"{d}: its MinHash parameters {theirs} differ from this recipe's {mine}; "
                                  "--against needs the same ngram, num_perm, seed, bands and rows")
            out.append((run_label(d), run_parts(d)))
        return out

    def finalize(self, parts: list[Path], out_dir: Path, progress: Progress | None = None) -> None:
        cfg = self.config
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        runs = self._against_runs()
        old_parts = [p for _, ps in runs for p in ps]
        old_runs = [(name, sum(count_rows(ps))) for name, ps in runs]
        n_old = sum(n for _, n in old_runs)
        stored = load_stored(old_parts + sorted(parts), cfg.num_perm, cfg.bands)
        if progress is not None:
            progress.message(f"minhash: {len(stored) - n_old} documents from {len(parts)} parts"
                             + (f", {n_old} earlier documents" if n_old else ""))
        out = cluster(stored, n_old, cfg, old_runs)
        out.write_parquet(out_dir / "part-00000.parquet")
        (out_dir / PARAMS_FILE).write_text(json.dumps({"params": params_of(cfg), "config": cfg.model_dump(),
                                                       "against": [str(d) for d in
                                                                   self.context.get("against") or []]},
                                                      indent=2), encoding="utf-8")
        if progress is not None:
            progress.message(f"minhash: {int(out['duplicate'].sum())} near-duplicates")


def cluster(st: Stored, n_old: int, cfg: MinHashConfig,
            old_runs: list[tuple[str, int]] | None = None) -> pl.DataFrame:
    """Cluster stored documents (the first `n_old` are already-kept documents of earlier runs, `old_runs`:
    (run name, documents) in order) and return one row per new document, in input order."""
    n = len(st)
    sig = st.sig
    idx = np.flatnonzero(st.n_shingles > 0)
    pairs = candidate_pairs(st.bands[idx])
    pairs = idx[pairs] if len(pairs) else pairs.reshape(0, 2)
    if cfg.verify and len(pairs):
        pairs = pairs[estimated_jaccard(sig, pairs[:, 0], pairs[:, 1]) >= cfg.threshold]
    labels = connected_components(n, pairs)
    is_new = np.zeros(n, dtype=np.int8)
    is_new[n_old:] = 1
    keys = [is_new, -st.length, st.order] if cfg.keep == "longest" else [is_new, st.order]
    rep = pick_representatives(labels, keys)
    sizes = np.bincount(labels, minlength=n)[labels] if n else np.zeros(0, np.int64)
    sim = estimated_jaccard(sig, np.arange(n), rep)
    rep_ids = st.ids.gather(rep) if n else st.ids
    dup = rep != np.arange(n)
    names = [name for name, _ in old_runs or []]
    bounds = np.cumsum([k for _, k in old_runs or []])
    run_of = pl.Series([names[int(np.searchsorted(bounds, r, side="right"))] if r < n_old else None for r in rep],
                       dtype=pl.Utf8) if n_old and names else pl.Series([None] * n, dtype=pl.Utf8)
    qualified = pl.DataFrame({"run": run_of, "rid": rep_ids}).select(
        pl.when(pl.col("run").is_not_null()).then(pl.col("run") + ":" + pl.col("rid")).otherwise(pl.col("rid")))
    kept = qualified.to_series().rename("kept_id")
    out = pl.DataFrame({
        "id": st.ids,
        "duplicate": pl.Series(dup, dtype=pl.Boolean),
        "cluster_id": rep_ids,
        "kept_id": kept.zip_with(pl.Series(dup, dtype=pl.Boolean), pl.Series([None] * n, dtype=pl.Utf8)),
        "kept_run": run_of.zip_with(pl.Series(dup, dtype=pl.Boolean), pl.Series([None] * n, dtype=pl.Utf8)),
        "similarity": pl.Series(sim, dtype=pl.Float64),
        "cluster_size": pl.Series(sizes, dtype=pl.UInt32),
        "n_shingles": pl.Series(st.n_shingles, dtype=pl.UInt32),
        "_order": st.order,
    }).slice(n_old)
    return out.sort("_order").rename({"_order": "order"})  # order: the row key mix joins on
