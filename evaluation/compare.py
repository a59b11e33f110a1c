"""Compare reports: scores side by side and, for two reports, a paired test over shared samples.

Reports are paired per sample (task + doc_id), never by their means: McNemar's exact test on the
discordant pairs for 0/1 metrics, and a seeded, vectorised paired bootstrap for the confidence interval
of the difference. lm-eval's own comparator uses an unpaired z-test (lm-eval #3831).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import WinnowError
from evaluation import report as rpt


def fingerprint_diffs(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(blocking, soft) differences between two fingerprints, over the benchmarks both reports hold."""
    fa, fb = a["fingerprint"], b["fingerprint"]
    shared = sorted(set(a["scores"]) & set(b["scores"]))
    blocking: list[str] = []
    for bench in shared:
        ha, hb = fa.get("task_config", {}).get(bench), fb.get("task_config", {}).get(bench)
        if ha != hb:
            blocking.append(f"{bench}: task config differs ({ha} vs {hb})")
        na, nb = fa.get("num_fewshot", {}).get(bench), fb.get("num_fewshot", {}).get(bench)
        if na != nb:
            blocking.append(f"{bench}: few-shot differs ({na} vs {nb})")
    da, db = fa.get("data", {}), fb.get("data", {})
    for f in sorted(set(da) & set(db)):
        if da[f] != db[f]:
            blocking.append(f"data file {f}: checksum differs ({da[f][:12]} vs {db[f][:12]})")
    if fa.get("limit") != fb.get("limit"):
        blocking.append(f"limit differs ({fa.get('limit')} vs {fb.get('limit')})")
    if bool(fa.get("synthetic_data")) != bool(fb.get("synthetic_data")):
        blocking.append("one report scored synthetic data, the other real data")
    soft = [f"{k} differs ({fa.get(k)} vs {fb.get(k)})" for k in rpt.SOFT_FIELDS if fa.get(k) != fb.get(k)]
    return blocking, soft


def mcnemar_exact(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """McNemar's exact test: two-sided binomial test of the discordant pairs against p = 0.5."""
    from scipy.stats import binomtest

    a1, b1 = a > 0.5, b > 0.5
    only_a = int(np.count_nonzero(a1 & ~b1))
    only_b = int(np.count_nonzero(~a1 & b1))
    n = only_a + only_b
    p = 1.0 if n == 0 else float(binomtest(min(only_a, only_b), n, 0.5, alternative="two-sided").pvalue)
    return {"only_a_correct": only_a, "only_b_correct": only_b, "discordant": n, "p_value": p}


def paired_bootstrap(a: np.ndarray, b: np.ndarray, iters: int = 10000, seed: int = 0,
                     alpha: float = 0.05) -> dict[str, float]:
    """Percentile CI of mean(b - a) resampling pairs with replacement (chunked, so memory stays small)."""
    if iters < 1:
        raise WinnowError(f"--bootstrap-iters must be at least 1 (got {iters})")
    d = (b - a).astype(np.float64)
    n = d.size
    if n == 0:
        return {"diff": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "iters": 0}
    rng = np.random.default_rng(seed)
    chunk = max(1, min(iters, 4_000_000 // max(n, 1)))
    means = np.empty(iters)
    for s in range(0, iters, chunk):
        k = min(chunk, iters - s)
        idx = rng.integers(0, n, size=(k, n))
        means[s:s + k] = d[idx].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {"diff": float(d.mean()), "ci_low": float(lo), "ci_high": float(hi), "iters": iters}


# Below these the percentile bootstrap is not shown as a CI. It resamples only the observed differences: with k
# non-zero differences all of one sign it excludes 0 as soon as (1 - k/n)^n ~ e^-k < 2.5%, i.e. from k = 4,
# where McNemar's exact two-sided p is 2 * 0.5^4 = 0.125 (3 of 3 gives [1.0, 1.0] against p = 0.25). From
# 10 differing pairs (all one way: p = 0.002) and 30 pairs in all the two agree in practice.
MIN_BOOTSTRAP_PAIRS = 30
MIN_BOOTSTRAP_DIFFERING = 10


def _bootstrap_entry(va: np.ndarray, vb: np.ndarray, iters: int, seed: int) -> dict[str, Any]:
    """paired_bootstrap, with the CI withheld (None, the computed bounds kept as `unreliable_ci`) and a note
    when there are too few pairs, or too few that differ, for a percentile interval to mean anything."""
    bs: dict[str, Any] = {**paired_bootstrap(va, vb, iters=iters, seed=seed), "reliable": True}
    differing = int(np.count_nonzero(vb != va))
    if va.size < MIN_BOOTSTRAP_PAIRS or differing < MIN_BOOTSTRAP_DIFFERING:
        bs.update(reliable=False, unreliable_ci=[bs["ci_low"], bs["ci_high"]], ci_low=None, ci_high=None,
                  note=f"{va.size} pairs, {differing} differing: too few for a bootstrap CI (needs at least "
                       f"{MIN_BOOTSTRAP_PAIRS} pairs and {MIN_BOOTSTRAP_DIFFERING} that differ); read McNemar's "
                       "exact p")
    return bs


def _paired_values(a: dict[str, Any], b: dict[str, Any], bench: str
                   ) -> tuple[np.ndarray, np.ndarray, str, tuple[int, int]]:
    """The metric of the items both reports scored (paired by task + doc_id), and how many items each report's
    per-sample files hold for the benchmark (over all its own tasks)."""
    metric = a["scores"][bench]["metric"]
    ta, tb = a["scores"][bench].get("tasks", [bench]), b["scores"][bench].get("tasks", [bench])
    va, vb = [], []
    held = [0, 0]
    for task in sorted(set(ta) | set(tb)):
        sa = rpt.read_samples(a, task, metric) if task in ta else {}
        sb = rpt.read_samples(b, task, metric) if task in tb else {}
        held[0] += len(sa)
        held[1] += len(sb)
        for doc in sorted(set(sa) & set(sb)):
            va.append(sa[doc])
            vb.append(sb[doc])
    return np.asarray(va, dtype=np.float64), np.asarray(vb, dtype=np.float64), metric, (held[0], held[1])


def _short_pairs(bench: str, names: list[str], reps: list[dict[str, Any]], n_pairs: int,
                 held: tuple[int, int]) -> dict[str, Any] | None:
    """When fewer items pair than either report's score is over: each report's n, what its samples hold, and
    which report is short (its per-sample files miss items its score counted), else None."""
    ns = []
    for r, h in zip(reps, held, strict=True):
        n = r["scores"][bench].get("n")
        ns.append(int(n) if isinstance(n, int | float) and n > 0 else h)
    if n_pairs >= max(ns):
        return None
    short = [names[i] for i in range(2) if held[i] < ns[i]]
    parts = [f"{names[i]} n={ns[i]}" + (f" (its per-sample files hold only {held[i]})" if held[i] < ns[i] else "")
             for i in range(2) if n_pairs < ns[i]]
    why = f"samples missing from {' and '.join(short)}" if short else "the reports scored different items"
    return {"n": ns, "held": list(held), "short": short,
            "message": f"{bench}: only {n_pairs} items pair, fewer than {' and '.join(parts)}: {why}; the "
                       "headline scores are over each report's full set, the paired difference over the "
                       f"{n_pairs} shared items"}


def compare(folders: list[Path], force: bool = False, iters: int = 10000, seed: int = 0) -> dict[str, Any]:
    """Side-by-side scores; for two reports the paired statistics. Refuses mismatched fingerprints."""
    if len(folders) < 2:
        raise WinnowError("give at least two report folders to compare")
    if iters < 1:  # before any report is read (0 failed deep in numpy with an IndexError, -5 a ValueError)
        raise WinnowError(f"--bootstrap-iters must be at least 1 (got {iters})")
    reps = [rpt.load_report(f) for f in folders]  # all checked before any work
    names = [str(f) for f in folders]
    blocking: list[str] = []
    soft: list[str] = []
    # every pair, not each report against the first: with A (arc), B and C (hellaswag 0- and 3-shot) the
    # B/C mismatch was never looked at, since A shares no benchmark with them
    for i in range(len(reps)):
        for j in range(i + 1, len(reps)):
            bl, so = fingerprint_diffs(reps[i], reps[j])
            blocking += [f"{names[i]} vs {names[j]}: {x}" for x in bl]
            soft += [f"{names[i]} vs {names[j]}: {x}" for x in so]
    values = []
    if len(reps) == 2:
        for bench in sorted(set(reps[0]["scores"]) & set(reps[1]["scores"])):
            va, vb, metric, held = _paired_values(reps[0], reps[1], bench)
            short = _short_pairs(bench, names, reps, int(va.size), held)
            if short:  # refused like a fingerprint mismatch: full-set scores are not what the pairs measure
                blocking.append(f"{names[0]} vs {names[1]}: {short['message']}")
            values.append((bench, va, vb, metric, short))
    if blocking and not force:
        raise WinnowError("reports are not comparable (they differ in what changes the numbers): "
                          + "; ".join(blocking) + " (use --force to compare anyway)")
    benches = sorted(set().union(*(r["scores"] for r in reps)))
    table = []
    for bench in benches:
        row: dict[str, Any] = {"benchmark": bench, "metric": None, "scores": []}
        for r in reps:
            s = r["scores"].get(bench)
            row["scores"].append(None if s is None else {"value": s.get("value"), "stderr": s.get("stderr")})
            if s is not None:
                row["metric"] = s.get("label", s["metric"])
        table.append(row)
    out: dict[str, Any] = {"reports": names, "models": [r["fingerprint"]["model"]["path"] for r in reps],
                           "table": table, "warnings": soft, "forced": blocking if force else [],
                           "contamination": [r.get("contamination") for r in reps]}
    if len(reps) == 2:
        paired = []
        for bench, va, vb, metric, short in values:
            entry: dict[str, Any] = {"benchmark": bench, "metric": metric, "n_pairs": int(va.size),
                                     "mean_a": float(va.mean()) if va.size else None,
                                     "mean_b": float(vb.mean()) if vb.size else None, "short": short}
            entry["bootstrap"] = _bootstrap_entry(va, vb, iters, seed)
            binary = va.size > 0 and bool(np.isin(va, (0.0, 1.0)).all() and np.isin(vb, (0.0, 1.0)).all())
            entry["mcnemar"] = mcnemar_exact(va, vb) if binary else None
            paired.append(entry)
        out["paired"] = paired
    return out


def _fmt(v: float | None, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def render(result: dict[str, Any], fmt: str = "table") -> str:
    """The comparison as a plain table, Markdown or JSON."""
    if fmt == "json":
        return json.dumps(result, indent=2)
    if fmt not in ("table", "markdown"):
        raise WinnowError(f"unknown --format {fmt}; use table, json or markdown")
    labels = [chr(ord("A") + i) for i in range(len(result["reports"]))]
    head = ["benchmark", "metric", *labels]
    rows = []
    for r in result["table"]:
        cells = [r["benchmark"], r["metric"] or "-"]
        for s in r["scores"]:
            cells.append("-" if s is None else f"{_fmt(s['value'])} ± {_fmt(s['stderr'])}"
                         if s.get("stderr") is not None else _fmt(s["value"]))
        rows.append(cells)
    phead = ["benchmark", "pairs", "B - A", "95% CI (bootstrap)", "A only", "B only", "McNemar p"]
    prows = []
    for p in result.get("paired", []):
        bs, mc = p["bootstrap"], p["mcnemar"]
        prows.append([p["benchmark"], f"{p['n_pairs']}*" if p.get("short") else str(p["n_pairs"]), _fmt(bs["diff"]),
                      f"[{_fmt(bs['ci_low'])}, {_fmt(bs['ci_high'])}]" if bs.get("reliable", True)
                      else "n/a (too few pairs)",
                      str(mc["only_a_correct"]) if mc else "-", str(mc["only_b_correct"]) if mc else "-",
                      f"{mc['p_value']:.4g}" if mc else "n/a (not 0/1)"])
    lines = [f"{lab}: {rep}  ({model})" for lab, rep, model in
             zip(labels, result["reports"], result["models"], strict=True)]
    lines.append("")
    lines += _grid(head, rows, fmt)
    if prows:
        lines += ["", "paired over shared samples (task + doc_id):"] + _grid(phead, prows, fmt)
        for p in result.get("paired", []):
            if not p["bootstrap"].get("reliable", True):
                lines.append(f"note: {p['benchmark']}: no bootstrap CI: {p['bootstrap']['note']}")
            if p.get("short"):
                lines.append(f"* {p['short']['message']}: over those items A = {_fmt(p['mean_a'])}, "
                             f"B = {_fmt(p['mean_b'])}")
    for lab, block in zip(labels, result.get("contamination", []), strict=False):
        if block:
            from evaluation.contamination import render as render_contamination

            lines += ["", f"{lab}: " + render_contamination(block)[0]] + render_contamination(block)[1:]
    for w in result.get("warnings", []):
        lines.append(f"warning: {w}")
    for w in result.get("forced", []):
        lines.append(f"forced despite: {w}")
    return "\n".join(lines)


def _grid(head: list[str], rows: list[list[str]], fmt: str) -> list[str]:
    if fmt == "markdown":
        return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return [line(head)] + [line(r) for r in rows]


def plot_deltas(result: dict[str, Any], path: Path) -> Path:
    """Bar chart of B - A per benchmark with the bootstrap 95% CI, written to exactly `path` (returned): in the
    format its suffix names when matplotlib knows it, else PNG (matplotlib alone would add `.png` to a name
    without a suffix, or refuse an unknown one)."""
    paired = result.get("paired")
    if not paired:
        raise WinnowError("--plot needs exactly two reports (a paired comparison)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [p["bootstrap"].get("reliable", True) for p in paired]  # no error bar where the CI is withheld
    names = [p["benchmark"] + ("" if r else "\n(no CI: few pairs)") for p, r in zip(paired, ok, strict=True)]
    diffs = np.array([p["bootstrap"]["diff"] for p in paired])
    bounds = [(p["bootstrap"]["ci_low"], p["bootstrap"]["ci_high"]) if r else (p["bootstrap"]["diff"],) * 2
              for p, r in zip(paired, ok, strict=True)]
    lo = diffs - np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds]) - diffs
    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(names) + 1), 3.6))
    colors = ["#55A868" if d >= 0 else "#C44E52" for d in diffs]
    ax.bar(names, diffs, yerr=np.vstack([lo, hi]), capsize=4, color=colors)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("B - A (95% paired bootstrap CI)")
    ax.set_title(f"B: {Path(result['reports'][1]).name} vs A: {Path(result['reports'][0]).name}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix[1:].lower()
    fig.savefig(path, dpi=110, format=fmt if fmt in fig.canvas.get_supported_filetypes() else "png")
    plt.close(fig)
    return path
