"""Evaluation page: runs of kind eval*, each report's headline scores, and a paired comparison of two
reports through `winnow eval compare A B --format json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import streamlit as st

from app.registry import RunRegistry
from app.ui.common import STATUS_ICON, fmt_duration


def load_report(folder: str | Path) -> dict[str, Any] | None:
    path = Path(folder) / "report.json"
    if not path.is_file():
        return None
    try:
        rep = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    return rep if isinstance(rep, dict) else None


def model_path(rep: dict[str, Any] | None) -> str:
    model = ((rep or {}).get("fingerprint") or {}).get("model")
    return str(model.get("path", "")) if isinstance(model, dict) else str(model or "")


def score_rows(rep: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for bench, s in (rep.get("scores") or {}).items():
        if not isinstance(s, dict):
            continue
        rows.append({"benchmark": bench, "metric": s.get("label", s.get("metric")), "value": s.get("value"),
                     "stderr": s.get("stderr"), "n": s.get("n")})
    return rows


def run_compare(a: str, b: str, timeout: float = 300) -> tuple[dict[str, Any] | None, str | None]:
    """`winnow eval compare A B --format json` in a subprocess: (result, None) or (None, why not)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "app.cli", "eval", "compare", a, b, "--format", "json"],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"compare took more than {timeout:.0f} s"
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        return None, f"compare is not available for these reports: {err}"
    try:
        return json.loads(proc.stdout), None
    except json.JSONDecodeError:
        return None, "compare did not print JSON: " + proc.stdout[:300]


def _show_compare(result: dict[str, Any]) -> None:
    labels = [chr(ord("A") + i) for i in range(len(result.get("reports", [])))]
    for lab, rep, model in zip(labels, result.get("reports", []), result.get("models", []), strict=False):
        st.caption(f"{lab}: `{rep}` ({model})")
    table = [{"benchmark": r.get("benchmark"), "metric": r.get("metric"),
              **{lab: (s or {}).get("value") for lab, s in zip(labels, r.get("scores", []), strict=False)}}
             for r in result.get("table", [])]
    if table:
        st.dataframe(table, hide_index=True, width="stretch")
    paired = []
    for p in result.get("paired", []) or []:
        bs, mc = p.get("bootstrap") or {}, p.get("mcnemar") or {}
        paired.append({"benchmark": p.get("benchmark"), "pairs": p.get("n_pairs"), "B - A": bs.get("diff"),
                       "CI low": bs.get("ci_low"), "CI high": bs.get("ci_high"),
                       "McNemar p": mc.get("p_value")})
    if paired:
        st.markdown("**Paired over shared samples** (bootstrap 95% CI, McNemar exact test)")
        st.dataframe(paired, hide_index=True, width="stretch")
    for w in result.get("warnings", []) or []:
        st.warning(w)
    with st.expander("raw JSON"):
        st.json(result)


def render(ws: Path) -> None:
    st.header("Evaluation")
    with RunRegistry(ws) as reg:
        runs = [r for r in reg.list(limit=500) if r.kind.startswith("eval") and r.out_dir]
    if not runs:
        st.info("No evaluation runs yet: `winnow eval run --model ... --out ...`.")
        return
    reports = {r.id: load_report(r.out_dir) for r in runs}
    st.dataframe([{"id": r.id, "status": f"{STATUS_ICON.get(r.status, '')} {r.status}",
                   "duration": fmt_duration(r.duration),
                   "model": model_path(reports[r.id]),
                   **{f"{row['benchmark']}": row["value"] for row in score_rows(reports[r.id] or {})},
                   "out_dir": r.out_dir} for r in runs], hide_index=True, width="stretch")
    with_report = [r for r in runs if reports[r.id]]
    if not with_report:
        st.info("no report.json written yet")
        return
    pick = st.selectbox("report", [r.id for r in with_report], format_func=lambda i: f"run {i}", key="eval_pick")
    run = next(r for r in with_report if r.id == pick)
    rep = reports[pick] or {}
    st.dataframe(score_rows(rep), hide_index=True, width="stretch")
    png = Path(run.out_dir) / "scores.png"
    if png.is_file():
        st.image(str(png))
    with st.expander("fingerprint"):
        st.json(rep.get("fingerprint") or {}, expanded=False)
    st.subheader("Compare two reports")
    if len(with_report) < 2:
        st.caption("needs two runs with a report")
        return
    ids = [r.id for r in with_report]
    c1, c2 = st.columns(2)
    a = c1.selectbox("A (baseline)", ids, index=1, format_func=lambda i: f"run {i}", key="eval_a")
    b = c2.selectbox("B", ids, index=0, format_func=lambda i: f"run {i}", key="eval_b")
    if st.button("Compare", key="eval_compare"):
        if a == b:
            st.warning("pick two different reports")
            return
        out = {r.id: r.out_dir for r in with_report}
        with st.spinner("winnow eval compare ..."):
            result, err = run_compare(str(out[a]), str(out[b]))
        if err:
            st.warning(err)
        else:
            _show_compare(result or {})
