"""Lineage page (being built): a run's chain back to the raw files and forward, from `winnow lineage --json`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st


def render(ws: Path) -> None:
    st.header("Lineage")
    st.info("The lineage page is being built.")
