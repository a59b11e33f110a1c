"""Training page: runs of kind train-*, loss curves from their metrics.jsonl, the loss plot, the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from app import launcher
from app.registry import RunRegistry
from app.ui.common import STATUS_ICON, fmt_duration, fmt_metrics
from curation.progress import read_jsonl_records


def read_metrics(out_dir: str | Path) -> list[dict[str, Any]]:
    """Records of `<out>/metrics.jsonl`, skipping a torn last line (the trainer may still be writing)."""
    return read_jsonl_records(Path(out_dir) / "metrics.jsonl")


def curves(recs: list[dict[str, Any]], names: list[str]) -> pl.DataFrame | None:
    """step + the wanted numeric series (each only where logged), or None when none is there."""
    rows = [{"step": r["step"], **{n: r.get(n) for n in names}} for r in recs
            if isinstance(r.get("step"), int | float) and any(isinstance(r.get(n), int | float) for n in names)]
    if not rows:
        return None
    df = pl.DataFrame(rows, infer_schema_length=None)
    keep = [n for n in names if n in df.columns and df[n].null_count() < df.height]
    return df.select("step", *[pl.col(n).cast(pl.Float64) for n in keep]).group_by("step").agg(
        [pl.col(n).drop_nulls().last() for n in keep]).sort("step")


def render(ws: Path) -> None:
    st.header("Training")
    with RunRegistry(ws) as reg:
        runs = [r for r in reg.list(limit=500) if r.kind.startswith("train")]
    if not runs:
        st.info("No training runs yet: `winnow train sft ...` (or start one on the Launch page).")
        return
    st.dataframe([{"id": r.id, "kind": r.kind, "status": f"{STATUS_ICON.get(r.status, '')} {r.status}",
                   "duration": fmt_duration(r.duration), "metrics": fmt_metrics(r.metrics),
                   "out_dir": r.out_dir or ""} for r in runs], hide_index=True, width="stretch")
    pick = st.selectbox("run", [r.id for r in runs], format_func=lambda i: f"run {i}", key="train_pick")
    run = next(r for r in runs if r.id == pick)
    if run.error:
        st.error(run.error)
    if not run.out_dir:
        st.warning("this run recorded no output folder")
        return
    line = launcher.progress_line(run.out_dir) if run.status == "running" else None
    if line:
        st.caption(line)
    recs = read_metrics(run.out_dir)
    if not recs:
        st.info(f"no metrics yet in {run.out_dir}/metrics.jsonl")
    loss = curves(recs, ["loss", "eval_loss"])
    if loss is not None:
        st.markdown("**Loss**")
        st.line_chart(loss.to_pandas(), x="step")
    lr = curves(recs, ["lr", "learning_rate"])
    if lr is not None:
        st.markdown("**Learning rate**")
        st.line_chart(lr.to_pandas(), x="step")
    other = sorted({k for r in recs for k, v in r.items() if isinstance(v, int | float)}
                   - {"step", "loss", "eval_loss", "lr", "learning_rate", "epoch", "ts"})
    if other:
        extra = st.multiselect("more series", other, key="train_more")
        df = curves(recs, extra) if extra else None
        if df is not None:
            st.line_chart(df.to_pandas(), x="step")
    png = Path(run.out_dir) / "loss.png"
    if png.is_file():
        with st.expander("loss.png written by the trainer"):
            st.image(str(png))
    manifest = Path(run.out_dir) / "manifest.json"
    if manifest.is_file():
        with st.expander("manifest.json"):
            try:
                st.json(json.loads(manifest.read_text(encoding="utf-8")), expanded=False)
            except json.JSONDecodeError:
                st.warning("manifest.json is not valid JSON (still being written?)")
