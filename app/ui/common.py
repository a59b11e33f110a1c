"""Helpers shared by the pages: the workspace the app serves, time and metric formatting."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from app.options import DEFAULT_WORKSPACE

STATUS_ICON = {"queued": "⏳", "running": "▶️", "done": "✅", "failed": "❌", "interrupted": "⏹️"}


def workspace_from(argv: list[str] | None = None) -> Path:
    """`--workspace X` after `streamlit run app/streamlit_app.py --`, else env WINNOW_WORKSPACE, else the
    default folder."""
    args = sys.argv[1:] if argv is None else argv
    for i, a in enumerate(args):
        if a == "--workspace" and i + 1 < len(args):
            return Path(args[i + 1]).expanduser().absolute()
        if a.startswith("--workspace="):
            return Path(a.split("=", 1)[1]).expanduser().absolute()
    return Path(os.environ.get("WINNOW_WORKSPACE") or DEFAULT_WORKSPACE).expanduser().absolute()


def fmt_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def fmt_metrics(m: dict[str, Any], n: int = 5) -> str:
    items = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in list(m.items())[:n]]
    return ", ".join(items)
