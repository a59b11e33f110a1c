"""Jobs page: a form for each job (curate, mix, train sft, train dpo, eval run, guard bench, ablate), the
command line it will run, the raw command line as an expert option, and the launched job followed live.

Command forms are built from the CLI's own options and training forms from `TrainConfig` (app/ui/forms.py),
so a new option appears here without touching this page.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import streamlit as st
import yaml

from app import launcher
from app.ui import forms
from app.ui.confine import Allowed
from app.ui.follow import follow
from curation.errors import WinnowError

# form name -> (command words, pydantic config written to --config, or None for the command's own options)
JOBS: dict[str, tuple[list[str], str | None]] = {
    "curate": (["curate"], None),
    "mix": (["mix"], None),
    "train sft": (["train", "sft"], "training.config:TrainConfig"),
    "train dpo": (["train", "dpo"], "training.config:TrainConfig"),
    "eval run": (["eval", "run"], None),
    "guard bench": (["guard", "bench"], None),
    "ablate": (["ablate"], None),
}
RAW = "raw command line (expert)"
# config fields that are paths (made absolute and confined before the YAML is written)
CONFIG_PATHS = {"data", "out"}
# TrainConfig fields one trainer alone reads (training/dpo.py, training/sft.py): not shown on the other's form
ONLY_FOR = {"beta": "train dpo", "loss_type": "train dpo", "chat_template": "train dpo",
            "packing": "train sft", "assistant_only_loss": "train sft"}


def _config_model(spec: str) -> Any:
    import importlib

    mod, name = spec.split(":")
    return getattr(importlib.import_module(mod), name)


def _widget(f: forms.Field, key: str, default_text: str | None = None) -> Any:
    label = f.label
    if f.kind == "bool":
        return st.checkbox(label, value=bool(f.default), key=key, help=f.help or None)
    if f.kind == "tribool":
        return {"(default)": None, "on": True, "off": False}[
            st.selectbox(label, ["(default)", "on", "off"], key=key, help=f.help or None)]
    if f.kind == "choice":
        opts = ["(default)", *f.choices] if f.default is None else list(f.choices)
        idx = opts.index(f.default) if f.default in opts else 0
        return st.selectbox(label, opts, index=idx, key=key, help=f.help or None)
    shown = default_text if default_text is not None else ("" if f.default is None else
                                                          " ".join(map(str, f.default))
                                                          if isinstance(f.default, list) else str(f.default))
    return st.text_input(label, value=shown, key=key, help=f.help or None,
                         placeholder="space-separated" if f.kind == "list" else None)


def _suggested_out(job: str, folder: str = "runs") -> str:
    """A fresh output folder, chosen once per session (a widget's default must not change between reruns)."""
    key = f"sugg|{job}"
    if key not in st.session_state:
        st.session_state[key] = f"{folder}/{job.replace(' ', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
    return st.session_state[key]


def _command_form(job: str, words: list[str]) -> list[str] | None:
    try:
        fields = forms.command_fields(words)
    except WinnowError as e:
        st.info(f"{e}: this form appears once the command exists.")
        return None
    values: dict[str, Any] = {}
    cols = st.columns(2)
    for i, f in enumerate(fields):
        with cols[i % 2]:
            default = _suggested_out(job) if f.name == "out" and f.required else None
            values[f.name] = _widget(f, f"job|{job}|{f.name}", default)
    return forms.command_argv(words, fields, values)


def _config_form(job: str, words: list[str], spec: str, ws: Path, allowed: Allowed) -> tuple[list[str], str] | None:
    model = _config_model(spec)
    fields = [f for f in forms.model_fields(model) if ONLY_FOR.get(f.name, job) == job]
    values: dict[str, Any] = {}
    cols = st.columns(2)
    for i, f in enumerate(fields):
        with cols[i % 2]:
            default = _suggested_out(job, "models") if f.name == "out" else None
            values[f.name] = _widget(f, f"job|{job}|{f.name}", default)
    data = forms.model_values(fields, values)
    for key in CONFIG_PATHS & set(data):
        v = data[key]
        data[key] = [str(allowed.resolve(x, key)) for x in v] if isinstance(v, list) else str(allowed.resolve(v, key))
    if isinstance(data.get("model"), str) and ("/" in data["model"] or (ws / data["model"]).exists()):
        local = allowed.resolve(data["model"], "model")
        if local.exists():  # a local folder (a hub id such as org/name stays as typed)
            data["model"] = str(local)
    cfg = forms.validate(model, data)
    text = yaml.safe_dump(cfg.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
    path = ws / "configs" / f"{Path(_suggested_out(job)).name}.yaml"
    return [*words, "--config", str(path)], text


def _start(ws: Path, job: str, argv: list[str], allowed: Allowed, config: tuple[Path, str] | None = None) -> None:
    try:
        if config is not None:
            config[0].parent.mkdir(parents=True, exist_ok=True)
            config[0].write_text(config[1], encoding="utf-8")
        run_id = launcher.launch(ws, argv, allowed=allowed)
    except WinnowError as e:
        st.error(str(e))
        return
    st.session_state["follow-jobs"] = run_id
    st.session_state.pop(f"sugg|{job}", None)  # the next job of this kind gets a fresh folder
    st.success(f"started run {run_id}: winnow {shlex.join(argv)}")


def render(ws: Path) -> None:
    st.header("Jobs")
    st.caption("Each job runs as its own process: the app stays responsive, and the job keeps running when the "
               "page reloads. Relative paths resolve in the workspace; paths outside it (and the --allow "
               "folders) are refused.")
    allowed = Allowed.from_env(ws)
    names = [*JOBS, RAW]
    wanted = st.query_params.get("job")
    job = st.selectbox("job", names, index=names.index(wanted) if wanted in names else 0, key="jobs_form")
    if st.query_params.get("job") != job:
        st.query_params["job"] = job
    argv: list[str] | None = None
    config: tuple[Path, str] | None = None
    try:
        if job == RAW:
            line = st.text_input("winnow command line", placeholder="mix runs/run1 --recipe recipes/r.yaml --out "
                                 "runs/run2", key="jobs_raw")
            argv = shlex.split(line) if line.strip() else None
            if argv and argv[0] == "winnow":
                argv = argv[1:]
        else:
            words, spec = JOBS[job]
            if spec:
                got = _config_form(job, words, spec, ws, allowed)
                if got:
                    argv, text = got
                    config = (Path(argv[-1]), text)
                    with st.expander("config it writes", expanded=False):
                        st.code(text, language="yaml")
            else:
                argv = _command_form(job, words)
    except forms.MissingField as e:
        st.caption(str(e))
        argv = None
    except (WinnowError, ValueError) as e:
        st.error(str(e))
        argv = None
    if argv:
        st.markdown("**Command it will run**")
        st.code("winnow " + shlex.join(argv), language="bash")
    if st.button("Start", key="jobs_start", type="primary", disabled=not argv):
        _start(ws, job, argv or [], allowed, config)
    followed = st.session_state.get("follow-jobs")
    if followed:
        st.divider()
        follow(ws, int(followed), allowed, "jobs")
