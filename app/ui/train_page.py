"""Training page: runs of kind train-*, a live loss curve (eval loss drawn across the steps it skips), the
learning rate, any other logged series, the trainer's loss plot and manifest. Read through
`training.output_reader.TrainingOutput`; a running job refreshes itself (st.fragment), no reload needed."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.registry import RunRegistry
from app.ui import charts
from app.ui.common import STATUS_ICON, fmt_duration, fmt_metrics
from app.ui.confine import Allowed
from app.ui.follow import follow, followed
from training.output_reader import LOSS_SERIES, LR_SERIES, TrainingOutput


def _extras(out: TrainingOutput) -> None:
    recs = out.metrics()
    lr = out.curves(LR_SERIES, recs)
    if lr is not None:
        st.markdown("**Learning rate**")
        charts.draw(charts.lines(lr, "learning rate", height=180))
    other = [n for n in out.series_names(recs) if n not in (*LOSS_SERIES, *LR_SERIES)]
    if other:
        extra = st.multiselect("more series", other, key="train_more")
        df = out.curves(extra, recs) if extra else None
        if df is not None:
            charts.draw(charts.lines(df, "value", height=220, zero=False))
    png = out.loss_png()
    if png is not None:
        with st.expander("loss.png written by the trainer"):
            st.image(str(png))
    manifest = out.manifest()
    if manifest is not None:
        with st.expander("manifest.json"):
            st.json(manifest, expanded=False)


def render(ws: Path) -> None:
    st.header("Training")
    with RunRegistry(ws) as reg:
        runs = [r for r in reg.list(limit=500) if r.kind.startswith("train")]
    if not runs:
        st.info("No training runs yet: start one on the Jobs page (train sft) or `winnow train sft ...`.")
        return
    st.dataframe([{"id": r.id, "kind": r.kind, "status": f"{STATUS_ICON.get(r.status, '')} {r.status}",
                   "duration": fmt_duration(r.duration), "metrics": fmt_metrics(r.metrics),
                   "out_dir": r.out_dir or ""} for r in runs], hide_index=True, width="stretch")
    ids = [r.id for r in runs]
    new = followed("train", ids)
    if new is not None:  # a relaunch: show the new run
        st.session_state["train_pick"] = new
    wanted = st.query_params.get("train")
    idx = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in ids else 0
    start = {} if st.session_state.get("train_pick") in ids else {"index": idx}  # a relaunch set it
    pick = st.selectbox("run", ids, format_func=lambda i: f"run {i}", key="train_pick", **start)
    run = next(r for r in runs if r.id == pick)
    if not run.out_dir:
        st.warning("this run recorded no output folder")
        return
    follow(ws, run.id, Allowed.from_env(ws), "train")  # loss curve, progress, error, stop/relaunch; live
    _extras(TrainingOutput(run.out_dir))
