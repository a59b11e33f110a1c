"""Evaluation page: each report's scores with 95% error bars, the paired comparison of two reports, the
items each model alone got right, the samples they disagree on (question, choices, each model's choice),
and the clean/contaminated split when a report has one. Read through `evaluation.report_reader`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from app.registry import RunRegistry
from app.ui import charts
from app.ui.common import STATUS_ICON, fmt_duration
from curation.errors import WinnowError
from evaluation.compare import paired_notes
from evaluation.report_reader import ReportReader, disagreements


def _reader(folder: str) -> ReportReader | None:
    try:
        return ReportReader(folder)
    except WinnowError:
        return None


@st.cache_data(show_spinner="paired comparison ...", max_entries=16)
def _compare(a: str, b: str, force: bool) -> tuple[dict[str, Any] | None, str | None]:
    from evaluation.compare import compare

    try:
        return compare([Path(a), Path(b)], force=force, iters=2000), None
    except WinnowError as e:
        return None, str(e)


@st.cache_data(show_spinner=False, max_entries=16)
def _disagreements(a: str, b: str, bench: str) -> list[dict[str, Any]]:
    return disagreements(ReportReader(a), ReportReader(b), bench)


def paired_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in result.get("paired", []) or []:
        bs, mc = p.get("bootstrap") or {}, p.get("mcnemar") or {}
        out.append({"benchmark": p.get("benchmark"), "pairs": p.get("n_pairs"), "A": p.get("mean_a"),
                    "B": p.get("mean_b"), "B - A": bs.get("diff"), "CI low": bs.get("ci_low"),
                    "CI high": bs.get("ci_high"), "only A right": mc.get("only_a_correct"),
                    "only B right": mc.get("only_b_correct"), "McNemar p": mc.get("p_value")})
    return out


def _show_compare(a: str, b: str) -> None:
    force = st.checkbox("compare even if the fingerprints differ (--force)", key="eval_force")
    result, err = _compare(a, b, force)
    if err:
        st.warning(err)
        return
    assert result is not None
    for w in result.get("warnings", []) or []:
        st.caption(f"note: {w}")
    rows = paired_rows(result)
    if not rows:
        st.info("no benchmark in common")
        return
    st.markdown("**Paired over shared samples** (bootstrap 95% CI of B - A, McNemar exact test)")
    st.dataframe(rows, hide_index=True, width="stretch", key="eval_paired")
    for note in paired_notes(result):
        st.caption(f"note: {note}")
    charts.draw(charts.deltas([{k: r[k] for k in ("benchmark", "B - A", "CI low", "CI high")} for r in rows]))
    benches = [r["benchmark"] for r in rows]
    bench = st.selectbox("samples where the two models disagree, on", benches, key="eval_dis_bench")
    dis = _disagreements(a, b, bench)
    only_a = sum(1 for d in dis if d["right"] == "A")
    st.caption(f"{len(dis)} disagreements: A alone right on {only_a}, B alone right on {len(dis) - only_a}")
    if not dis:
        return
    table = [{"task": d["task"], "doc_id": d["doc_id"], "right": d["right"], "A picked": d["A picked"],
              "B picked": d["B picked"], "answer": d["answer"], "question": d["question"][-200:]} for d in dis]
    event = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key="eval_dis_table")
    sel = event.selection.rows if event is not None and hasattr(event, "selection") else []
    labels = [f"{d['task']} #{d['doc_id']}" for d in dis]
    idx = sel[0] if sel else 0
    choice = st.selectbox("sample", labels, index=idx, key=f"eval_dis_pick_{bench}_{idx}")
    d = dis[labels.index(choice)]
    st.markdown("**Question**")
    st.text(d["question"])
    marks = []
    for c in d["choices"]:
        tags = [t for t, hit in (("answer", c == d["answer"]), ("A", c == d["A picked"]), ("B", c == d["B picked"]))
                if hit]
        marks.append({"choice": c.strip(), "marks": ", ".join(tags)})
    right = (d[d["right"] + " picked"] or "").strip()
    st.dataframe(marks, hide_index=True, width="stretch", key="eval_dis_choices")
    st.markdown(f"Model {d['right']} is right: it picked **{right}**.")


PPL_FIELDS = {"word_perplexity": "word perplexity", "byte_perplexity": "byte perplexity",
              "bits_per_byte": "bits per byte"}


def perplexity_of(rd: ReportReader) -> dict[str, Any]:
    """The report's perplexity on held-out text (`eval run --perplexity`, what ablate runs), by its shown
    label; empty when the report has none."""
    p = rd.report.get("perplexity")
    if not isinstance(p, dict):
        return {}
    return {label: p[k] for k, label in PPL_FIELDS.items() if isinstance(p.get(k), int | float)}


def _show_perplexity(rd: ReportReader) -> None:
    ppl = perplexity_of(rd)
    if not ppl:
        return
    p = rd.report.get("perplexity") or {}
    st.markdown("**Perplexity on held-out text**" + (f" (`{p['file']}`)" if p.get("file") else "")
                + ": lower is better")
    cols = st.columns(len(ppl))
    for col, (label, v) in zip(cols, ppl.items(), strict=True):
        col.metric(label, f"{v:.4g}")


def render(ws: Path) -> None:
    st.header("Evaluation")
    with RunRegistry(ws) as reg:
        runs = [r for r in reg.list(limit=500) if r.kind.startswith("eval") and r.out_dir]
    readers = {r.id: _reader(r.out_dir) for r in runs}
    with_report = [r for r in runs if readers[r.id] is not None]
    if not with_report:
        st.info("No evaluation reports yet: start `eval run` on the Jobs page, or `winnow eval run ...`.")
        return
    st.dataframe([{"id": r.id, "status": f"{STATUS_ICON.get(r.status, '')} {r.status}",
                   "duration": fmt_duration(r.duration), "model": readers[r.id].model,
                   **{row["benchmark"]: row["value"] for row in readers[r.id].scores()},
                   **perplexity_of(readers[r.id]), "out_dir": r.out_dir} for r in with_report],
                 hide_index=True, width="stretch")
    ids = [r.id for r in with_report]
    pick = st.selectbox("report", ids, format_func=lambda i: f"run {i}", key="eval_pick")
    rd = readers[pick]
    assert rd is not None
    rows = rd.scores()
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", key="eval_scores")
    elif not perplexity_of(rd):
        st.info("this report holds no benchmark scores and no perplexity")
    _show_perplexity(rd)
    if any(r["value"] is not None for r in rows):
        charts.draw(charts.scores([r for r in rows if r["value"] is not None]))
    split = rd.contamination()
    if split:
        st.markdown("**Clean vs contaminated items** (items found in the training data)")
        st.dataframe(split, hide_index=True, width="stretch", key="eval_contam")
        unsure = sum(r["ambiguous n"] or 0 for r in split)
        if unsure:
            st.caption(f"{unsure} item(s) are in neither part: the training data's signal (curated before "
                       "2026-12-01) found them without naming their split, and another split has an item of the "
                       "same id")
        runs, unchecked = rd.contamination_runs()
        st.caption("training data checked: " + ", ".join(runs))
        if unchecked:
            st.warning(f"not checked (no decontamination signal): {', '.join(unchecked)}; benchmark items they "
                       "hold count as clean")
    with st.expander("fingerprint"):
        st.json(rd.fingerprint, expanded=False)
    st.subheader("Compare two reports")
    if len(with_report) < 2:
        st.caption("needs two runs with a report")
        return
    c1, c2 = st.columns(2)
    a = c1.selectbox("A (baseline)", ids, index=1, format_func=lambda i: f"run {i}", key="eval_a")
    b = c2.selectbox("B", ids, index=0, format_func=lambda i: f"run {i}", key="eval_b")
    if a == b:
        st.warning("pick two different reports")
        return
    both = []
    for lab, rid in (("A", a), ("B", b)):
        both += [{**r, "report": f"{lab}: run {rid}"} for r in readers[rid].scores() if r["value"] is not None]
    if both:
        charts.draw(charts.scores(both, group="report"))
    folders = {r.id: r.out_dir for r in with_report}
    _show_compare(str(folders[a]), str(folders[b]))
