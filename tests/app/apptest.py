"""Open one page of the Streamlit app in Streamlit's AppTest, as the app tests do."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

SCRIPT = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")


def open_page(ws: Path, page: str, monkeypatch: pytest.MonkeyPatch, *, query: dict | None = None,
              state: dict | None = None, allow: Path | None = None, check: bool = True) -> AppTest:
    """The app on `page` over workspace `ws` (and `allow`, a folder outside it the app may read), with URL
    `query` parameters and session `state` set, after its first run; `check`: that run raised nothing."""
    monkeypatch.setenv("WINNOW_WORKSPACE", str(ws))
    if allow is not None:
        monkeypatch.setenv("WINNOW_ALLOW", str(allow))
    at = AppTest.from_file(SCRIPT, default_timeout=60)
    at.session_state["page"] = page
    for k, v in (state or {}).items():
        at.session_state[k] = v
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at
