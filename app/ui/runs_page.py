"""Runs page: every job in the registry, live progress of running ones, stop and relaunch."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import launcher
from app.registry import Run, RunRegistry
from app.ui.common import STATUS_ICON, fmt_duration, fmt_metrics, fmt_time
from app.ui.confine import Allowed
from app.ui.follow import followed, show_run


def _table(runs: list[Run]) -> list[dict]:
    return [{"id": r.id, "kind": r.kind, "status": f"{STATUS_ICON.get(r.status, '')} {r.status}",
             "started": fmt_time(r.started or r.created), "duration": fmt_duration(r.duration),
             "progress": launcher.progress_line(r.out_dir) if r.status == "running" else "",
             "metrics": fmt_metrics(r.metrics), "out_dir": r.out_dir or ""} for r in runs]


def _body(ws: Path) -> None:
    with RunRegistry(ws) as reg:
        runs = reg.list(limit=500)
    if not runs:
        st.info("No runs recorded yet: start one on the Jobs page or with `winnow curate` in a shell.")
        return
    new = followed("runs", [r.id for r in runs])
    if new is not None:  # a relaunch: show the new run, whatever the filters hid
        st.session_state.update({"runs_kind": "all", "runs_status": "all", "runs_pick": new})
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
        show_run(ws, run, Allowed.from_env(ws), "runs")
        st.markdown("**Config**")
        st.json(run.config, expanded=False)


def render(ws: Path) -> None:
    st.header("Runs")
    st.caption(f"workspace `{ws}`")
    with RunRegistry(ws) as reg:
        live = bool(reg.list(status="running", limit=1) or reg.list(status="queued", limit=1))
    if live:  # follow running jobs without blocking the rest of the app
        st.fragment(run_every=2.0)(_body)(ws)
    else:
        _body(ws)
