"""The Winnow app: `winnow app` (or `streamlit run app/streamlit_app.py -- --workspace WS`).

Pages: Runs, Corpus, Jobs, Training, Evaluation, Guardrails, Lineage. The page you are on is kept in the
URL (`?page=Corpus`), so a reload or a shared link opens the same page.
"""

from __future__ import annotations

import os
import secrets

import streamlit as st

from app.ui import corpus_page, eval_page, guard_page, jobs_page, lineage_page, runs_page, train_page
from app.ui.common import workspace_from
from app.ui.confine import TOKEN_ENV
from app.workspace import open_workspace
from curation.errors import WinnowError

PAGES = {"Runs": runs_page.render, "Corpus": corpus_page.render, "Jobs": jobs_page.render,
         "Training": train_page.render, "Evaluation": eval_page.render, "Guardrails": guard_page.render,
         "Lineage": lineage_page.render}
ALIASES = {"Launch": "Jobs"}  # old links keep working


def _authorised() -> bool:
    """With `--allow-remote` the server requires the token `winnow app` printed (in the URL or typed once)."""
    token = os.environ.get(TOKEN_ENV)
    if not token or st.session_state.get("_authorised"):
        return True
    given = st.query_params.get("token") or st.session_state.get("_token_typed") or ""
    if given and secrets.compare_digest(given, token):
        st.session_state["_authorised"] = True
        return True
    st.title("Winnow")
    st.text_input("access token (printed by `winnow app`)", type="password", key="_token_typed")
    if given:
        st.error("wrong access token")
    return False


def main() -> None:
    st.set_page_config(page_title="Winnow", page_icon="🌾", layout="wide")
    if not _authorised():
        st.stop()
    try:
        ws = open_workspace(workspace_from())
    except WinnowError as e:
        st.error(str(e))
        st.stop()
    wanted = st.query_params.get("page")
    wanted = ALIASES.get(wanted, wanted)
    if "page" not in st.session_state and wanted in PAGES:
        st.session_state["page"] = wanted
    with st.sidebar:
        st.title("Winnow")
        page = st.radio("Page", list(PAGES), key="page")
        st.caption(f"workspace\n\n`{ws}`")
    if st.query_params.get("page") != page:
        st.query_params["page"] = page
    PAGES[page](ws)


main()
