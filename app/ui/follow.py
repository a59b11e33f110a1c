"""Following one job: status, progress bar, live loss curve, its error, stop and relaunch.

Drawn inside `st.fragment(run_every=...)` by the Jobs and Training pages, so it refreshes itself every
couple of seconds without reloading the page, and stops refreshing once the job has ended.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import launcher
from app.registry import Run, RunRegistry
from app.ui import charts
from app.ui.common import STATUS_ICON, fmt_duration
from app.ui.confine import Allowed
from curation.errors import WinnowError
from training.output_reader import LOSS_SERIES, TrainingOutput

REFRESH_S = 2.0


def show_progress(out_dir: str | None) -> None:
    if not out_dir:
        return
    last = TrainingOutput(out_dir).progress()
    if last is None:
        st.caption("waiting for the first progress record")
        return
    line = launcher.format_progress(last)
    if last.get("total"):
        st.progress(min(1.0, max(0.0, last["done"] / last["total"])), text=line)
    else:
        st.caption(line)


def follow_next(key: str, run_id: int, message: str) -> None:
    """Make the page of `key` (jobs, runs, train) show run `run_id` from now on, and redraw the whole page: a
    button inside a fragment redraws only the fragment, whose body still shows the old run; each page reads
    `follow-{key}` before drawing its run picker."""
    st.session_state[f"follow-{key}"] = run_id
    st.session_state[f"follow-msg-{key}"] = message
    st.rerun(scope="app")


def followed(key: str, ids: list[int]) -> int | None:
    """The run the page of `key` was told to follow (a relaunch), once, if it is one of `ids`."""
    wanted = st.session_state.get(f"follow-{key}")
    if wanted is None or int(wanted) not in ids:
        return None
    del st.session_state[f"follow-{key}"]
    return int(wanted)


def show_run(ws: Path, run: Run, allowed: Allowed, key: str) -> None:
    """Everything about one run that changes while it runs."""
    msg = st.session_state.pop(f"follow-msg-{key}", None)
    if msg:
        st.success(msg)
    st.markdown(f"**Run {run.id}: {run.kind}** {STATUS_ICON.get(run.status, '')} {run.status} · "
                f"{fmt_duration(run.duration)}" + (f" · `{run.out_dir}`" if run.out_dir else ""))
    if run.config.get("argv"):
        st.code("winnow " + " ".join(run.config["argv"]), language="bash")
    if run.status in ("running", "queued"):
        show_progress(run.out_dir)
    if run.status in ("failed", "interrupted") and run.error:
        st.error(f"{run.status}: {run.error}")
    if run.kind.startswith("train") and run.out_dir:
        df = TrainingOutput(run.out_dir).curves(LOSS_SERIES)
        if df is not None:
            # eval loss (logged every N steps) is one line across the steps where only the loss was logged
            charts.draw(charts.lines(df, "loss", zero=False), key=f"loss-{key}-{run.id}")
        else:
            st.caption("no loss logged yet")
    if run.metrics:
        st.caption("metrics: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                           for k, v in run.metrics.items()))
    b1, b2, _ = st.columns([1, 1, 3])
    if run.status == "running" and b1.button("Stop", key=f"stop-{key}-{run.id}"):
        st.toast("interrupt sent (Ctrl-C)" if launcher.stop(run) else "the job is not running")
    if run.config.get("argv") and run.status not in ("running", "queued") and b2.button(
            "Relaunch", key=f"relaunch-{key}-{run.id}"):
        try:
            new_id = launcher.relaunch(ws, run, allowed)
        except WinnowError as e:
            st.error(str(e))
        else:
            follow_next(key, new_id, f"started run {new_id} (relaunch of run {run.id})")
    tail = launcher.log_tail(ws, run.id, 25)
    if tail:
        with st.expander("log"):
            st.code(tail, language=None)


def follow(ws: Path, run_id: int, allowed: Allowed, key: str) -> None:
    """Show run `run_id`, refreshing every REFRESH_S seconds while it is queued or running."""
    with RunRegistry(ws) as reg:
        run = reg.get(run_id)
    if run is None:
        st.warning(f"no run {run_id}")
        return
    live = run.status in ("queued", "running")

    def body() -> None:
        with RunRegistry(ws) as reg:
            current = reg.get(run_id)
        if current is not None:
            show_run(ws, current, allowed, key)
        if current is not None and live and current.status not in ("queued", "running"):
            st.rerun()  # the job ended: redraw once without the timer

    if live:
        st.fragment(run_every=REFRESH_S)(body)()
    else:
        body()
