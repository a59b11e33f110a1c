"""The Winnow app: `winnow app` (or `streamlit run app/streamlit_app.py -- --workspace WS`).

Pages: Runs, Corpus, Launch, Training, Evaluation. The page can be chosen with `?page=Corpus` in the URL.
"""

from __future__ import annotations

import streamlit as st

from app.ui import corpus_page, eval_page, launch_page, runs_page, train_page
from app.ui.common import workspace_from
from app.workspace import open_workspace
from curation.errors import WinnowError

PAGES = {"Runs": runs_page.render, "Corpus": corpus_page.render, "Launch": launch_page.render,
         "Training": train_page.render, "Evaluation": eval_page.render}


def main() -> None:
    st.set_page_config(page_title="Winnow", page_icon="🌾", layout="wide")
    try:
        ws = open_workspace(workspace_from())
    except WinnowError as e:
        st.error(str(e))
        st.stop()
    wanted = st.query_params.get("page")
    if "page" not in st.session_state and wanted in PAGES:
        st.session_state["page"] = wanted
    with st.sidebar:
        st.title("Winnow")
        page = st.radio("Page", list(PAGES), key="page")
        st.caption(f"workspace\n\n`{ws}`")
    PAGES[page](ws)


main()
