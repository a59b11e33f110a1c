"""Lineage page: from any run, model or report, its chain back to the raw files and forward to what was made
from it, as a clickable graph (the graph `winnow lineage --json` prints, from `app.lineage.lineage`); and
each ablation report (`winnow ablate`) as a table and a chart."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import streamlit as st

from app.registry import RunRegistry
from app.ui import charts
from app.ui.confine import Allowed
from curation.errors import WinnowError

KIND_PAGE = {"curated": "Corpus", "mix": "Corpus", "eval": "Evaluation", "sft": "Training", "dpo": "Training"}
COLORS = {"raw-file": "#e0e0e0", "raw-folder": "#e0e0e0", "curated": "#c8e6c9", "mix": "#c8e6c9",
          "sft": "#bbdefb", "dpo": "#bbdefb", "model": "#bbdefb", "pretrain": "#bbdefb", "eval": "#ffe0b2",
          "ablation": "#e1bee7", "missing": "#ffcdd2"}


def _q(s: str) -> str:
    """A Graphviz quoted string (newlines become line breaks in the box)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(graph: Any) -> str:
    """Graphviz source: one box per artifact (colour by kind, red border when stale), an arrow from each
    parent to what was made from it; each box links to this page centred on it."""
    lines = ["digraph lineage {", "rankdir=LR;", 'node [shape=box, style="rounded,filled", fontsize=10];']
    for path, n in graph.nodes.items():
        name = Path(path).name or path
        label = "\n".join([n.kind, name, *([n.label] if n.label else [])]) + (" (stale)" if n.stale else "")
        url = "?" + urllib.parse.urlencode({"page": "Lineage", "target": path})
        attrs = [f"label={_q(label)}", f"fillcolor={_q(COLORS.get(n.kind, '#f5f5f5'))}", f"URL={_q(url)}",
                 'target="_self"', f"tooltip={_q(path)}"]
        if n.stale or not n.exists:
            attrs.append('color="red", penwidth=2')
        if path == graph.root:
            attrs.append("penwidth=3")
        lines.append(f"{_q(path)} [{', '.join(attrs)}];")
    for e in graph.edges:
        style = ' [color="red", label="changed since"]' if e.stale else ""
        lines.append(f"{_q(e.parent)} -> {_q(e.child)}{style};")
    lines.append("}")
    return "\n".join(lines)


def _targets(ws: Path) -> dict[str, str]:
    with RunRegistry(ws) as reg:
        runs = [r for r in reg.list(limit=500) if r.out_dir and Path(r.out_dir).is_dir()]
    out: dict[str, str] = {}
    for r in runs:
        if r.out_dir not in out.values():
            out[f"run {r.id} · {r.kind} · {Path(r.out_dir).name}"] = r.out_dir
    return out


def _ablation(folder: Path) -> None:
    path = folder / "ablation.json"
    try:
        rep = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        st.warning(f"{path}: {e}")
        return
    st.subheader(f"Ablation: {len(rep.get('arms', []))} arms against `{rep.get('first')}`")
    st.caption(f"{rep.get('budget_tokens', 0):,} tokens and {rep.get('steps')} steps per arm, seeds {rep.get('seeds')}")
    from app.ablate import SEED_NOTE, verdict

    if len(rep.get("seeds") or []) < 2:
        st.warning(SEED_NOTE)
    st.dataframe([{k: a.get(k) for k in ("name", "kept_docs", "kept_tokens", "sample_docs", "sample_tokens", "recipe")}
                  for a in rep.get("arms", [])], hide_index=True, width="stretch", key="abl_arms")
    for name, m in (rep.get("metrics") or {}).items():
        rows = []
        for arm, mean in (m.get("mean") or {}).items():
            d = (m.get("vs_first") or {}).get(arm) or {}
            lo, hi = (d.get("ci_items") or [None, None])[:2]
            rows.append({"arm": arm, "mean": mean, "seeds": ", ".join(f"{v:.4f}" for v in m["per_seed"][arm]),
                         "diff vs first": d.get("diff"), "CI low": lo, "CI high": hi,
                         "verdict": verdict(d, bool(m.get("lower_is_better")), str(rep.get("first"))) if d else ""})
        better = "lower is better" if m.get("lower_is_better") else "higher is better"
        st.markdown(f"**{name}** ({better}; {m.get('n_items')} items)")
        st.dataframe(rows, hide_index=True, width="stretch", key=f"abl_{name}")
        diffs = [{"benchmark": r["arm"], "B - A": r["diff vs first"], "CI low": r["CI low"], "CI high": r["CI high"]}
                 for r in rows if r["diff vs first"] is not None]
        if diffs:
            charts.draw(charts.deltas(diffs), key=f"abl_chart_{name}")


def render(ws: Path) -> None:
    st.header("Lineage")
    allowed = Allowed.from_env(ws)
    try:
        from app.lineage import lineage
    except ImportError as e:
        st.error(f"lineage is not available in this installation: {e}")
        return
    targets = _targets(ws)
    labels = [*targets, "a folder..."]
    pre = st.query_params.get("target")
    if pre:
        labels.insert(0, f"target: {pre}")
        targets[f"target: {pre}"] = pre
    choice = st.selectbox("from", labels, key="lin_target")
    raw = st.text_input("output folder", key="lin_path") if choice == "a folder..." else targets.get(choice)
    down = st.checkbox("also what was made from it (scans the workspace)", value=True, key="lin_down")
    if not raw:
        st.info("Pick a run or give an output folder.")
        return
    try:
        target = allowed.resolve(raw, "folder")
        graph = lineage(str(target), ws, down=down)
    except WinnowError as e:
        st.error(str(e))
        return
    st.graphviz_chart(dot(graph), width="stretch")
    st.caption("Click a box to centre the graph on it. Red: stale (an input changed after it was made) or missing.")
    rows = [{"kind": n.kind, "path": p, "label": n.label or "", "run": n.run_id, "stale": n.stale,
             "why stale": "; ".join(n.stale_reasons), "exists": n.exists} for p, n in graph.nodes.items()]
    st.dataframe(rows, hide_index=True, width="stretch", key="lin_nodes")
    for gap in graph.gaps:
        st.warning(f"gap: {gap}")
    opens = [p for p, n in graph.nodes.items() if n.kind in KIND_PAGE and n.exists]
    if opens:
        c1, c2 = st.columns([3, 1])
        pick = c1.selectbox("open in its page", opens, key="lin_open")
        kind = graph.nodes[pick].kind
        q = {"page": KIND_PAGE[kind], **({"run": pick} if KIND_PAGE[kind] == "Corpus" else {})}
        c2.link_button(f"open on {KIND_PAGE[kind]}", "?" + urllib.parse.urlencode(q))
    node = graph.nodes.get(graph.root)
    if node is not None and (Path(graph.root) / "ablation.json").is_file():
        _ablation(Path(graph.root))
    with st.expander("the graph as JSON (`winnow lineage --json`)"):
        st.json(graph.to_dict(), expanded=False)
