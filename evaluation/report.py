"""The report folder: lm-eval's own files wrapped with our `report.json` (fingerprint + headline scores).

The fingerprint holds everything known to move leaderboard numbers (harness version, task config,
data checksums, few-shot, limit, batch size, dtype, BOS handling, chat template), so `eval compare`
can refuse to compare numbers that were not produced the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from curation.errors import WinnowError

T = TypeVar("T")

REPORT = "report.json"
REPORT_VERSION = 1
# fingerprint fields that change the numbers themselves: compare refuses when they differ
STRICT_FIELDS = ("data", "task_config", "num_fewshot", "limit")
# fields that can shift scores slightly: compare warns
SOFT_FIELDS = ("lm_eval_version", "dtype", "batch_size", "apply_chat_template", "chat_template_sha256",
               "add_bos_token")


def _num(v: Any) -> float | None:
    if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
        return float(v)
    return None


def headline(results: dict[str, Any], benchmarks: dict[str, str]) -> dict[str, dict[str, Any]]:
    """`{benchmark: {metric, value, stderr, n, tasks}}` from lm-eval's results for the chosen metrics."""
    res = results["results"]
    n_samples = results.get("n-samples", {})
    out: dict[str, dict[str, Any]] = {}
    for bench, metric in benchmarks.items():
        row = res.get(bench) or results.get("groups", {}).get(bench)
        if row is None:
            continue
        entry: dict[str, Any] = {"metric": metric, "value": _num(row.get(f"{metric},none")),
                                 "stderr": _num(row.get(f"{metric}_stderr,none"))}
        if bench == "mmlu":
            subs = sorted(k for k in res if k.startswith("mmlu_") and k.removeprefix("mmlu_")
                          not in ("stem", "other", "social_sciences", "humanities"))
            vals = [_num(res[k].get(f"{metric},none")) for k in subs]
            vals = [v for v in vals if v is not None]
            entry["average"] = "lm-eval group score: subjects weighted by size (weight_by_size=True)"
            entry["unweighted_subject_mean"] = sum(vals) / len(vals) if vals else None
            entry["tasks"] = subs
            entry["n"] = sum(int(n_samples.get(k, {}).get("effective", 0)) for k in subs)
        else:
            entry["tasks"] = [bench]
            entry["n"] = int(n_samples.get(bench, {}).get("effective", 0))
        if bench == "truthfulqa_mc2":
            entry["label"] = "mc2"
        out[bench] = entry
    return out


def write_report(out: Path, report: dict[str, Any]) -> Path:
    path = out / REPORT
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def load_report(folder: str | Path) -> dict[str, Any]:
    """Read a report folder, checking it is one (WinnowError names what is missing)."""
    folder = Path(folder)
    path = folder / REPORT
    if not folder.is_dir():
        raise WinnowError(f"{folder}: no such report folder")
    if not path.exists():
        raise WinnowError(f"{folder}: not an evaluation report (no {REPORT}; make one with `winnow eval run`)")
    try:
        rep = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WinnowError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    for key in ("fingerprint", "scores", "files"):
        if key not in rep:
            raise WinnowError(f"{path}: not an evaluation report (no '{key}' field)")
    for task, rel in rep["files"].get("samples", {}).items():
        if not (folder / rel).exists():
            raise WinnowError(f"{folder}: per-sample file for {task} is missing ({rel})")
    rep["_dir"] = str(folder)
    return rep


def read_sample_values(rep: dict[str, Any], task: str, value: Callable[[dict[str, Any]], T],
                       what: str) -> dict[int, T] | None:
    """`{doc_id: value(record)}` of one lm-eval task from the report's per-sample JSONL (None when the report
    stores none for it); a record `value` cannot read is one error naming the line and `what` it should be."""
    rel = (rep["files"].get("samples") or {}).get(task)
    if rel is None:
        return None
    path = Path(rep["_dir"]) / rel
    out: dict[int, T] = {}
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                out[int(rec["doc_id"])] = value(rec)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise WinnowError(f"{path}:{i}: not {what}") from None
    return out


def read_samples(rep: dict[str, Any], task: str, metric: str) -> dict[int, float]:
    """`{doc_id: metric value}` of one lm-eval task from the report's per-sample JSONL."""
    return read_sample_values(rep, task, lambda rec: float(rec[metric]),
                              f"an lm-eval sample record with doc_id and {metric}") or {}


def plot_scores(scores: dict[str, dict[str, Any]], path: Path, title: str) -> Path | None:
    """Bar chart of the headline scores with +-1.96 stderr error bars."""
    items = [(b, s) for b, s in scores.items() if s.get("value") is not None]
    if not items:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{b}\n{s.get('label', s['metric'])}" for b, s in items]
    vals = [s["value"] for _, s in items]
    errs = [1.96 * (s.get("stderr") or 0.0) for _, s in items]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(items) + 1), 3.6))
    ax.bar(names, vals, yerr=errs, capsize=4, color="#4C72B0")
    ax.set_ylabel("score (95% CI)")
    ax.set_title(title, fontsize=9)
    ax.set_ylim(0, max(1.0, max(v + e for v, e in zip(vals, errs, strict=True))))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
