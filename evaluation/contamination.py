"""Contamination-aware scores: split each benchmark's per-item scores into items found in the training data
and clean items, with each part's standard error and the difference.

Which items were found comes from a curated run's decontamination signal (`signals/decontamination/`),
restricted to the documents the run *kept* (what a model trained on it saw). For a `mix --out` folder the
signal is its parent's (read in place) and the kept set is the mix's own: the documents the model saw.
The signal lists matched items in `decontam_items` ("benchmark:item_id"); older runs without that column
fall back to `matched` ("benchmark/split/item_id" keys) or, last, `match` (only each document's best match:
a lower bound).

An lm-eval sample's `doc_id` is its position in the split file lm-eval evaluated (per subject for MMLU);
the item at that position is read with the same code the decontamination index reads items with
(`curation.decontam.benchmarks.iter_items`), so both sides name items the same way.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from curation.errors import WinnowError

SIGNAL = "decontamination"


def signal_files(curated: str | Path) -> list[Path]:
    """The decontamination signal's files of a run: its own, or for a `mix --out` folder its parent's."""
    from curation.store import signal_files as run_signal_files

    return run_signal_files(Path(curated), SIGNAL)


def has_signal(curated: str | Path) -> bool:
    return bool(signal_files(curated))


def contaminated_refs(curated: str | Path) -> tuple[set[str], str]:
    """("benchmark:item_id" refs matched by documents the run kept, which column they came from).

    The kept set is always `curated`'s own `kept/` (a mix's, not the parent's it reads signals from)."""
    import polars as pl

    run = Path(curated)
    files = signal_files(run)
    if not files:
        raise WinnowError(f"--contamination {curated}: no decontamination signal (signals/{SIGNAL}/ is empty or "
                          "missing); curate with the decontamination signal first")
    df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    kept = sorted((run / "kept").glob("*.parquet"))
    if kept:
        ids = pl.concat([pl.read_parquet(f, columns=["id"]) for f in kept])
        df = df.join(ids, on="id", how="semi")
    if "decontam_items" in df.columns:
        refs = df.get_column("decontam_items").explode().drop_nulls().to_list()
        return set(refs), "decontam_items"
    if "matched" in df.columns:
        keys = df.get_column("matched").explode().drop_nulls().to_list()
        return {_key_to_ref(k) for k in keys}, "matched"
    if "match" in df.columns:
        return {_key_to_ref(k) for k in df.get_column("match").drop_nulls().to_list()}, "match (best match only)"
    raise WinnowError(f"{run}/signals/{SIGNAL}: no decontam_items, matched or match column")


def _key_to_ref(key: str) -> str:
    parts = key.split("/", 2)
    return f"{parts[0]}:{parts[2]}" if len(parts) == 3 else key


def _evaluated_split(task_yaml: Path) -> str:
    """The split lm-eval scored for a task: our YAML's override, else the built-in one it includes."""
    cfg = yaml.safe_load(task_yaml.read_text(encoding="utf-8")) or {}
    for key in ("test_split", "validation_split"):
        if cfg.get(key):
            return str(cfg[key])
        if key in cfg:  # nulled by us: the split is absent from the store
            continue
        inc = cfg.get("include")
        if inc and Path(inc).exists():
            base = yaml.load(Path(inc).read_text(encoding="utf-8"), Loader=_Loose) or {}
            if base.get(key):
                return str(base[key])
    raise WinnowError(f"{task_yaml}: cannot tell which split lm-eval evaluated")


class _Loose(yaml.SafeLoader):
    """lm-eval YAML uses `!function` tags; they do not matter for reading split names."""


_Loose.add_multi_constructor("!", lambda loader, suffix, node: None)


def doc_refs(rep: dict[str, Any], bench: str, task: str) -> list[str]:
    """Item refs in lm-eval's doc_id order for one task of a report."""
    from curation.decontam.benchmarks import iter_items
    from evaluation.tasks import BENCHMARKS

    folder = BENCHMARKS[bench].folder
    data_dir = Path(rep["config"]["data_dir"])
    if bench == "mmlu":
        subject = task.removeprefix("mmlu_")
        items = iter_items(folder, "test", data_dir / folder / "test.jsonl")
        return [it.ref for it in items if it.item_id.rsplit("-", 1)[0] == subject]
    split = _evaluated_split(Path(rep["_dir"]) / "tasks" / f"{BENCHMARKS[bench].task}.yaml")
    return [it.ref for it in iter_items(folder, split, data_dir / folder / f"{split}.jsonl")]


def _mean_se(xs: list[float]) -> tuple[float | None, float | None]:
    n = len(xs)
    if n == 0:
        return None, None
    m = sum(xs) / n
    if n < 2:
        return m, None
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return m, math.sqrt(var / n)


def split_scores(rep: dict[str, Any], refs: set[str]) -> dict[str, dict[str, Any]]:
    """Per benchmark: contaminated and clean items' mean score, standard error, count, and the difference
    (contaminated - clean) with its standard error (independent parts)."""
    from evaluation import report as rpt

    out: dict[str, dict[str, Any]] = {}
    for bench, s in rep["scores"].items():
        dirty: list[float] = []
        clean: list[float] = []
        for task in s.get("tasks", [bench]):
            order = doc_refs(rep, bench, task)
            for doc_id, value in rpt.read_samples(rep, task, s["metric"]).items():
                if doc_id >= len(order):
                    raise WinnowError(f"{rep['_dir']}: {task} doc {doc_id} is beyond the {len(order)} items in the "
                                      "benchmark store (the store changed since the report was made?)")
                (dirty if order[doc_id] in refs else clean).append(value)
        md, sd = _mean_se(dirty)
        mc, sc = _mean_se(clean)
        diff = md - mc if md is not None and mc is not None else None
        se = math.sqrt(sd ** 2 + sc ** 2) if sd is not None and sc is not None else None
        out[bench] = {"metric": s["metric"], "contaminated": {"n": len(dirty), "value": md, "stderr": sd},
                      "clean": {"n": len(clean), "value": mc, "stderr": sc},
                      "difference": diff, "difference_stderr": se}
    return out


def contamination_block(rep: dict[str, Any], curated: list[Path], unchecked: list[Path] = ()) -> dict[str, Any]:
    """What `report.json` records under "contamination": an item counts as contaminated when any of the curated
    runs the model was trained on kept it. `unchecked` are training-data runs without the signal, whose items
    the split cannot see (recorded, so a reader knows the clean side may hold some)."""
    refs: set[str] = set()
    sources = []
    for run in curated:
        found, source = contaminated_refs(run)
        refs |= found
        sources.append(source)
    return {"curated": [str(Path(c).absolute()) for c in curated], "source": " + ".join(dict.fromkeys(sources)),
            "items_in_training_data": len(refs), "unchecked": [str(Path(u).absolute()) for u in unchecked],
            "benchmarks": split_scores(rep, refs)}


def curated_runs(block: dict[str, Any]) -> list[str]:
    """The curated runs a contamination block was split by (one string in reports before 2026-12-01)."""
    c = block.get("curated") or []
    return [c] if isinstance(c, str) else list(c)


def render(block: dict[str, Any]) -> list[str]:
    """Text lines: per benchmark, contaminated vs clean with standard errors and the difference."""

    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    lines = [f"contamination split (training data: {', '.join(curated_runs(block))}; items from {block['source']}):"]
    if block.get("unchecked"):
        lines.append(f"  not checked (no decontamination signal): {', '.join(block['unchecked'])}; items they hold "
                     "count as clean")
    for b, s in block["benchmarks"].items():
        d, c = s["contaminated"], s["clean"]
        lines.append(f"  {b:<16} contaminated {f(d['value'])} ± {f(d['stderr'])} (n={d['n']})   "
                     f"clean {f(c['value'])} ± {f(c['stderr'])} (n={c['n']})   "
                     f"difference {f(s['difference'])} ± {f(s['difference_stderr'])}")
    return lines
