"""The typed reader of an evaluation report folder (`winnow eval run --out REPORT`).

Built on `evaluation.report.load_report` (the same checks `eval compare` makes). Adds what a person
browsing reports needs: headline scores with their 95% intervals, each sample's question, choices and
the choice the model made (from lm-eval's per-sample JSONL), the samples two models disagree on, and the
clean/contaminated split when the report has one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation import report as rpt


@dataclass
class Sample:
    """One scored item: the prompt, the choices, which the model picked and whether that was right."""

    task: str
    doc_id: int
    question: str
    choices: list[str]
    target: int | None
    picked: int | None
    correct: float | None


def _target_index(rec: dict[str, Any], choices: list[str]) -> int | None:
    t = rec.get("target")
    if isinstance(t, bool):
        return None
    if isinstance(t, int):
        return t
    if isinstance(t, str):
        if t.strip().isdigit():
            return int(t.strip())
        stripped = [c.strip() for c in choices]
        return stripped.index(t.strip()) if t.strip() in stripped else None
    return None


def _choice_lengths(choices: list[str], metric: str, target_delimiter: str) -> np.ndarray | None:
    """The per-choice divisor lm-eval's metric uses (api/task.py, multiple_choice): acc_norm divides each
    log-likelihood by the choice's length in characters, acc_bytes by its UTF-8 bytes, both without the target
    delimiter the request's continuation starts with; None for acc (the raw log-likelihood)."""
    if metric not in ("acc_norm", "acc_bytes"):
        return None
    bare = [c[len(target_delimiter):] if target_delimiter and c.startswith(target_delimiter) else c for c in choices]
    lengths = [len(c.encode("utf-8")) if metric == "acc_bytes" else len(c) for c in bare]
    return np.asarray(lengths, dtype=np.float64)


def sample_from_record(task: str, rec: dict[str, Any], metric: str, target_delimiter: str = " ") -> Sample:
    """A multiple-choice lm-eval record: arguments are (context, continuation) per choice, filtered_resps
    the (loglikelihood, is_greedy) of each. The model's choice is the one the report's metric scores: the most
    likely continuation for acc, the most likely per character for acc_norm (ARC, HellaSwag), so the pick
    shown agrees with the sample's own acc_norm."""
    args = rec.get("arguments") or []
    pairs = [a for a in args if isinstance(a, list | tuple) and len(a) >= 2]
    if not pairs and isinstance(args, dict):  # lm-eval >= 0.4.5 stores {"gen_args_0": {"arg_0": ..}}
        pairs = [(v.get("arg_0"), v.get("arg_1")) for v in args.values() if isinstance(v, dict)]
    question = str(pairs[0][0]) if pairs else str(rec.get("doc", ""))
    choices = [str(p[1]) for p in pairs]
    scores = []
    for r in rec.get("filtered_resps") or []:
        v = r[0] if isinstance(r, list | tuple) and r else r
        try:
            scores.append(float(v))
        except (TypeError, ValueError):
            scores = []
            break
    picked = None
    if scores and len(scores) == len(choices):
        lls = np.asarray(scores, dtype=np.float64)
        lengths = _choice_lengths(choices, metric, target_delimiter)
        if lengths is not None and bool((lengths > 0).all()):
            lls = lls / lengths
        picked = int(np.argmax(lls))  # the first of equal maxima, as lm-eval's np.argmax
    val = rec.get(metric)
    return Sample(task=task, doc_id=int(rec["doc_id"]), question=question, choices=choices,
                  target=_target_index(rec, choices), picked=picked,
                  correct=float(val) if isinstance(val, int | float) else None)


class ReportReader:
    """Read one report folder."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder)
        self.report = rpt.load_report(self.path)

    @property
    def fingerprint(self) -> dict[str, Any]:
        return self.report.get("fingerprint") or {}

    @property
    def model(self) -> str:
        m = self.fingerprint.get("model")
        return str(m.get("path", "")) if isinstance(m, dict) else str(m or "")

    def scores(self) -> list[dict[str, Any]]:
        """benchmark, metric, value, stderr, n, and the 95% interval (value +- 1.96 stderr)."""
        rows = []
        for bench, s in (self.report.get("scores") or {}).items():
            if not isinstance(s, dict):
                continue
            v, se = s.get("value"), s.get("stderr")
            rows.append({"benchmark": bench, "metric": s.get("label", s.get("metric")), "value": v,
                         "stderr": se, "n": s.get("n"),
                         "low": v - 1.96 * se if v is not None and se is not None else v,
                         "high": v + 1.96 * se if v is not None and se is not None else v})
        return rows

    def tasks(self, bench: str) -> list[str]:
        s = (self.report.get("scores") or {}).get(bench) or {}
        return list(s.get("tasks") or [bench])

    def metric(self, bench: str) -> str:
        return str(((self.report.get("scores") or {}).get(bench) or {}).get("metric", "acc"))

    def target_delimiter(self, task: str) -> str:
        """The task's target delimiter from lm-eval's results file (its config), else lm-eval's default ' '."""
        if not hasattr(self, "_configs"):
            self._configs: dict[str, Any] = {}
            rel = (self.report.get("files") or {}).get("results")
            if rel and (self.path / rel).is_file():
                try:
                    self._configs = json.loads((self.path / rel).read_text(encoding="utf-8")).get("configs") or {}
                except (json.JSONDecodeError, AttributeError):
                    self._configs = {}
        d = (self._configs.get(task) or {}).get("target_delimiter")
        return d if isinstance(d, str) else " "

    def samples(self, task: str, metric: str) -> dict[int, Sample]:
        delim = self.target_delimiter(task)
        return rpt.read_sample_values({**self.report, "_dir": str(self.path)}, task,
                                  lambda rec: sample_from_record(task, rec, metric, delim),
                                  "an lm-eval sample record") or {}

    def contamination_runs(self) -> tuple[list[str], list[str]]:
        """(the curated runs the split counts items from, training data in the lineage it could not check)."""
        from evaluation.contamination import curated_runs

        c = self.report.get("contamination")
        if not isinstance(c, dict):
            return [], []
        return curated_runs(c), [str(u) for u in c.get("unchecked") or []]

    def contamination(self) -> list[dict[str, Any]]:
        """Per benchmark: clean and contaminated scores (value, stderr, n) and their difference, when present."""
        c = self.report.get("contamination")
        if not isinstance(c, dict):
            return []
        per = c.get("scores") or c.get("benchmarks") or {k: v for k, v in c.items() if isinstance(v, dict)}
        rows = []
        for bench, split in per.items():
            if not isinstance(split, dict):
                continue
            clean = split.get("clean") or {}
            dirty = split.get("contaminated") or split.get("dirty") or {}
            rows.append({"benchmark": bench,
                         "clean": clean.get("value"), "clean stderr": clean.get("stderr"), "clean n": clean.get("n"),
                         "contaminated": dirty.get("value"), "contaminated stderr": dirty.get("stderr"),
                         "contaminated n": dirty.get("n"), "difference": split.get("diff", split.get("difference")),
                         "difference stderr": split.get("difference_stderr"),
                         # items an old run's signal found without naming the split: in neither part
                         "ambiguous n": (split.get("ambiguous") or {}).get("n", 0)})
        return rows


def disagreements(a: ReportReader, b: ReportReader, bench: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Samples of one benchmark where exactly one of the two models is right (the discordant pairs McNemar
    counts): question, choices, the right answer and each model's choice."""
    metric = a.metric(bench)
    rows: list[dict[str, Any]] = []
    for task in sorted(set(a.tasks(bench)) & set(b.tasks(bench))):
        sa, sb = a.samples(task, metric), b.samples(task, metric)
        for doc in sorted(set(sa) & set(sb)):
            x, y = sa[doc], sb[doc]
            if x.correct is None or y.correct is None or (x.correct > 0.5) == (y.correct > 0.5):
                continue
            pick = lambda s: s.choices[s.picked] if s.picked is not None and s.picked < len(s.choices) else None  # noqa: E731
            rows.append({"task": task, "doc_id": doc, "right": "A" if x.correct > 0.5 else "B",
                         "question": x.question, "choices": x.choices,
                         "answer": x.choices[x.target] if x.target is not None and x.target < len(x.choices) else None,
                         "A picked": pick(x), "B picked": pick(y)})
            if limit is not None and len(rows) >= limit:
                return rows
    return rows
