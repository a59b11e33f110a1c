"""`guard bench`: a policy's and each scanner's detection quality and latency on labelled rows.

Rows are JSONL objects `{"text", "label"}` (label 1: must be flagged, 0: benign), with an optional `"prompt"`
(the row is an answer: the policy's output rails scan it with that prompt) and an optional `"scanner"` (the
row scores that scanner alone, built with the policy's settings for it when the policy lists it).

"Flagged" means at least one scanner made a finding (`valid` false): blocked, redacted or warned. A benign
prompt that gets redacted was still changed, so it counts as a false positive. The policy entry also
counts `blocked_benign` and `blocked_positive`: rows the policy refused outright (a `block` action).
Every entry counts `timeouts`: calls that ran past the scanner's time budget (the policy's `on_timeout`
decided those rows; on a loaded machine they are load, not findings).

The policy runs in `run_all` mode so every scanner gives a verdict on every row (per-scanner scores);
the decision is the same as fail-fast (fail-fast only stops after a finding). The policy's latency per call
is the time the configured policy would take: the whole chain for `run_all`, and the chain up to and
including the first blocking scanner for `fail_fast` (the scanners' own measured latencies).

With evasions, every positive row is scanned again after each transform of `guardrails.evasions`; the
catch rate per transform is reported beside the untransformed one, and `relative` is their ratio.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import WinnowError
from curation.run_folder import manifest_kind
from guardrails.base import Scanner, Verdict
from guardrails.policy import Policy, PolicyRunner, load_policy
from guardrails.report import BENCH_KIND, BENCH_RESERVED, BENCH_RESULTS, BENCH_ROWS, write_manifest
from guardrails.scanners import get_scanner, scanner_names

RESERVED = BENCH_RESERVED
# Everything guard bench writes in its --out folder: the only entries a rerun removes or replaces.
OWNED = (BENCH_RESULTS, BENCH_ROWS, "manifest.json", "progress.jsonl")


def _is_bench_folder(out_dir: Path) -> bool:
    """Whether `out_dir` is a previous guard bench report: its manifest's kind, or (an interrupted run, killed
    before its manifest) only files bench writes, with a progress.jsonl whose first stage is guard bench's."""
    if (out_dir / "manifest.json").is_file():
        return manifest_kind(out_dir) == BENCH_KIND
    prog = out_dir / "progress.jsonl"
    if not {e.name for e in out_dir.iterdir()} <= set(OWNED) or not prog.is_file():
        return False
    try:
        with prog.open(encoding="utf-8") as fh:
            return json.loads(fh.readline()).get("stage") == "guard-bench"
    except (ValueError, AttributeError, UnicodeDecodeError):
        return False


def check_out_dir(out: str | Path, inputs: list[str | Path]) -> Path:
    """Refuse an --out the report must not touch: a file, a folder holding an input (the data or policy
    file), a non-empty folder that is not an earlier guard bench report (a model or curate folder, a user's
    files). Returns the folder."""
    from curation.run_folder import check_inputs_outside, check_writable_dir, refuse_foreign_out

    out_dir = Path(out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise WinnowError(f"--out {out_dir} is a file, not a folder: give a folder path")
    check_inputs_outside(out_dir, [Path(p).expanduser() for p in inputs])
    refuse_foreign_out(out_dir, _is_bench_folder, "a guard bench report")
    check_writable_dir(out_dir)
    return out_dir


def _clear_owned(out_dir: Path) -> None:
    """Remove what an earlier guard bench wrote (a fresh run starts a fresh progress.jsonl); nothing else."""
    for name in OWNED:
        (out_dir / name).unlink(missing_ok=True)


@dataclass(frozen=True)
class LabelledRow:
    line: int
    text: str
    label: int
    prompt: str | None = None
    scanner: str | None = None


def load_labelled(path: str | Path) -> list[LabelledRow]:
    """Read and check the labelled rows (a bad row is a WinnowError naming file:line and the field)."""
    from curation.jsonl import iter_jsonl_objects

    p = Path(path).expanduser()
    if not p.is_file():
        raise WinnowError(f"labelled data not found: {p}")
    known = set(scanner_names())
    rows: list[LabelledRow] = []
    for line, rec in iter_jsonl_objects(p):
        text, label = rec.get("text"), rec.get("label")
        if not isinstance(text, str):
            raise WinnowError(f"{p}:{line}: 'text' must be a string")
        if isinstance(label, bool):
            label = int(label)
        if label not in (0, 1):
            raise WinnowError(f"{p}:{line}: 'label' must be 0 or 1 (1 = must be flagged), got {label!r}")
        prompt = rec.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise WinnowError(f"{p}:{line}: 'prompt' must be a string")
        scanner = rec.get("scanner")
        if scanner is not None and scanner not in known:
            raise WinnowError(f"{p}:{line}: unknown scanner {scanner!r}; known: {', '.join(sorted(known))}")
        rows.append(LabelledRow(line, text, int(label), prompt, scanner))
    if not rows:
        raise WinnowError(f"{p}: no labelled rows")
    return rows


@dataclass
class Tally:
    """Confusion counts and per-call latencies of one scanner or of the policy."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0
    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0

    def add(self, label: int, flagged: bool, latency_ms: float, timed_out: bool = False) -> None:
        self.timeouts += timed_out
        if label:
            self.tp += flagged
            self.fn += not flagged
        else:
            self.fp += flagged
            self.tn += not flagged
        self.latencies.append(latency_ms)

    def scores(self) -> dict[str, Any]:
        return {**scores(self.tp, self.fp, self.tn, self.fn, self.latencies), "timeouts": self.timeouts}


def relative_catch(caught: int, base_caught: int) -> float | None:
    """An evasion's catch count over the untransformed one, from the counts (the rounded rates' ratio drifts:
    4 of 9 over 7 of 9 is 4/7 = 0.5714, 0.4444 / 0.7778 = 0.5713)."""
    return round(caught / base_caught, 4) if base_caught else None


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def scores(tp: int, fp: int, tn: int, fn: int, latencies: list[float]) -> dict[str, Any]:
    """Precision, recall, F1, false-positive rate and p50/p95 latency (None where undefined)."""
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = None
    if precision is not None and recall is not None:  # from the counts, not the rounded P and R (2/7: 0.2857)
        f1 = round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0
    lat = np.asarray(latencies, dtype=np.float64)
    return {"n": tp + fp + tn + fn, "tp": tp, "fp": fp, "tn": tn, "fn": fn, "precision": precision,
            "recall": recall, "f1": f1, "fpr": _ratio(fp, fp + tn),
            "p50_ms": round(float(np.percentile(lat, 50)), 3) if lat.size else None,
            "p95_ms": round(float(np.percentile(lat, 95)), 3) if lat.size else None, "calls": int(lat.size)}


@dataclass
class Outcome:
    """What scanning one text gave: flagged or not, by whom, and how long the configured policy took."""

    flagged: bool
    flagged_by: list[str]
    latency_ms: float
    verdicts: list[Verdict]


class Bench:
    """Scans labelled rows with a policy (run-all) or single scanners and tallies the results."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.fail_fast = policy.mode == "fail_fast"
        self.runner = PolicyRunner(policy.model_copy(update={"mode": "run_all"}))
        self._single: dict[str, Scanner] = {}

    def _scanner(self, name: str) -> tuple[Scanner, float | None]:
        for entry, sc in (*self.runner.input, *self.runner.output):
            if entry.scanner == name:
                return sc, entry.time_budget_ms
        if name not in self._single:
            self._single[name] = get_scanner(name)()
        return self._single[name], None

    def _policy_latency(self, verdicts: list[Verdict], wall_ms: float) -> float:
        if not self.fail_fast:
            return wall_ms
        total = 0.0
        for v in verdicts:
            total += v.latency_ms
            if v.action == "block":
                break
        return total

    def scan(self, text: str, prompt: str | None, scanner: str | None) -> Outcome:
        if scanner is not None:
            sc, budget = self._scanner(scanner)
            t0 = time.perf_counter()
            try:
                v = sc.scan(text, prompt, budget_ms=budget)
            except Exception as e:  # noqa: BLE001 - a scanner error on a row is a finding (fail closed), as in policies
                v = Verdict(scanner=scanner, valid=False, score=1.0, sanitized=text,
                            reasons=[f"scanner error: {type(e).__name__}: {e}"],
                            latency_ms=(time.perf_counter() - t0) * 1000.0)
            return Outcome(not v.valid, [scanner] if not v.valid else [], v.latency_ms, [v])
        res = self.runner.scan_output(text, prompt) if prompt is not None else self.runner.scan_input(text)
        by = [v.scanner for v in res.verdicts if not v.valid]
        return Outcome(bool(by), by, self._policy_latency(res.verdicts, res.latency_ms), res.verdicts)


def run_bench(data: str | Path, policy_path: str | Path | None = None, *, evasions: bool = False,
              transforms: list[str] | None = None, out: str | Path | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Score the policy and its scanners on labelled rows; write the report folder when `out` is given.

    Returns `{"policy": {...}, "<scanner>": {...}, ..., "evasions": {...}, "meta": {...}}`."""
    from curation.progress import Progress
    from guardrails import evasions as ev

    policy = load_policy(policy_path)
    rows = load_labelled(data)
    names = transforms or (ev.transform_names() if evasions else [])
    for n in names:
        if n not in ev.TRANSFORMS:
            raise WinnowError(f"unknown evasion transform {n!r}; known: {', '.join(ev.TRANSFORMS)}")
    positives = [r for r in rows if r.label == 1]
    total = len(rows) + len(positives) * len(names)
    out_dir = None
    if out:
        out_dir = check_out_dir(out, [data, *([policy_path] if policy_path else [])])
        _clear_owned(out_dir)
    started = time.time()
    bench = Bench(policy)
    policy_tally = Tally()
    per: dict[str, Tally] = {}
    records: list[dict[str, Any]] = []
    base_caught: dict[int, bool] = {}
    policy_blocked = [0, 0]  # rows the policy blocked (not just redacted or warned), by label
    with Progress(out_dir, "guard-bench", total=total, unit="scans") as prog:
        def tick() -> None:
            prog.update(1)
            if on_progress is not None:
                on_progress(prog.done, total)

        for i, r in enumerate(rows):
            o = bench.scan(r.text, r.prompt, r.scanner)
            timed_out = [v.scanner for v in o.verdicts if v.timed_out]
            if r.scanner is None:
                policy_tally.add(r.label, o.flagged, o.latency_ms, bool(timed_out))
            for v in o.verdicts:
                per.setdefault(v.scanner, Tally()).add(r.label, not v.valid, v.latency_ms, v.timed_out)
            if r.label:
                base_caught[i] = o.flagged
            blocked_by = [v.scanner for v in o.verdicts if v.action == "block"]
            if r.scanner is None and blocked_by:
                policy_blocked[r.label] += 1
            records.append({"line": r.line, "label": r.label, "scanner": r.scanner,
                            "side": "output" if r.prompt is not None else "input", "flagged": o.flagged,
                            "flagged_by": o.flagged_by, "blocked_by": blocked_by, "timed_out": timed_out,
                            "latency_ms": round(o.latency_ms, 3), "text": r.text[:300]})
            tick()
        ev_out: dict[str, Any] = {}
        if names:
            n_pos = len(positives)
            base = sum(base_caught.values())
            base_rate = _ratio(base, n_pos)
            ev_out = {"baseline": {"n": n_pos, "caught": base, "catch_rate": base_rate}, "transforms": {}}
            for name in names:
                fn = ev.TRANSFORMS[name]
                caught = 0
                missed: list[int] = []
                for r in positives:
                    o = bench.scan(fn(r.text), r.prompt, r.scanner)
                    caught += o.flagged
                    if not o.flagged:
                        missed.append(r.line)
                    tick()
                rate = _ratio(caught, n_pos)
                ev_out["transforms"][name] = {
                    "n": n_pos, "caught": caught, "catch_rate": rate,
                    "relative": relative_catch(caught, base),
                    "missed_lines": missed[:50]}
    result: dict[str, Any] = {"policy": policy_tally.scores()}
    # flagged counts any finding (a redaction changes a benign prompt too); blocked counts refusals only
    result["policy"]["blocked_benign"], result["policy"]["blocked_positive"] = policy_blocked
    for name, t in sorted(per.items()):
        result[name] = t.scores()
    if ev_out:
        result["evasions"] = ev_out
    data_path = Path(data).expanduser().absolute()
    result["meta"] = {"data": str(data_path), "rows": len(rows), "positives": len(positives),
                      "policy": policy.name, "policy_path": str(policy_path) if policy_path else None,
                      "policy_mode": policy.mode, "seconds": round(time.time() - started, 2)}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / BENCH_RESULTS).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (out_dir / BENCH_ROWS).write_text("".join(json.dumps(x) + "\n" for x in records), encoding="utf-8")
        inputs: list[str | Path] = [data_path]
        if policy_path:
            inputs.append(Path(policy_path).expanduser().absolute())
        write_manifest(out_dir, BENCH_KIND, [BENCH_RESULTS, BENCH_ROWS], inputs=inputs,
                       config={"data": str(data_path), "policy": policy.model_dump(mode="json"),
                               "evasions": names})
    return result


def scanner_entries(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-scanner entries of a bench result (every key but the reserved ones)."""
    return {k: v for k, v in result.items() if k not in RESERVED}


def _fmt(x: Any, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if not pct else f"{100 * x:.1f}%"


def render(result: dict[str, Any]) -> str:
    """A plain-text table of the result (policy first, then each scanner; evasions when present)."""
    head = f"{'':<18} {'n':>6} {'prec':>6} {'recall':>6} {'f1':>6} {'fpr':>6} {'p50 ms':>8} {'p95 ms':>8}"
    lines = [head]
    entries = [("policy", result["policy"])] if result["policy"]["n"] else []  # no row scored by the policy
    for name, s in [*entries, *scanner_entries(result).items()]:
        lines.append(f"{name:<18} {s['n']:>6} {_fmt(s['precision']):>6} {_fmt(s['recall']):>6} {_fmt(s['f1']):>6} "
                     f"{_fmt(s['fpr']):>6} {_fmt(s['p50_ms']):>8} {_fmt(s['p95_ms']):>8}")
    ev = result.get("evasions")
    if ev:
        b = ev["baseline"]
        lines.append("")
        lines.append(f"evasions ({b['n']} positive rows; untransformed catch rate {_fmt(b['catch_rate'], True)})")
        for name, t in ev["transforms"].items():
            rel = f"{t['relative']:.2f}x of untransformed" if t["relative"] is not None else "-"
            lines.append(f"  {name:<12} caught {t['caught']:>5}/{t['n']:<5} {_fmt(t['catch_rate'], True):>7}  {rel}")
    return "\n".join(lines)
