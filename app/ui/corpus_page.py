"""Corpus page: a curation run's counts, removals by rule, documents and why each was removed,
signal histograms with the recipe's thresholds, and the quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import polars as pl
import streamlit as st

from app.registry import RunRegistry
from app.ui import corpus_data as cd
from curation.errors import WinnowError

PAGE_SIZE = 100


@st.cache_data(show_spinner=False, max_entries=64)
def _browse(run: str, mtime: float, status: str, rule: str | None, search: str | None,
            offset: int) -> tuple[pl.DataFrame, int]:
    return cd.browse(run, status, rule, search, limit=PAGE_SIZE, offset=offset)


@st.cache_data(show_spinner=False, max_entries=32)
def _histogram(run: str, mtime: float, step: str, column: str, bins: int) -> tuple[pl.DataFrame, int]:
    return cd.histogram(run, step, column, bins)


def _pick_run(ws: Path) -> Path | None:
    with RunRegistry(ws) as reg:
        runs = [r for r in reg.list(limit=500) if r.kind in ("curate", "mix") and r.out_dir]
    options: dict[str, str] = {}
    for r in runs:
        if r.out_dir not in options.values() and cd.is_run_dir(r.out_dir):
            options[f"run {r.id} · {r.kind} · {Path(r.out_dir).name} ({r.status})"] = r.out_dir
    labels = [*options, "another folder..."]
    pre = st.query_params.get("run")
    if pre:
        labels.insert(0, pre)
        options[pre] = pre
    choice = st.selectbox("curation run", labels, key="corpus_run")
    if choice == "another folder...":
        path = st.text_input("run folder (the --out of winnow curate)", key="corpus_path")
        return Path(path).expanduser() if path else None
    return Path(options[choice])


def _overview(manifest: dict) -> None:
    cols = st.columns(4)
    for col, key in zip(cols, ("input", "kept", "removed", "quarantined"), strict=True):
        col.metric(key, f"{manifest.get(key, 0):,}")
    by_rule = cd.removals_by_rule(manifest)
    if by_rule.height:
        chart = alt.Chart(by_rule.to_pandas()).mark_bar().encode(
            x=alt.X("removed:Q", title="documents removed (first failing rule)"),
            y=alt.Y("rule:N", sort="-x", title=None), tooltip=["rule", "removed"])
        st.altair_chart(chart, width="stretch")
    skipped = manifest.get("skipped_signals") or {}
    for name, why in skipped.items():
        st.caption(f"signal {name} skipped: {why}")


def _explain(run: Path, doc_id: str) -> None:
    doc = cd.document(run, doc_id)
    if doc is None:
        st.warning(f"no document {doc_id}")
        return
    rem = doc["removed"]
    if rem:
        value = f"{rem['value']:.4g}" if rem.get("value") is not None else "-"
        also = [r for r in (rem.get("rules") or []) if r != rem["rule"]]
        st.error(f"**Removed by rule `{rem['rule']}`** · value {value}"
                 + (f" · {rem['detail']}" if rem.get("detail") else "")
                 + (f" · also failed: {', '.join(also)}" if also else ""))
    else:
        st.success("Kept")
    meta = {"id": doc["id"], "source": doc.get("source")}
    if doc.get("metadata"):
        try:
            meta["metadata"] = json.loads(doc["metadata"]) if isinstance(doc["metadata"], str) else doc["metadata"]
        except json.JSONDecodeError:
            meta["metadata"] = doc["metadata"]
    if doc["kept_copy"]:
        left, right = st.columns(2)
        left.markdown(f"**This document** `{doc['id']}`")
        left.text_area("removed text", doc["text"], height=300, key=f"txt-{doc_id}")
        right.markdown(f"**Kept copy** `{doc['kept_copy']['id']}`")
        right.text_area("kept text", doc["kept_copy"]["text"], height=300, key=f"kept-{doc_id}")
    else:
        st.text_area("text", doc["text"], height=250, key=f"txt-{doc_id}")
    sig_rows = [{"step": step, "signal": k, "value": str(v)} for step, vals in doc["signals"].items()
                for k, v in vals.items()]
    c1, c2 = st.columns([2, 1])
    c1.markdown("**Signals**")
    c1.dataframe(sig_rows, hide_index=True, width="stretch")
    c2.markdown("**Source**")
    c2.json(meta, expanded=False)


def _documents(run: Path, mtime: float) -> None:
    c1, c2, c3 = st.columns([1, 1, 2])
    shows = ["all", "kept", "removed"]
    wanted = st.query_params.get("show")
    status = c1.selectbox("show", shows, index=shows.index(wanted) if wanted in shows else 0, key="corpus_status")
    rules = ["any", *cd.rules_removed(run)]
    wanted = st.query_params.get("rule")
    rule = c2.selectbox("removed by rule", rules, index=rules.index(wanted) if wanted in rules else 0,
                        key="corpus_rule")
    search = c3.text_input("text contains", key="corpus_search")
    page_no = st.number_input("page", min_value=1, value=1, step=1, key="corpus_page")
    page, total = _browse(str(run), mtime, status, None if rule == "any" else rule, search or None,
                          (int(page_no) - 1) * PAGE_SIZE)
    st.caption(f"{total:,} documents match; showing {page.height} from #{(int(page_no) - 1) * PAGE_SIZE + 1}")
    if page.height == 0:
        return
    event = st.dataframe(page, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key="corpus_table")
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    ids = page["id"].to_list()
    default = ids[rows[0]] if rows else ids[0]
    doc_id = st.selectbox("document", ids, index=ids.index(default), key=f"corpus_doc_{default}")
    _explain(run, doc_id)


def _signals(run: Path, mtime: float) -> None:
    steps = cd.signal_steps(run)
    if not steps:
        st.info("this run stored no signals")
        return
    c1, c2, c3 = st.columns([1, 1, 1])
    ruled = [s for s in steps if any(cd.thresholds(run, s, c) for c in cd.numeric_columns(run, s))]
    step = c1.selectbox("signal step", steps, index=steps.index(ruled[0]) if ruled else 0,
                        key="hist_step")  # a step with a threshold rule first
    cols = cd.numeric_columns(run, step)
    if not cols:
        st.info(f"{step} has no numeric columns")
        return
    rule_cols = [t for t in cols if cd.thresholds(run, step, t)]
    column = c2.selectbox("column", cols, index=cols.index(rule_cols[0]) if rule_cols else 0,
                          key=f"hist_col_{step}")
    bins = c3.slider("bins", 10, 100, 40, key="hist_bins")
    hist, nulls = _histogram(str(run), mtime, step, column, bins)
    if hist.height == 0:
        st.info("no values")
        return
    bars = alt.Chart(hist.to_pandas()).mark_bar().encode(
        x=alt.X("start:Q", bin="binned", title=column), x2="end:Q", y=alt.Y("count:Q", title="documents"),
        tooltip=["start", "end", "count"])
    layers = [bars]
    lines = [{"name": f"{t['name']} ({k} {t[k]:g})", "at": t[k]} for t in cd.thresholds(run, step, column)
             for k in ("min", "max") if t[k] is not None]
    if lines:
        layers.append(alt.Chart(pl.DataFrame(lines).to_pandas()).mark_rule(color="red", strokeWidth=2).encode(
            x="at:Q", tooltip=["name"]))
        st.caption("red line: " + "; ".join(ln["name"] for ln in lines))
    st.altair_chart(alt.layer(*layers), width="stretch")
    if nulls:
        st.caption(f"{nulls:,} documents have no value (a rule does not fire on them)")


def render(ws: Path) -> None:
    st.header("Corpus")
    run = _pick_run(ws)
    if run is None:
        st.info("Pick a curation run, or give the folder of one.")
        return
    try:
        manifest = cd.load_manifest(run)
    except WinnowError as e:
        st.error(str(e))
        return
    mtime = (run / "manifest.json").stat().st_mtime  # a re-mix invalidates the caches
    st.caption(f"`{run}` · recipe {manifest.get('recipe', {}).get('name', '?')}")
    _overview(manifest)
    tab_docs, tab_sig, tab_q = st.tabs(["Documents", "Signals", "Quarantine"])
    with tab_docs:
        _documents(run, mtime)
    with tab_sig:
        _signals(run, mtime)
    with tab_q:
        q = cd.quarantine(run)
        if q.height:
            st.dataframe(q, hide_index=True, width="stretch")
        else:
            st.caption("no malformed input lines")
