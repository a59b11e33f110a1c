"""Guardrails page (being built): scan a prompt under a policy with guardrails.policy.PolicyRunner."""

from __future__ import annotations

from pathlib import Path

import streamlit as st


def render(ws: Path) -> None:
    st.header("Guardrails")
    st.info("The guardrails page is being built.")
