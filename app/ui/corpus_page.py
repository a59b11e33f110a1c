"""Corpus page: a curated run's counts, live re-thresholding, documents and why each was removed, signal
histograms, the quarantine; or a raw JSONL/Parquet corpus file.

Everything is read through `curation.run_reader.RunReader`; this module only lays it out.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import time
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from app import launcher
from app.registry import RunRegistry
from app.ui import charts
from app.ui.common import workspace_from
from app.ui.confine import Allowed
from curation.errors import WinnowError
from curation.recipe import Recipe, Rule
from curation.run_folder import manifest_kind
from curation.run_reader import Counts, Recounter, RunReader, SignalFilter, histogram_of, is_run_dir

PAGE_SIZE = 100
DIFF_WORDS = 4000  # word diff of longer documents covers their start
OPS = [">=", "<=", ">", "<", "==", "!="]


# -- cached reads (keyed by the run's manifest mtime, so a re-mix invalidates them) ---------------------------
@st.cache_resource(show_spinner=False, max_entries=4)
def reader_of(run: str, mtime: float) -> RunReader:
    """One reader per run, shared by sessions: its document table is read once (and kept in the workspace
    cache between app starts)."""
    return RunReader(run, cache_dir=table_cache(workspace_from()))


def table_cache(ws: Path) -> str:
    return str(ws / "cache" / "corpus")


@st.cache_data(show_spinner=False, max_entries=64)
def _page(run: str, mtime: float, status: str, rule: str | None, search: str | None,
          filters: tuple[tuple[str, str, str, Any], ...], sort: tuple[str, bool] | None,
          offset: int, whole_words: bool) -> tuple[pl.DataFrame, int | None]:
    flt = [SignalFilter(*f) for f in filters]
    return reader_of(run, mtime).page(status, rule, search, flt, sort, limit=PAGE_SIZE, offset=offset,
                                      whole_words=whole_words)


@st.cache_data(show_spinner=False, max_entries=32)
def _histogram(run: str, mtime: float, step: str, column: str, bins: int) -> tuple[pl.DataFrame, int]:
    return reader_of(run, mtime).histogram(step, column, bins)


@st.cache_resource(show_spinner="loading every rule's column for live recounts ...", max_entries=2)
def recounter(run: str, mtime: float) -> Recounter:
    return reader_of(run, mtime).recounter()


# -- picking what to show ---------------------------------------------------------------------------------


def curated_problem(path: Path) -> str | None:
    """Why `path` is not a curated run or mix this page can open, else None. Eval reports, models, samples and
    ablations also write a manifest.json (is_run_dir is true for them): their manifest names their kind."""
    if not is_run_dir(path):
        return f"{path}: not a finished curation run (no manifest.json)"
    kind = manifest_kind(path)
    if kind is not None:  # curate and mix write no top-level kind in their manifest; every other command does
        return (f"{path} is not a curated run or mix (its manifest says kind {kind!r}): open it on the "
                f"{_page_of(kind)} page")
    return None


def _page_of(kind: str) -> str:
    """The page that shows an output folder of this manifest kind (the Corpus page shows curated runs only)."""
    return ("Evaluation" if kind.startswith("eval") else "Training" if kind.startswith("train") else
            "Guardrails" if kind.startswith("guard") else "Lineage" if kind in ("ablation", "sample") else "Runs")


def is_curated(path: str | Path) -> bool:
    return curated_problem(Path(path)) is None


def _pick(ws: Path, allowed: Allowed) -> tuple[str, Path] | None:
    """('run', folder) or ('file', corpus file): from the registry, the URL (?run= / ?file=) or typed."""
    with RunRegistry(ws) as reg:
        runs = [r for r in reg.list(limit=500) if r.out_dir]
    options: dict[str, str] = {}
    for r in runs:
        if r.out_dir not in options.values() and is_curated(r.out_dir):
            options[f"run {r.id} · {r.kind} · {Path(r.out_dir).name} ({r.status})"] = r.out_dir
    labels = [*options, "another run folder...", "a raw JSONL/Parquet file..."]
    for key in ("run", "file"):
        pre = st.query_params.get(key)
        if pre:
            try:
                path = allowed.resolve(pre, "?" + key)
            except WinnowError as e:
                st.error(str(e))
                return None
            label = f"{key}: {pre}"
            labels.insert(0, label)
            options[label] = str(path)
            if key == "file":
                options[label] = "file:" + str(path)
    choice = st.selectbox("what to open", labels, key="corpus_run")
    typed = None
    if choice == "another run folder...":
        typed = ("run", st.text_input("run folder (the --out of winnow curate or mix)", key="corpus_path"))
    elif choice == "a raw JSONL/Parquet file...":
        typed = ("file", st.text_input("corpus file (.jsonl, .jsonl.gz, .parquet)", key="corpus_file"))
    if typed is not None:
        if not typed[1].strip():
            return None
        try:
            return typed[0], allowed.resolve(typed[1], "path")
        except WinnowError as e:
            st.error(str(e))
            return None
    val = options[choice]
    return ("file", Path(val[5:])) if val.startswith("file:") else ("run", Path(val))


# -- overview and rule chart ---------------------------------------------------------------------------------
def _overview(reader: RunReader) -> None:
    m = reader.manifest
    cols = st.columns(4)
    for col, key in zip(cols, ("input", "kept", "removed", "quarantined"), strict=True):
        col.metric(key, f"{m.get(key, 0):,}")
    by_rule = m.get("by_rule") or {}
    if by_rule:
        charts.draw(charts.rule_bars(by_rule, "documents removed (first failing rule)"))
    for name, why in (m.get("skipped_signals") or {}).items():
        st.caption(f"signal {name} skipped: {why}")
    if reader.parent is not None:
        st.caption(f"mixed from `{reader.parent}` (documents and signals read there, in place)")


# -- one document ------------------------------------------------------------------------------------------
def highlight_spans(text: str, spans: list[dict[str, Any]]) -> str:
    """HTML of the text with each PII span marked and labelled by its entity type (escaped)."""
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: (s.get("start", 0), -s.get("end", 0))):
        start, end = int(s.get("start", 0)), int(s.get("end", 0))
        if start < pos or end <= start:
            continue  # overlapping span: the first one is shown
        out.append(html.escape(text[pos:start]))
        label = html.escape(str(s.get("entity_type", "PII")))
        out.append(f'<mark title="{label}" style="background:#ffd54f">{html.escape(text[start:end])}'
                   f'<sub style="color:#8a6d00">{label}</sub></mark>')
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def word_diff(kept: str, this: str, limit: int = DIFF_WORDS) -> tuple[str, int, int]:
    """HTML word-level diff of this document against the kept copy: words only here are green (<ins>), words
    only in the kept copy struck red (<del>). Returns (html, words added, words removed)."""
    a, b = re.findall(r"\S+|\s+", kept)[: 2 * limit], re.findall(r"\S+|\s+", this)[: 2 * limit]
    sm = SequenceMatcher(a=a, b=b, autojunk=False)
    out: list[str] = []
    added = removed = 0
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out.append(html.escape("".join(b[j1:j2])))
            continue
        if i2 > i1:
            words = "".join(a[i1:i2])
            if words.strip():
                removed += sum(1 for w in a[i1:i2] if w.strip())
                out.append(f'<del style="background:#ffcdd2">{html.escape(words)}</del>')
        if j2 > j1:
            words = "".join(b[j1:j2])
            if words.strip():
                added += sum(1 for w in b[j1:j2] if w.strip())
                out.append(f'<ins style="background:#c8e6c9">{html.escape(words)}</ins>')
            else:
                out.append(html.escape(words))
    return "".join(out), added, removed


def _box(body: str) -> str:
    return ('<div style="white-space:pre-wrap;max-height:360px;overflow:auto;border:1px solid #ddd;'
            f'padding:8px;border-radius:4px;font-size:0.9em">{body}</div>')


def _explain(reader: RunReader, doc_id: str) -> None:
    doc = reader.document(doc_id)
    if doc is None:
        st.warning(f"no document {doc_id}")
        return
    rem = doc.removed
    if rem:
        value = f"{rem['value']:.4g}" if rem.get("value") is not None else "-"
        also = [r for r in (rem.get("rules") or []) if r != rem["rule"]]
        st.error(f"**Removed by rule `{rem['rule']}`** · value {value}"
                 + (f" · {rem['detail']}" if rem.get("detail") else "")
                 + (f" · also failed: {', '.join(also)}" if also else ""))
    else:
        st.success("Kept")
    if doc.kept_copy:
        body, added, gone = word_diff(doc.kept_copy["text"], doc.text)
        st.markdown(f"**Near-duplicate of the kept copy** `{doc.kept_copy['id']}`: {added} words only here "
                    f"(green), {gone} words only in the kept copy (struck)")
        st.markdown(_box(body), unsafe_allow_html=True)
        left, right = st.columns(2)
        left.text_area("removed text", doc.text, height=200, key=f"txt-{doc_id}")
        right.text_area("kept text", doc.kept_copy["text"], height=200, key=f"kept-{doc_id}")
        members = reader.cluster(doc_id)
        if members.height:
            st.markdown(f"**Cluster**: {members.height} members")
            st.dataframe(members, hide_index=True, width="stretch", key=f"cluster-{doc_id}")
    elif doc.pii_spans:
        kinds = sorted({s.get("entity_type", "?") for s in doc.pii_spans})
        st.markdown(f"**PII found**: {len(doc.pii_spans)} spans ({', '.join(kinds)})")
        st.markdown(_box(highlight_spans(doc.text, doc.pii_spans)), unsafe_allow_html=True)
    else:
        st.text_area("text", doc.text, height=250, key=f"txt-{doc_id}")
    if doc.kept_text is not None and doc.kept_text != doc.text:
        st.markdown("**As written to the curated corpus** (scrubbed)")
        st.text_area("kept (scrubbed) text", doc.kept_text, height=200, key=f"scrub-{doc_id}")
    sig_rows = [{"step": step, "signal": k, "value": str(v)} for step, vals in doc.signals.items()
                for k, v in vals.items()]
    c1, c2 = st.columns([2, 1])
    c1.markdown("**Signals**")
    c1.dataframe(sig_rows, hide_index=True, width="stretch")
    c2.markdown("**Source**")
    c2.json({"id": doc.id, "source": doc.source, "metadata": doc.metadata}, expanded=False)


# -- documents table ----------------------------------------------------------------------------------------
def _filters_ui(reader: RunReader) -> tuple[list[tuple[str, str, str, Any]], tuple[str, bool] | None]:
    cols = reader.filterable_columns()
    with st.expander("filter and sort on signals"):
        c1, c2, c3 = st.columns([2, 1, 1])
        fcol = c1.selectbox("filter on", ["(none)", *cols], key="corpus_fcol")
        op = c2.selectbox("op", OPS, key="corpus_fop")
        val = c3.number_input("value", value=0.0, key="corpus_fval", format="%.4g")
        d1, d2 = st.columns([3, 1])
        scol = d1.selectbox("sort by", ["(input order)", *cols], key="corpus_sort")
        desc = d2.checkbox("descending", value=True, key="corpus_desc")
    filters = [] if fcol == "(none)" else [(*fcol.split(".", 1), op, float(val))]
    return filters, (None if scol == "(input order)" else (scol, bool(desc)))


def _search_box(reader: RunReader) -> tuple[str, bool]:
    c1, c2 = st.columns([3, 1])
    search = c1.text_input("text contains", key="corpus_search")
    indexed = reader.text_index is not None
    whole = c2.checkbox("whole words", value=True, key="corpus_whole",
                        help="The run's search index (written by mix) narrows a search to the blocks of documents "
                             "holding its whole words; a substring search can use only its inner words.")
    if not indexed:
        c2.caption("no search index: reads every docs file (re-mix the run to build one)")
    return search, bool(whole)


def _documents(ws: Path, reader: RunReader) -> None:
    c1, c2 = st.columns([1, 1])
    shows = ["all", "kept", "removed"]
    wanted = st.query_params.get("show")
    status = c1.selectbox("show", shows, index=shows.index(wanted) if wanted in shows else 0, key="corpus_status")
    rules = ["any", *reader.rules_removed()]
    wanted = st.query_params.get("rule")
    rule = c2.selectbox("removed by rule", rules, index=rules.index(wanted) if wanted in rules else 0,
                        key="corpus_rule")
    search, whole = _search_box(reader)
    filters, sort = _filters_ui(reader)
    page_no = st.number_input("page", min_value=1, value=1, step=1, key="corpus_page")
    offset = (int(page_no) - 1) * PAGE_SIZE
    t0 = time.perf_counter()
    page, total = _page(str(reader.path), reader.mtime, status, None if rule == "any" else rule, search or None,
                        tuple(tuple(f) for f in filters), sort, offset, whole)
    took = time.perf_counter() - t0
    count = f"{total:,} documents match" if total is not None else f"at least {offset + page.height:,} match " \
        "(the search stopped once this page was full)"
    st.caption(f"{count}; showing {page.height} from #{offset + 1} ({took:.2f} s)")
    if page.height == 0:
        return
    event = st.dataframe(page, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key="corpus_table")
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    ids = page["id"].to_list()
    wanted_doc = st.query_params.get("doc")
    default = ids[rows[0]] if rows else (wanted_doc if wanted_doc in ids else ids[0])
    doc_id = st.selectbox("document", ids, index=ids.index(default), key=f"corpus_doc_{default}")
    _explain(reader, doc_id)


# -- live re-thresholding -----------------------------------------------------------------------------------
def _thr_key(rule: Rule, bound: str) -> str:
    return f"thr|{rule.name}|{bound}"


def _snap(value: float, recipe_value: float) -> float:
    """A slider value back on the recipe's own value when only float rounding of min + k * step tells them
    apart (the browser computes the slider's values)."""
    return recipe_value if abs(value - recipe_value) <= 1e-9 * max(1.0, abs(recipe_value)) else value


def edited_recipe(base: Recipe, state: Any) -> Recipe:
    """The run's recipe with the page's edits: thresholds moved, rules switched off."""
    rules = []
    for r in base.rules:
        if not state.get(f"on|{r.name}", True):
            continue
        upd = {b: _snap(float(state[_thr_key(r, b)]), float(getattr(r, b))) for b in ("min", "max")
               if getattr(r, b) is not None and _thr_key(r, b) in state}
        rules.append(r.model_copy(update=upd))
    return base.model_copy(update={"rules": rules, "name": state.get("rethr_name") or base.name})


def slider_grid(lo: float, hi: float, cur: float, steps: int = 200) -> tuple[float, float, float]:
    """(min, max, step) of a threshold slider over the data's range [lo, hi] whose grid holds the recipe's
    value `cur` exactly: the slider's values are min + k * step, so min is cur less a whole number of steps
    (a grid starting at the data minimum could never return to the recipe's value)."""
    a, b = min(lo, cur), max(hi, cur)
    if a == b:
        a, b = a - 1.0, b + 1.0
    step = float(f"{(b - a) / steps:.2g}") or 0.01
    below, above = math.ceil((cur - a) / step - 1e-9), math.ceil((b - cur) / step - 1e-9)
    return cur - below * step, cur + above * step, step


def _reset_rule(name: str, bounds: dict[str, float]) -> None:
    """Callback (runs before the page is drawn, so it may set widget state): the recipe's thresholds, rule on."""
    st.session_state[f"on|{name}"] = True
    for bound, value in bounds.items():
        st.session_state[f"thr|{name}|{bound}"] = value


def _rule_control(rc: Recounter, r: Rule, counts: Counts) -> None:
    """The rule's on/off switch and threshold slider(s) beside its signal's histogram with the threshold drawn.

    `r` is the rule as the run's recipe has it: the slider's range never moves, so the widget keeps its state."""
    left, right = st.columns([1, 2])
    on_key = f"on|{r.name}"
    left.checkbox(f"**{r.name}**", key=on_key, **({} if on_key in st.session_state else {"value": True}))
    removes, fails = counts.by_rule.get(r.name, 0), counts.by_rule_any.get(r.name, 0)
    left.caption(f"removes {removes:,} first · {fails:,} fail it")
    if r.name in rc.inactive:
        left.caption(rc.inactive[r.name])
        return
    if r.min is None and r.max is None:
        cond = (f"drop if {r.column} is {r.drop_if}" if r.drop_if is not None else
                f"keep {r.column} in {r.keep_values}" if r.keep_values is not None else
                f"drop {r.column} in {r.drop_values}")
        left.caption(cond)
        return
    bounds = {b: float(getattr(r, b)) for b in ("min", "max") if getattr(r, b) is not None}
    left.button("reset to recipe", key=f"reset|{r.name}", on_click=_reset_rule, args=(r.name, bounds),
                help="put this rule's threshold(s) back to the run's recipe and switch it on")
    vals = rc.values(r.signal, r.column)
    lo = float(vals.min()) if vals.size else 0.0
    hi = float(vals.max()) if vals.size else 1.0
    lines = []
    for bound in ("min", "max"):
        cur = getattr(r, bound)
        if cur is None:
            continue
        key = _thr_key(r, bound)
        a, b, step = slider_grid(lo, hi, float(cur))
        start = {} if key in st.session_state else {"value": float(cur)}
        val = left.slider(f"{bound} ({'drop below' if bound == 'min' else 'drop above'})", min_value=float(a),
                          max_value=float(b), step=step, key=key, **start)
        lines.append({"name": f"{r.name} {bound}", "at": val})
    hist, _ = histogram_of(vals, 40)
    if hist.height == 0:
        right.caption("no values")
        return
    with right:
        charts.draw(charts.histogram(hist, f"{r.signal}.{r.column}", lines, height=140))


def _delta(d: int) -> str | None:
    """A metric's change against the run: none drawn when nothing changed (Streamlit draws "+0" as a rise)."""
    return f"{d:+,}" if d else None


def _rethreshold(ws: Path, reader: RunReader, allowed: Allowed) -> None:
    base = reader.recipe
    if base is None or not base.rules:
        st.info("this run has no recipe rules to re-threshold")
        return
    # edits of rules whose controls are not drawn now (another signal is picked) must survive this run:
    # Streamlit forgets the state of a widget that is not drawn, unless it is written back
    for k in [k for k in st.session_state if isinstance(k, str) and k.startswith(("thr|", "on|"))]:
        st.session_state[k] = st.session_state[k]
    t0 = time.perf_counter()
    rc = recounter(str(reader.path), reader.mtime)
    recipe = edited_recipe(base, st.session_state)
    counts = rc.count(recipe.rules)
    took = time.perf_counter() - t0
    m = reader.manifest
    cols = st.columns(4)
    cols[0].metric("kept (live)", f"{counts.kept:,}", delta=_delta(counts.kept - int(m.get("kept", 0))))
    cols[1].metric("removed (live)", f"{counts.removed:,}", delta=_delta(counts.removed - int(m.get("removed", 0))),
                   delta_color="inverse")
    # the manifest's quarantined already counts the later copies of a repeated id (and the broken lines):
    # input = kept + removed + quarantined + skipped, whatever the thresholds
    cols[2].metric("quarantined", f"{counts.quarantined:,}")
    cols[3].metric("recount", f"{took * 1000:.0f} ms")
    skipped = int(m.get("skipped", 0) or 0)
    st.caption("Counted from the stored signals, exactly as `mix` would apply the edited recipe; nothing is "
               "written until you save or re-mix. "
               f"input {int(m.get('input', 0)):,} = kept {counts.kept:,} + removed {counts.removed:,} + "
               f"quarantined {counts.quarantined:,}" + (f" + skipped {skipped:,}" if skipped else ""))
    steps = list(dict.fromkeys(r.signal for r in base.rules))
    step = st.selectbox("rules of signal", steps, key="rethr_step")
    for r in base.rules:
        if r.signal == step:
            _rule_control(rc, r, counts)
    if counts.by_rule:
        charts.draw(charts.rule_bars(counts.by_rule, "documents removed with these thresholds"))
    st.divider()
    _save_and_remix(ws, reader, recipe, base, allowed)


def recipe_slug(name: str) -> str:
    """The file name (without .yaml) a recipe name is saved under: letters (any script), digits, `_`, `.` and
    `-` kept, any other run of characters made one `-`; no leading dot (no hidden file, no `..`)."""
    return re.sub(r"[^\w.-]+", "-", name.strip()).strip("-.")


MAX_NAME_BYTES = 200  # of a recipe's file name; file systems allow 255 bytes, and `.yaml` and a margin go on it


def recipe_file_problem(slug: str, path: Path) -> str | None:
    """Why a recipe cannot be saved under `slug` (its file `path`), else None: no letter or digit, a name too
    long for a file name, or something there that is not a file or cannot be read."""
    if not slug:
        return "the recipe name has no letter or digit to name a file with: give another name"
    if len(slug.encode()) > MAX_NAME_BYTES:
        return (f"the recipe name is too long for a file name ({len(slug.encode())} bytes as UTF-8; at most "
                f"{MAX_NAME_BYTES}): give a shorter name")
    if path.exists() and not path.is_file():
        return f"recipes/{slug}.yaml exists and is not a file: give another name"
    return None


def remix_out_problem(out: Path, source: Path) -> str | None:
    """Why `out` must not receive a re-mix of `source`, else None: the app never rewrites the run it reads
    (`mix --out` equal to the run re-mixes it in place) nor anything already on disk (the CLI may rewrite an
    earlier mix of the same run; from the app a re-mix always makes a new folder)."""
    src = source.resolve()
    if out == src:
        return f"{out} is the run being re-thresholded: give a new folder (the source run is never rewritten here)"
    if out.is_relative_to(src):
        return f"{out} is inside the run being re-thresholded ({src}): give a new folder outside it"
    if src.is_relative_to(out):
        return f"{out} holds the run being re-thresholded: give a new folder"
    if out.exists() and not out.is_dir():
        return f"{out} is a file: give a new folder"
    if out.is_dir() and any(out.iterdir()):
        return f"{out} already exists and is not empty: give a new folder (nothing was written)"
    return None


def _save_and_remix(ws: Path, reader: RunReader, recipe: Recipe, base: Recipe, allowed: Allowed) -> None:
    """Save the edited recipe under recipes/, or re-mix the run with it into a new folder; neither overwrites a
    file silently: an existing recipe file is kept unless "overwrite" is ticked, an existing folder never."""
    c1, c2 = st.columns(2)
    name = c1.text_input("recipe name", value=f"{base.name}-edited", key="rethr_name")
    slug = recipe_slug(name)
    path = ws / "recipes" / f"{slug}.yaml"
    # no default that follows the name: a widget's default must not change between reruns
    default_out = f"runs/{reader.path.name}-{slug or 'recipe'}"
    out_raw = c2.text_input("re-mix into (new run folder)", key="rethr_out", placeholder=default_out) or default_out
    overwrite = c1.checkbox("overwrite an existing recipe file of that name", value=False, key="rethr_overwrite")
    text = recipe.to_yaml()
    problem = recipe_file_problem(slug, path)
    exists = same = False
    if problem is None:
        try:
            exists = path.is_file()
            same = exists and path.read_text(encoding="utf-8", errors="replace") == text
        except OSError as e:
            problem = f"cannot read recipes/{slug}.yaml: {e.strerror or e}"
    if slug and problem is None:
        renamed = f" (the name {name.strip()!r} as a file name)" if slug != name.strip() else ""
        note = " - exists" + (", same content" if same else "; tick overwrite to replace it") if exists else ""
        c1.caption(f"saves to `recipes/{slug}.yaml`{renamed}{note}")
    b1, b2 = st.columns(2)
    save, remix = b1.button("Save as recipe", key="rethr_save"), b2.button("Re-mix into a new run", key="rethr_remix")
    if not (save or remix):
        return
    if problem:
        st.error(problem)
        return
    out: Path | None = None
    if remix:
        try:
            out = allowed.resolve(out_raw, "re-mix folder")
        except WinnowError as e:
            st.error(str(e))
            return
        why = remix_out_problem(out, reader.path)
        if why:
            st.error(f"not re-mixed: {why}")
            return
    if exists and not same and not overwrite:
        st.error(f"recipes/{slug}.yaml already exists with other content: nothing was written; give another "
                 "recipe name or tick \"overwrite an existing recipe file of that name\"")
        return
    if not same:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as e:
            st.error(f"could not write recipes/{slug}.yaml: {e.strerror or e}")
            return
    if save:
        st.success(f"{'overwrote' if exists and not same else 'saved'} {path}")
        return
    try:
        argv = ["mix", str(reader.path), "--recipe", str(path), "--out", str(out)]
        run_id = launcher.launch(ws, argv, allowed=allowed)
    except WinnowError as e:
        st.error(str(e))
    else:
        st.success(f"started run {run_id}: winnow mix {reader.path.name} --recipe {path.name} --out {out} "
                   "— it appears in the run picker when done")


# -- signals tab ---------------------------------------------------------------------------------------------
def _signals(reader: RunReader) -> None:
    steps = reader.signal_steps()
    if not steps:
        st.info("this run stored no signals")
        return
    c1, c2, c3 = st.columns([1, 1, 1])
    ruled = [s for s in steps if any(reader.thresholds(s, c) for c in reader.numeric_columns(s))]
    step = c1.selectbox("signal step", steps, index=steps.index(ruled[0]) if ruled else 0, key="hist_step")
    cols = reader.numeric_columns(step)
    if not cols:
        st.info(f"{step} has no numeric columns")
        return
    rule_cols = [t for t in cols if reader.thresholds(step, t)]
    column = c2.selectbox("column", cols, index=cols.index(rule_cols[0]) if rule_cols else 0, key=f"hist_col_{step}")
    bins = c3.slider("bins", 10, 100, 40, key="hist_bins")
    hist, nulls = _histogram(str(reader.path), reader.mtime, step, column, bins)
    if hist.height == 0:
        st.info("no values")
        return
    lines = [{"name": f"{t.name} ({k} {getattr(t, k):g})", "at": getattr(t, k)}
             for t in reader.thresholds(step, column) for k in ("min", "max") if getattr(t, k) is not None]
    if lines:
        st.caption("red line: " + "; ".join(ln["name"] for ln in lines))
    charts.draw(charts.histogram(hist, column, lines, height=260))
    if nulls:
        st.caption(f"{nulls:,} documents have no value (a rule does not fire on them)")


# -- a raw corpus file ---------------------------------------------------------------------------------------
def raw_records(path: Path, limit: int = 200) -> pl.DataFrame:
    """The first records of a corpus file, read by the same reader `curate` uses (bad lines shown as such)."""
    from curation.reader import Doc, Quarantined, discover_inputs, iter_records

    rows = []
    for rec in itertools.islice(iter_records(discover_inputs([path])), limit):
        if isinstance(rec, Doc):
            rows.append({"id": rec.id, "line": None, "status": "ok", "text": rec.text, "source": rec.source})
        elif isinstance(rec, Quarantined):
            rows.append({"id": None, "line": rec.line, "status": f"unreadable: {rec.reason}", "text": None,
                         "source": rec.file})
    return pl.DataFrame(rows, schema={"id": pl.String, "line": pl.Int64, "status": pl.String, "text": pl.String,
                                      "source": pl.String})


def _raw_file(path: Path) -> None:
    st.caption(f"`{path}` (first 200 records, read as `winnow curate` reads it)")
    try:
        df = raw_records(path)
    except WinnowError as e:
        st.error(str(e))
        return
    st.metric("records shown", f"{df.height:,}")
    view = df.with_columns(preview=pl.col("text").str.slice(0, 160)).drop("text")
    st.dataframe(view, hide_index=True, width="stretch", key="raw_table")
    ids = [i for i in df["id"].to_list() if i is not None]
    if ids:
        pick = st.selectbox("record", ids, key="raw_pick")
        st.text_area("text", df.filter(pl.col("id") == pick)["text"][0], height=250, key=f"raw-{pick}")


def render(ws: Path) -> None:
    st.header("Corpus")
    allowed = Allowed.from_env(ws)
    picked = _pick(ws, allowed)
    if picked is None:
        st.info("Pick a curation run, or give the folder of one, or a raw corpus file.")
        return
    kind, path = picked
    if kind == "file":
        _raw_file(path)
        return
    try:
        problem = curated_problem(path)
        if problem:
            raise WinnowError(problem)
        reader = reader_of(str(path), (path / "manifest.json").stat().st_mtime)
        _ = reader.manifest
    except WinnowError as e:
        st.error(str(e))
        return
    try:
        _run_views(ws, reader, allowed, path)
    except WinnowError as e:  # a run the reader cannot read (no documents, a broken file): one line, no traceback
        st.error(str(e))


def _run_views(ws: Path, reader: RunReader, allowed: Allowed, path: Path) -> None:
    st.caption(f"`{path}` · recipe {reader.manifest.get('recipe', {}).get('name', '?')}")
    _overview(reader)
    # one view at a time (not tabs, which would all run): opening the run never pays for the others
    views = ["Documents", "Re-threshold", "Signals", "Quarantine"]
    wanted = st.query_params.get("view")
    view = st.radio("view", views, index=views.index(wanted) if wanted in views else 0, horizontal=True,
                    key="corpus_view", label_visibility="collapsed")
    if st.query_params.get("view") != view:
        st.query_params["view"] = view  # a reload or a shared link opens the same view
    if view == "Documents":
        _documents(ws, reader)
    elif view == "Re-threshold":
        _rethreshold(ws, reader, allowed)
    elif view == "Signals":
        _signals(reader)
    else:
        q = reader.quarantine()
        if q.height:
            st.dataframe(q, hide_index=True, width="stretch")
        else:
            st.caption("no malformed input lines")
