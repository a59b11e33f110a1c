"""`winnow similar DIR ID`: the documents of a curated run most similar to one of them.

Loads the signatures stored with the run (`signals/minhash.parts/*.parquet`), rebuilds datasketch
`LeanMinHash`es from them (scheme affine32, the run's seed) and asks a `MinHashLSHForest` for the nearest
candidates; the candidates are then ranked by the Jaccard estimated from the full signatures. A text
snippet comes from `DIR/docs/*.parquet` (id, text) when the run wrote its normalised corpus there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from curation.errors import WinnowError
from curation.store import doc_files


@dataclass
class SimilarDoc:
    id: str
    jaccard: float
    snippet: str | None = None


def _snippets(run_dir: Path, ids: list[str], width: int) -> dict[str, str]:
    files = doc_files(run_dir)  # a mix --out folder's are its parent's
    if not files or not ids:
        return {}
    try:
        lf = pl.scan_parquet(files).filter(pl.col("id").is_in(ids))
        if "order" in lf.collect_schema().names():  # a repeated id: the first copy (the later ones are quarantined)
            lf = lf.sort("order")
        df = lf.select("id", "text").unique("id", keep="first", maintain_order=True).collect()
    except Exception:  # noqa: BLE001 - snippets are optional decoration
        return {}
    out = {}
    for i, t in zip(df["id"].to_list(), df["text"].to_list(), strict=True):
        t = " ".join((t or "").split())
        out[i] = t if len(t) <= width else t[: width - 3] + "..."
    return out


def most_similar(run_dir: str | Path, doc_id: str, top: int = 10, *, snippet_chars: int = 100,
                 forest_l: int = 8) -> tuple[SimilarDoc, list[SimilarDoc]]:
    """(the document itself, its `top` most similar documents by estimated Jaccard, best first)."""
    from datasketch import LeanMinHash, MinHashLSHForest

    from curation.steps.minhash import load_stored, run_params, run_parts

    run_dir = Path(run_dir)
    if top < 1:
        raise WinnowError(f"--top must be at least 1, got {top}")
    st = load_stored(run_parts(run_dir))
    params = run_params(run_dir) or {}
    seed = int(params.get("seed", 1))
    ids = st.ids.to_list()
    where = np.flatnonzero(st.ids.to_numpy() == doc_id)
    if len(where) == 0:
        raise WinnowError(f"{run_dir}: no document with id {doc_id!r} among its {len(ids)} stored signatures")
    q = int(where[0])
    sig = st.sig
    k = sig.shape[1]
    lsh_l = max(1, min(forest_l, k))
    forest = MinHashLSHForest(num_perm=k, l=lsh_l)
    has = st.n_shingles > 0
    for i in np.flatnonzero(has):
        forest.add(i, LeanMinHash(seed=seed, hashvalues=sig[i], scheme="affine32"))
    forest.index()
    query = LeanMinHash(seed=seed, hashvalues=sig[q], scheme="affine32")
    cand = [c for c in forest.query(query, 4 * top + 1) if c != q] if has[q] else []
    cand_arr = np.asarray(cand, dtype=np.int64)
    jac = (sig[cand_arr] == sig[q]).mean(axis=1) if len(cand_arr) else np.zeros(0)
    best = np.argsort(-jac, kind="stable")[:top]
    picks = [(ids[int(cand_arr[b])], float(jac[b])) for b in best]
    snips = _snippets(run_dir, [doc_id] + [p[0] for p in picks], snippet_chars)
    me = SimilarDoc(doc_id, 1.0, snips.get(doc_id))
    return me, [SimilarDoc(i, j, snips.get(i)) for i, j in picks]
