"""Vega-Lite specs as plain dicts, drawn with `st.vega_lite_chart` (interactive: tooltips, zoom).

Plain specs, not Altair: building and validating an Altair chart costs ~0.1-0.2 s of CPU each, and the
Re-threshold view draws one per rule on every slider move.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st


def _values(df: pl.DataFrame | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return df.to_dicts() if isinstance(df, pl.DataFrame) else list(df)


def draw(spec: dict[str, Any], key: str | None = None) -> None:
    st.vega_lite_chart(spec, width="stretch", key=key)


def rule_bars(by_rule: dict[str, int], title: str) -> dict[str, Any]:
    """One horizontal bar per rule, the full rule name as its label (never cut)."""
    return {"data": {"values": [{"rule": k, "removed": int(v)} for k, v in by_rule.items()]},
            "mark": {"type": "bar", "tooltip": True}, "height": {"step": 22},
            "encoding": {"x": {"field": "removed", "type": "quantitative", "title": title},
                         "y": {"field": "rule", "type": "nominal", "sort": "-x", "title": None,
                               "axis": {"labelLimit": 0}}}}


def histogram(hist: pl.DataFrame, title: str, lines: list[dict[str, Any]] | None = None,
              height: int = 200) -> dict[str, Any]:
    """Binned counts (start, end, count) with red threshold rules (at, name) drawn over them."""
    layers: list[dict[str, Any]] = [{
        "data": {"values": _values(hist)}, "mark": {"type": "bar", "tooltip": True},
        "encoding": {"x": {"field": "start", "type": "quantitative", "bin": "binned", "title": title},
                     "x2": {"field": "end"}, "y": {"field": "count", "type": "quantitative", "title": "documents"}}}]
    if lines:
        layers.append({"data": {"values": lines}, "mark": {"type": "rule", "color": "red", "strokeWidth": 2},
                       "encoding": {"x": {"field": "at", "type": "quantitative"},
                                    "tooltip": [{"field": "name", "type": "nominal"},
                                                {"field": "at", "type": "quantitative"}]}})
    return {"layer": layers, "height": height}


def lines(df: pl.DataFrame, y_title: str, height: int = 260, zero: bool = True) -> dict[str, Any]:
    """Long-format (step, series, value) as one line per series, with points; each series is drawn through
    the points it has, so a series logged only now and then (eval loss) is not broken by the gaps."""
    enc = {"x": {"field": "step", "type": "quantitative"},
           "y": {"field": "value", "type": "quantitative", "title": y_title, "scale": {"zero": zero}},
           "color": {"field": "series", "type": "nominal", "title": None},
           "tooltip": [{"field": "series"}, {"field": "step", "type": "quantitative"},
                       {"field": "value", "type": "quantitative"}]}
    return {"data": {"values": _values(df)}, "height": height,
            "layer": [{"mark": "line", "encoding": enc},
                      {"mark": {"type": "point", "filled": True}, "encoding": enc,
                       "params": [{"name": "zoom", "select": "interval", "bind": "scales"}]}]}


def scores(rows: list[dict[str, Any]], group: str | None = None) -> dict[str, Any]:
    """Bars with 95% interval whiskers (low, high) per benchmark; side by side per `group` when given."""
    x = {"field": "benchmark", "type": "nominal", "title": None, "axis": {"labelAngle": 0, "labelLimit": 0}}
    enc: dict[str, Any] = {"x": x}
    if group:
        enc["xOffset"] = {"field": group}
        enc["color"] = {"field": group, "type": "nominal"}
    return {"data": {"values": rows}, "height": 260, "layer": [
        {"mark": {"type": "bar", "tooltip": True},
         "encoding": {**enc, "y": {"field": "value", "type": "quantitative", "title": "score (95% CI)"}}},
        {"mark": {"type": "rule", "color": "black", "strokeWidth": 2},
         "encoding": {**{k: v for k, v in enc.items() if k != "color"},
                      "y": {"field": "low", "type": "quantitative", "title": "score (95% CI)"},
                      "y2": {"field": "high"}}}]}


def deltas(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """B - A per benchmark with its confidence interval, and a dashed line at zero."""
    y = {"field": "benchmark", "type": "nominal", "title": None, "axis": {"labelLimit": 0}}
    return {"data": {"values": rows}, "height": 40 + 30 * len(rows), "layer": [
        {"mark": {"type": "rule"}, "encoding": {"y": y, "x": {"field": "CI low", "type": "quantitative"},
                                               "x2": {"field": "CI high"}}},
        {"mark": {"type": "point", "filled": True, "size": 80, "tooltip": True},
         "encoding": {"y": y, "x": {"field": "B - A", "type": "quantitative", "title": "B - A (95% CI)"}}},
        {"mark": {"type": "rule", "strokeDash": [4, 4]}, "encoding": {"x": {"datum": 0}}}]}
