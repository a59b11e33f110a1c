"""Compare reports: scores side by side and, for two reports, a paired test over shared samples.

Reports are paired per sample (task + doc_id), never by their means: McNemar's exact test on the
discordant pairs for 0/1 metrics, and a seeded, vectorised paired bootstrap for the confidence interval
of the difference. lm-eval's own comparator uses an unpaired z-test (lm-eval #3831).
Every pair of reports passes the same fingerprint checks; a benchmark whose paired items are fewer than either
report's n is refused like a fingerprint mismatch (--force shows it, marked); below MIN_BOOTSTRAP_PAIRS pairs
or MIN_BOOTSTRAP_DIFFERING differing pairs the bootstrap CI is withheld and McNemar's exact p stands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
        if da[f] != db[f] and not f.startswith("perplexity/"):  # held-out text: perplexity_block says so
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


def resampled(n: int, iters: int, seed: int, stat: Callable[[np.ndarray], np.ndarray], cells: int) -> np.ndarray:
    """`stat(idx)` over `iters` resamples of n items with replacement, `idx` a (k, n) array of indices; drawn in
    chunks of at most `cells` indices, so memory stays small."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(iters, cells // max(n, 1)))
    out = np.empty(iters)
    for s in range(0, iters, chunk):
        k = min(chunk, iters - s)
        out[s:s + k] = stat(rng.integers(0, n, size=(k, n)))
    return out


def paired_bootstrap(a: np.ndarray, b: np.ndarray, iters: int = 10000, seed: int = 0,
                     alpha: float = 0.05) -> dict[str, float]:
    """Percentile CI of mean(b - a) resampling pairs with replacement (chunked, so memory stays small)."""
    if iters < 1:
        raise WinnowError(f"--bootstrap-iters must be at least 1 (got {iters})")
    d = (b - a).astype(np.float64)
    n = d.size
    if n == 0:
        return {"diff": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "iters": 0}
    means = resampled(n, iters, seed, lambda idx: d[idx].mean(axis=1), 4_000_000)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {"diff": float(d.mean()), "ci_low": float(lo), "ci_high": float(hi), "iters": iters}


# Below these the percentile bootstrap is not shown as a CI. It resamples only the observed differences: with k
# non-zero differences all of one sign it excludes 0 as soon as (1 - k/n)^n ~ e^-k < 2.5%, i.e. from k = 4,
# where McNemar's exact two-sided p is 2 * 0.5^4 = 0.125 (3 of 3 gives [1.0, 1.0] against p = 0.25). From
# 10 differing pairs and 30 pairs in all the interval is no longer degenerate, but it is still not McNemar's
# test: near p = 0.05 the two can disagree (100 pairs, 2 against 9: CI [0.01, 0.14], p = 0.065), and the
# comparison then says so (`_disagreement`).
MIN_BOOTSTRAP_PAIRS = 30
MIN_BOOTSTRAP_DIFFERING = 10


def _bootstrap_entry(va: np.ndarray, vb: np.ndarray, iters: int, seed: int, binary: bool = True) -> dict[str, Any]:
    """paired_bootstrap, with the CI withheld (None, the computed bounds kept as `unreliable_ci`) and a note
    when there are too few pairs, or too few that differ, for a percentile interval to mean anything. For a
    score that is not 0/1 there is no McNemar test to fall back on, and the note says that instead."""
    bs: dict[str, Any] = {**paired_bootstrap(va, vb, iters=iters, seed=seed), "reliable": True}
    differing = int(np.count_nonzero(vb != va))
    if va.size < MIN_BOOTSTRAP_PAIRS or differing < MIN_BOOTSTRAP_DIFFERING:
        bs.update(reliable=False, unreliable_ci=[bs["ci_low"], bs["ci_high"]], ci_low=None, ci_high=None,
                  note=f"{va.size} pairs, {differing} differing: too few for a bootstrap CI (needs at least "
                       f"{MIN_BOOTSTRAP_PAIRS} pairs and {MIN_BOOTSTRAP_DIFFERING} that differ); "
                       + ("read McNemar's exact p" if binary else
                          "the score is not 0/1, so no exact test either: this difference is untested"))
    return bs


def _disagreement(bs: dict[str, Any], mc: dict[str, Any] | None, alpha: float = 0.05) -> str | None:
    """A note when the shown bootstrap CI and McNemar's exact test reach different verdicts at `alpha` (they are
    different tests; near the edge the percentile interval is the bolder one), else None."""
    if mc is None or not bs.get("reliable", True) or bs.get("ci_low") is None:
        return None
    excludes_zero = bs["ci_low"] > 0 or bs["ci_high"] < 0
    if excludes_zero == (mc["p_value"] < alpha):
        return None
    return (f"the bootstrap CI {'excludes' if excludes_zero else 'includes'} 0 but McNemar's exact p is "
            f"{mc['p_value']:.3g}: the two tests disagree, so the difference is borderline; the exact test is the "
            "one to trust on few differing pairs")


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


PERPLEXITY_SAMPLES = "winnow_perplexity"  # evaluation.tasks.PERPLEXITY_TASK (not imported: tasks pulls in lm-eval)


def _heldout_sha(rep: dict[str, Any]) -> str | None:
    """The sha256 of the held-out text a report's perplexity was computed on (from its data fingerprint)."""
    shas = sorted(v for k, v in (rep["fingerprint"].get("data") or {}).items() if k.startswith("perplexity/"))
    return shas[0] if len(shas) == 1 else None


def _perplexity_docs(rep: dict[str, Any]) -> dict[int, tuple[float, float, float]] | None:
    """`{doc_id: (loglikelihood, words, bytes)}` from lm-eval's per-document perplexity samples, when stored."""
    def value(rec: dict[str, Any]) -> tuple[float, float, float]:
        ll, words = rec["word_perplexity"]
        _, nbytes = rec["bits_per_byte"]
        return float(ll), float(words), float(nbytes)

    return rpt.read_sample_values(rep, PERPLEXITY_SAMPLES, value,
                                  "an lm-eval perplexity sample (doc_id, word_perplexity, bits_per_byte)")


def bits_per_byte_bootstrap(a: np.ndarray, b: np.ndarray, iters: int = 10000, seed: int = 0,
                            alpha: float = 0.05) -> dict[str, float]:
    """Percentile CI of bits_per_byte(B) - bits_per_byte(A), resampling documents in pairs. `a`, `b` are
    (n, 2) arrays of (loglikelihood, bytes) per document; bits per byte is lm-eval's corpus-level
    -sum(ll) / sum(bytes) / ln 2 (a ratio of sums, so the documents are resampled, not per-document ratios)."""
    def bpb(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return -x[idx, 0].sum(axis=1) / x[idx, 1].sum(axis=1) / np.log(2)

    diffs = resampled(a.shape[0], iters, seed, lambda idx: bpb(b, idx) - bpb(a, idx), 2_000_000)
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return {"ci_low": float(lo), "ci_high": float(hi), "iters": iters}


def perplexity_block(reps: list[dict[str, Any]], iters: int, seed: int) -> dict[str, Any] | None:
    """Word perplexity and bits per byte of each report (None where it has none) and, for two reports computed
    on the same held-out text (same sha256), B - A with a paired bootstrap CI of the bits-per-byte difference
    over documents (from lm-eval's per-document samples, at least MIN_BOOTSTRAP_PAIRS documents)."""
    blocks = [r.get("perplexity") if isinstance(r.get("perplexity"), dict) else None for r in reps]
    if not any(blocks):
        return None
    shas = [_heldout_sha(r) if b else None for r, b in zip(reps, blocks, strict=True)]
    values = [None if b is None else {m: b.get(m) for m in ("word_perplexity", "bits_per_byte")} for b in blocks]
    out: dict[str, Any] = {"values": values, "sha256": shas, "same_text": None, "diff": None, "note": None}
    if not all(blocks):
        out["note"] = "not every report has perplexity (eval run --perplexity FILE)"
        return out
    out["same_text"] = len(set(shas)) == 1 and shas[0] is not None
    if not out["same_text"]:
        out["note"] = ("computed on different held-out text (" + " vs ".join(str(x)[:12] for x in shas)
                       + "): not comparable")
        return out
    if len(reps) != 2:
        return out
    a, b = values
    diff: dict[str, Any] = {m: (b[m] - a[m]) if isinstance(a[m], float | int) and isinstance(b[m], float | int)
                            else None for m in ("word_perplexity", "bits_per_byte")}
    diff["bits_per_byte_ci"] = None
    docs = [_perplexity_docs(r) for r in reps]
    if docs[0] is None or docs[1] is None:
        out["note"] = "no per-document perplexity samples stored: no CI"
    else:
        shared = sorted(set(docs[0]) & set(docs[1]))
        if len(shared) < MIN_BOOTSTRAP_PAIRS:
            out["note"] = (f"{len(shared)} held-out documents: too few for a bootstrap CI (needs at least "
                           f"{MIN_BOOTSTRAP_PAIRS})")
        else:
            xa = np.array([[docs[0][d][0], docs[0][d][2]] for d in shared])
            xb = np.array([[docs[1][d][0], docs[1][d][2]] for d in shared])
            diff["bits_per_byte_ci"] = bits_per_byte_bootstrap(xa, xb, iters=iters, seed=seed)
            diff["documents"] = len(shared)
    out["diff"] = diff
    return out


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
            binary = va.size > 0 and bool(np.isin(va, (0.0, 1.0)).all() and np.isin(vb, (0.0, 1.0)).all())
            entry["bootstrap"] = _bootstrap_entry(va, vb, iters, seed, binary)
            entry["mcnemar"] = mcnemar_exact(va, vb) if binary else None
            entry["disagreement"] = _disagreement(entry["bootstrap"], entry["mcnemar"])
            paired.append(entry)
        out["paired"] = paired
    ppl = perplexity_block(reps, iters, seed)
    if ppl is not None:
        out["perplexity"] = ppl
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
        lines += [n if n.startswith("* ") else f"note: {n}" for n in paired_notes(result)]
    ppl = result.get("perplexity")
    if ppl:
        lines += ["", "held-out text:"] + _grid(*_perplexity_rows(ppl, labels), fmt)
        if ppl.get("note"):
            lines.append(f"note: perplexity: {ppl['note']}")
    for lab, block in zip(labels, result.get("contamination", []), strict=False):
        if block:
            from evaluation.contamination import render as render_contamination

            lines += ["", f"{lab}: " + render_contamination(block)[0]] + render_contamination(block)[1:]
    for w in result.get("warnings", []):
        lines.append(f"warning: {w}")
    for w in result.get("forced", []):
        lines.append(f"forced despite: {w}")
    return "\n".join(lines)


def paired_notes(result: dict[str, Any]) -> list[str]:
    """What is said under the paired table (by `render` and the app): a withheld bootstrap CI and why, a CI that
    disagrees with McNemar's p, and (marked `* `, as its pairs cell is) a forced pairing of fewer items than
    the reports hold, with the means over the pairs."""
    notes = []
    for p in result.get("paired", []) or []:
        bs = p.get("bootstrap") or {}
        if not bs.get("reliable", True):
            notes.append(f"{p['benchmark']}: no bootstrap CI: {bs.get('note')}")
        if p.get("disagreement"):
            notes.append(f"{p['benchmark']}: {p['disagreement']}")
        if p.get("short"):
            notes.append(f"* {p['short']['message']}: over those items A = {_fmt(p.get('mean_a'))}, "
                         f"B = {_fmt(p.get('mean_b'))}")
    return notes


def _perplexity_rows(ppl: dict[str, Any], labels: list[str]) -> tuple[list[str], list[list[str]]]:
    diff = ppl.get("diff")
    head = ["metric", *labels] + (["B - A", "95% CI (bootstrap over documents)"] if diff else [])
    rows = []
    for m, label in (("word_perplexity", "word perplexity"), ("bits_per_byte", "bits per byte")):
        cells = [label] + [_fmt(v[m]) if v and v.get(m) is not None else "-" for v in ppl["values"]]
        if diff:
            ci = diff.get("bits_per_byte_ci") if m == "bits_per_byte" else None
            cells += [_fmt(diff[m]), f"[{_fmt(ci['ci_low'])}, {_fmt(ci['ci_high'])}]" if ci else "-"]
        rows.append(cells)
    return head, rows


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
