"""Launch page: start `winnow curate` (or any winnow command line) as a background job."""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path

import streamlit as st

from app import launcher
from curation.errors import WinnowError


def _shipped_recipes() -> dict[str, str]:
    out = {"default (ships with winnow)": ""}
    try:
        for p in sorted(resources.files("curation").joinpath("recipes").iterdir(), key=lambda p: p.name):
            if p.name.endswith((".yaml", ".yml")):
                out[f"{p.name} (ships with winnow)"] = str(p)
    except (FileNotFoundError, NotADirectoryError):
        pass
    return out


def curate_argv(inputs: str, out: str, recipe: str | None, workers: int, extra: str = "") -> list[str]:
    """The command line the curate form runs."""
    files = shlex.split(inputs)
    if not files:
        raise WinnowError("give at least one input file or folder")
    if not out.strip():
        raise WinnowError("give an output folder")
    argv = ["curate", *files, "--out", out.strip()]
    if recipe:
        argv += ["--recipe", recipe]
    if workers > 1:
        argv += ["--workers", str(workers)]
    return argv + shlex.split(extra)


def _started(ws: Path, argv: list[str]) -> None:
    try:
        run_id = launcher.launch(ws, argv)
    except WinnowError as e:
        st.error(str(e))
        return
    st.success(f"started run {run_id}: winnow {shlex.join(argv)} — follow it on the Runs page")
    st.session_state["last_launched"] = run_id


def render(ws: Path) -> None:
    st.header("Launch")
    st.caption("Jobs run as separate processes: the app stays responsive, and a job keeps running when the "
               "page reloads. Relaunching the same curate command resumes a job killed half-way.")
    recipes = _shipped_recipes()
    with st.form("curate_form"):
        st.subheader("Curate a corpus")
        inputs = st.text_input("input files or folders (space-separated)", key="launch_inputs")
        out = st.text_input("output folder", value=str(ws / "runs" / "curate-1"), key="launch_out")
        c1, c2 = st.columns(2)
        recipe_label = c1.selectbox("recipe", [*recipes, "a file..."], key="launch_recipe")
        recipe_file = c2.text_input("recipe file (when 'a file...')", key="launch_recipe_file")
        workers = st.number_input("workers", min_value=1, max_value=64, value=1, key="launch_workers")
        extra = st.text_input("more options (e.g. --set rules.length.min_words.min=20)", key="launch_extra")
        if st.form_submit_button("Start curation"):
            recipe = recipe_file.strip() if recipe_label == "a file..." else recipes[recipe_label]
            try:
                argv = curate_argv(inputs, out, recipe or None, int(workers), extra)
            except (WinnowError, ValueError) as e:
                st.error(str(e))
            else:
                _started(ws, argv)
    with st.form("generic_form"):
        st.subheader("Any winnow command")
        line = st.text_input("command line", placeholder="train sft --data sft.jsonl --model ... --out ...",
                             key="launch_line")
        if st.form_submit_button("Start"):
            try:
                argv = shlex.split(line)
            except ValueError as e:
                st.error(f"cannot parse the command line: {e}")
            else:
                if not argv or argv == ["winnow"]:
                    st.error("type a winnow command, e.g. `curate corpus.jsonl --out run1`")
                else:
                    _started(ws, argv)
