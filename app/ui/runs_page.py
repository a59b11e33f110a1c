"""Runs page: every job in the registry, live progress of running ones, stop and relaunch."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import launcher
from app.registry import Run, RunRegistry
from app.ui.common import STATUS_ICON, fmt_duration, fmt_metrics, fmt_time
from curation.progress import read_progress


def _table(runs: list[Run]) -> list[dict]:
    return [{"id": r.id, "kind": r.kind, "status": f"{STATUS_ICON.get(r.status, '')} {r.status}",
             "started": fmt_time(r.started or r.created), "duration": fmt_duration(r.duration),
             "progress": launcher.progress_line(r.out_dir) if r.status == "running" else "",
             "metrics": fmt_metrics(r.metrics), "out_dir": r.out_dir or ""} for r in runs]


def _details(ws: Path, run: Run) -> None:
    st.subheader(f"Run {run.id}: {run.kind} ({run.status})")
    cols = st.columns(3)
    cols[0].metric("status", run.status)
    cols[1].metric("duration", fmt_duration(run.duration))
    cols[2].metric("started", fmt_time(run.started))
    if run.error:
        st.error(run.error)
    if run.status == "running":
        line = launcher.progress_line(run.out_dir)
        recs = read_progress(run.out_dir) if run.out_dir else []
        last = recs[-1] if recs else None
        if last and last.get("total"):
            st.progress(min(1.0, last["done"] / last["total"]), text=line)
        else:
            st.caption(line or "waiting for the first progress record")
    if run.metrics:
        st.markdown("**Headline metrics**")
        st.json(run.metrics)
    st.markdown("**Config**")
    st.json(run.config, expanded=False)
    if run.out_dir:
        st.caption(f"output: `{run.out_dir}`")
    b1, b2 = st.columns(2)
    if run.status == "running" and b1.button("Stop (Ctrl-C)", key=f"stop-{run.id}"):
        st.toast("interrupt sent" if launcher.stop(run) else "the job is not running")
    if run.config.get("argv") and run.status != "running" and b2.button(
            "Relaunch (resumes a killed curation)", key=f"relaunch-{run.id}"):
        new_id = launcher.relaunch(ws, run)
        st.success(f"started run {new_id}")
    tail = launcher.log_tail(ws, run.id)
    if tail:
        with st.expander("log"):
            st.code(tail, language=None)


def _body(ws: Path) -> None:
    with RunRegistry(ws) as reg:
        runs = reg.list(limit=500)
    if not runs:
        st.info("No runs recorded yet: start one on the Launch page or with `winnow curate` in a shell.")
        return
    kinds = sorted({r.kind for r in runs})
    c1, c2 = st.columns(2)
    kind = c1.selectbox("kind", ["all", *kinds], key="runs_kind")
    status = c2.selectbox("status", ["all", "queued", "running", "done", "failed", "interrupted"],
                          key="runs_status")
    shown = [r for r in runs if (kind == "all" or r.kind == kind) and (status == "all" or r.status == status)]
    st.dataframe(_table(shown), hide_index=True, width="stretch")
    if shown:
        ids = [r.id for r in shown]
        pick = st.selectbox("details of run", ids, key="runs_pick")
        run = next(r for r in shown if r.id == pick)
        _details(ws, run)


def render(ws: Path) -> None:
    st.header("Runs")
    st.caption(f"workspace `{ws}`")
    st.button("Refresh", key="runs_refresh")
    with RunRegistry(ws) as reg:
        live = bool(reg.list(status="running", limit=1) or reg.list(status="queued", limit=1))
    if live:  # follow running jobs without blocking the rest of the app
        st.fragment(run_every=2.0)(_body)(ws)
    else:
        _body(ws)
