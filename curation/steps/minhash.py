"""`minhash`: near-duplicate clusters from MinHash signatures, LSH banding and verified candidate pairs.

Per batch (`score`) the step stores each document's signature and band hashes
(`signals/minhash.parts/*.parquet`: these are the signatures kept with the run, which `--against` and
`winnow similar` read later). `finalize` groups documents that share a band, confirms each candidate pair
with the Jaccard estimated from the whole signature (`threshold`), joins confirmed pairs into clusters
(connected components) and keeps one representative per cluster (`keep: first|longest`). Documents of
earlier runs listed in `context["against"]` join the index as already-kept documents: a new document in
their cluster is a duplicate whose `kept_id` is the old document; old documents get no output rows.
Documents without any word have no shingles and are never near-duplicates (exact_dedup handles them).
"""

from __future__ import annotations

import json
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
from curation.dedup.signatures import signatures
from curation.errors import WinnowError
from curation.progress import Progress
from curation.steps.base import CorpusStep, StepConfig, register_step

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


def read_parts(paths: list[Path], columns: list[str] | None = None) -> pl.DataFrame:
    """Concatenate stored minhash parts (one frame)."""
    frames = []
    for p in sorted(paths):
        try:
            frames.append(pl.read_parquet(p, columns=columns))
        except Exception as e:  # noqa: BLE001 - a corrupt part is a user-fixable problem
            raise WinnowError(f"{p}: cannot read MinHash part: {e}") from None
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="vertical_relaxed")


def run_parts(run_dir: str | Path) -> list[Path]:
    """The stored MinHash parts of a curated run folder (error when it has none)."""
    d = Path(run_dir) / "signals" / "minhash.parts"
    paths = sorted(d.glob("*.parquet"))
    if not paths:
        raise WinnowError(f"{run_dir}: no stored MinHash signatures ({d}/*.parquet); "
                          "was it curated with the minhash signal?")
    return paths


def run_params(run_dir: str | Path) -> dict[str, int] | None:
    p = Path(run_dir) / "signals" / "minhash" / PARAMS_FILE
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

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
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
        from curation.dedup.signatures import numba_available

        return {"config": self.config.model_dump(mode="json"),
                "kernel": "numba" if numba_available() else "python+numpy",
                "against": [str(d) for d in self.context.get("against") or []]}

    def _load_against(self) -> pl.DataFrame | None:
        dirs = list(self.context.get("against") or [])
        if not dirs:
            return None
        mine = params_of(self.config)
        frames = []
        for d in dirs:
            theirs = run_params(d)
            if theirs is not None and theirs != mine:
                raise WinnowError(f"{d}: its MinHash parameters {theirs} differ from this recipe's {mine}; "
                                  "--against needs the same ngram, num_perm, seed, bands and rows")
            df = read_parts(run_parts(d), ["id", "order", "length", "n_shingles", "signature", "bands"])
            width = df.schema["signature"].size if isinstance(df.schema["signature"], pl.Array) else None
            if width != self.config.num_perm:
                raise WinnowError(f"{d}: stored signatures have {width} permutations, this recipe uses "
                                  f"{self.config.num_perm}")
            frames.append(df)
        return pl.concat(frames, how="vertical_relaxed")

    def finalize(self, parts: list[Path], out_dir: Path, progress: Progress | None = None) -> None:
        cfg = self.config
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        new = read_parts(parts)
        if progress is not None:
            progress.message(f"minhash: {len(new)} documents from {len(parts)} parts")
        old = self._load_against()
        n_old = 0 if old is None else len(old)
        frames = [f for f in (old, new) if f is not None and len(f)]
        allf = pl.concat(frames, how="vertical_relaxed") if frames else new
        n = len(allf)
        result = cluster_frame(allf, n_old, cfg) if n else None
        if result is None:
            out = pl.DataFrame(schema={"id": pl.Utf8, "duplicate": pl.Boolean, "cluster_id": pl.Utf8,
                                       "kept_id": pl.Utf8, "similarity": pl.Float64, "cluster_size": pl.UInt32,
                                       "n_shingles": pl.UInt32})
        else:
            out = result
        out.write_parquet(out_dir / "part-00000.parquet")
        (out_dir / PARAMS_FILE).write_text(json.dumps({"params": params_of(cfg), "config": cfg.model_dump(),
                                                       "against": [str(d) for d in
                                                                   self.context.get("against") or []]},
                                                      indent=2), encoding="utf-8")
        if progress is not None:
            progress.message(f"minhash: {int(out['duplicate'].sum()) if len(out) else 0} near-duplicates")


def cluster_frame(allf: pl.DataFrame, n_old: int, cfg: MinHashConfig) -> pl.DataFrame:
    """Cluster stored parts (the first `n_old` rows are already-kept documents of earlier runs)."""
    n = len(allf)
    sig = allf["signature"].to_numpy()
    bands = allf["bands"].to_numpy()
    has = allf["n_shingles"].to_numpy() > 0
    idx = np.flatnonzero(has)
    pairs = candidate_pairs(bands[idx])
    pairs = idx[pairs] if len(pairs) else pairs.reshape(0, 2)
    if cfg.verify and len(pairs):
        keep = estimated_jaccard(sig, pairs[:, 0], pairs[:, 1]) >= cfg.threshold
        pairs = pairs[keep]
    labels = connected_components(n, pairs)
    is_new = np.zeros(n, dtype=np.int8)
    is_new[n_old:] = 1
    order = allf["order"].to_numpy().astype(np.int64)
    if cfg.keep == "longest":
        keys = [is_new, -allf["length"].to_numpy().astype(np.int64), order]
    else:
        keys = [is_new, order]
    rep = pick_representatives(labels, keys)
    sizes = np.bincount(labels, minlength=n)[labels]
    sim = estimated_jaccard(sig, np.arange(n), rep)
    ids = allf["id"]
    rep_ids = ids.gather(rep)
    dup = rep != np.arange(n)
    out = pl.DataFrame({
        "id": ids,
        "duplicate": dup,
        "cluster_id": rep_ids,
        "kept_id": pl.Series(rep_ids).zip_with(pl.Series(dup), pl.Series([None] * n, dtype=pl.Utf8)),
        "similarity": sim,
        "cluster_size": sizes.astype(np.uint32),
        "n_shingles": allf["n_shingles"],
        "_order": order,
    }).slice(n_old)
    return out.sort("_order").drop("_order")
