"""Guardrails page: scan a prompt (or a prompt and an output) under a policy and see each scanner's verdict,
its spans highlighted, the sanitized text and the latency; every `guard bench` report as a table; and a
chat with a local model through the policy. Runs `guardrails.policy.PolicyRunner` and
`guardrails.chat.GuardedChat` in the app's process; reads bench reports through `guardrails.report`."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import streamlit as st
import yaml

from app.registry import RunRegistry
from app.ui.confine import Allowed
from curation.errors import WinnowError

DEFAULT = "default (ships with winnow)"
PICK = "choose scanners..."


@st.cache_resource(show_spinner="loading the policy's scanners ...", max_entries=4)
def _runner(policy_yaml: str) -> Any:
    from guardrails.policy import PolicyRunner, parse_policy

    return PolicyRunner(parse_policy(yaml.safe_load(policy_yaml) or {}, "policy"))


@st.cache_resource(show_spinner="loading the model ...", max_entries=1)
def _chat(model: str, policy_yaml: str) -> Any:
    from guardrails.chat import GuardedChat
    from guardrails.policy import parse_policy

    return GuardedChat(model, parse_policy(yaml.safe_load(policy_yaml) or {}, "policy"))


def read_policy(path: Path) -> str:
    """A policy file's text, checked as `winnow guard` checks it (`read_policy_file`: UTF-8, YAML, a mapping of known
    fields), so the page says what the CLI says, in one line naming the file (never a traceback)."""
    from guardrails.policy import read_policy_file

    try:
        return read_policy_file(path)[0]
    except OSError as e:
        raise WinnowError(f"policy file {path}: cannot read it ({e.strerror or e})") from None


def _policy_yaml(ws: Path, allowed: Allowed) -> str | None:
    """The chosen policy as YAML text (validated when its runner is built)."""
    from guardrails.policy import default_policy_text
    from guardrails.scanners import get_scanner, scanner_names

    files = sorted((ws / "policies").glob("*.y*ml")) if (ws / "policies").is_dir() else []
    options = [DEFAULT, *[f"workspace: {p.name}" for p in files], "a policy file...", PICK]
    choice = st.selectbox("policy", options, key="guard_policy")
    if choice == DEFAULT:
        return default_policy_text()
    if choice.startswith("workspace: "):
        return read_policy(ws / "policies" / choice.removeprefix("workspace: "))
    if choice == "a policy file...":
        typed = st.text_input("policy YAML file", key="guard_policy_file")
        if not typed.strip():
            return None
        return read_policy(allowed.resolve(typed, "policy file"))
    kinds: dict[str, str] = {}
    for n in scanner_names():
        try:
            kinds[n] = get_scanner(n).kind
        except ImportError:  # listed but not installed (or not built yet): not offered
            continue
    c1, c2 = st.columns(2)
    ins = c1.multiselect("input scanners (block)", [n for n, k in kinds.items() if k in ("input", "both")],
                         key="guard_pick_in")
    outs = c2.multiselect("output scanners (block)", [n for n, k in kinds.items() if k in ("output", "both")],
                          key="guard_pick_out")
    return yaml.safe_dump({"name": "picked", "mode": "run_all", "input": [{"scanner": n} for n in ins],
                           "output": [{"scanner": n} for n in outs]}, sort_keys=False)


def highlight(text: str, spans: list[Any]) -> str:
    """HTML of the text with each span marked and labelled (escaped)."""
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: (s.start, -s.end)):
        if s.start < pos or s.end <= s.start:
            continue
        label = html.escape(str(s.label))
        out.append(html.escape(text[pos:s.start]))
        out.append(f'<mark title="{label}" style="background:#ffd54f">{html.escape(text[s.start:s.end])}'
                   f'<sub style="color:#8a6d00">{label}</sub></mark>')
        pos = s.end
    out.append(html.escape(text[pos:]))
    return ('<div style="white-space:pre-wrap;border:1px solid #ddd;padding:8px;border-radius:4px">'
            + "".join(out) + "</div>")


def show_result(result: Any, text: str, side: str) -> None:
    if result.valid:
        st.success(f"{side}: allowed" + (f" (warned by {', '.join(result.warned_by)})" if result.warned_by else "")
                   + f" · {result.latency_ms:.1f} ms")
    else:
        st.error(f"{side}: **blocked by {', '.join(result.blocked_by)}** · {result.latency_ms:.1f} ms")
    st.dataframe([{"scanner": v.scanner, "action": v.action or "-", "valid": v.valid, "score": round(v.score, 4),
                   "latency_ms": round(v.latency_ms, 2), "timed_out": v.timed_out, "reasons": "; ".join(v.reasons)}
                  for v in result.verdicts], hide_index=True, width="stretch", key=f"guard_verdicts_{side}")
    spans = [s for v in result.verdicts for s in v.spans if 0 <= s.start < s.end <= len(text)]
    if spans:
        st.markdown("**Spans found**")
        st.markdown(highlight(text, spans), unsafe_allow_html=True)
    if result.sanitized != text:
        st.markdown("**Sanitized text**")
        st.code(result.sanitized, language=None)


def _scan_tab(policy_yaml: str) -> None:
    side = st.radio("scan", ["prompt (input rails)", "prompt + output (output rails)"], horizontal=True,
                    key="guard_side")
    prompt = st.text_area("prompt", key="guard_prompt", height=120)
    output = st.text_area("model output", key="guard_output", height=120) if side.startswith("prompt +") else None
    if st.button("Scan", key="guard_scan", type="primary"):
        runner = _runner(policy_yaml)
        if output is None:
            show_result(runner.scan_input(prompt), prompt, "prompt")
        else:
            show_result(runner.scan_output(output, prompt), output, "output")


def _bench_tab(ws: Path) -> None:
    from guardrails.report import load_bench_report

    with RunRegistry(ws) as reg:
        runs = [r for r in reg.list(kind="guard-bench", limit=200) if r.out_dir]
    reports = []
    for r in runs:
        try:
            reports.append((r, load_bench_report(r.out_dir)))
        except WinnowError:
            continue
    if not reports:
        st.info("No guard bench reports yet: start `guard bench` on the Jobs page, or `winnow guard bench ...`.")
        return
    pick = st.selectbox("report", [r.id for r, _ in reports], format_func=lambda i: f"run {i}", key="guard_bench")
    rep = next(b for r, b in reports if r.id == pick)
    st.caption(f"`{rep.folder}`")
    st.dataframe(rep.table(), hide_index=True, width="stretch", key="guard_bench_table")
    if rep.evasions:
        st.markdown("**Evasions** (how much of the attack set each transform still lets through)")
        st.dataframe(rep.evasion_table(), hide_index=True, width="stretch", key="guard_evasions")


def _chat_tab(policy_yaml: str, allowed: Allowed) -> None:
    model = st.text_input("local model folder (e.g. models/demo-tiny)", key="guard_model")
    user = st.text_input("message", key="guard_chat_msg")
    if st.button("Send", key="guard_send") and model.strip() and user.strip():
        chat = _chat(str(allowed.resolve(model, "model folder")), policy_yaml)
        turn = chat.turn(user)
        history = st.session_state.setdefault("guard_history", [])
        history.append(turn)
    for turn in st.session_state.get("guard_history", []):
        with st.chat_message("user"):
            st.write(turn.user)
        with st.chat_message("assistant"):
            if turn.blocked:
                st.error(f"blocked on the {turn.blocked} side: " + "; ".join(turn.events))
            st.write(turn.answer)
            st.caption(f"generate {turn.generate_ms:.0f} ms · total {turn.total_ms:.0f} ms")


def render(ws: Path) -> None:
    st.header("Guardrails")
    allowed = Allowed.from_env(ws)
    try:
        policy_yaml = _policy_yaml(ws, allowed)
        views = ["Scan", "Bench reports", "Chat"]
        view = st.radio("view", views, horizontal=True, key="guard_view", label_visibility="collapsed")
        if view == "Bench reports":
            _bench_tab(ws)
        elif policy_yaml is None:
            st.info("give a policy file")
        elif view == "Scan":
            _scan_tab(policy_yaml)
        else:
            _chat_tab(policy_yaml, allowed)
    except WinnowError as e:
        st.error(str(e))
    except ImportError as e:  # a scanner the policy names is not installed (or not built yet)
        st.error(f"guardrails are not available in this installation: {e}")
