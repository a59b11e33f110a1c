"""Contamination-aware scores: split each benchmark's per-item scores into items found in the training data
and clean items, with each part's standard error and the difference.

Which items were found comes from a curated run's decontamination signal (`signals/decontamination/`),
restricted to the documents the run *kept* (what a model trained on it saw). For a `mix --out` folder the
signal is its parent's (read in place) and the kept set is the mix's own: the documents the model saw. For an
`ablate` sample folder the signal is its mix's and the kept set is the sample's documents.
The signal lists matched items in `decontam_items` ("benchmark/split/item_id" keys; before 2026-12-01
"benchmark:item_id", without the split, which `resolve_legacy` settles where it can); older runs without that
column fall back to `matched` (keys) or, last, `match` (only each document's best match: a lower bound).

An lm-eval sample's `doc_id` is its position in the split file lm-eval evaluated (per subject for MMLU);
the item at that position is read with the same code the decontamination index reads items with
(`curation.decontam.benchmarks.iter_items`), so both sides name items the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curation.errors import WinnowError

SIGNAL = "decontamination"


def signal_files(curated: str | Path) -> list[Path]:
    """The decontamination signal's files of a run: its own, for a `mix --out` folder its parent's, for an
    `ablate` sample folder those of the mix it was drawn from."""
    from curation.store import signal_files as run_signal_files

    return run_signal_files(sample_parent(curated) or Path(curated), SIGNAL)


def sample_parent(folder: str | Path) -> Path | None:
    """For an `ablate` sample folder (sample.parquet, manifest kind "sample"), the mix it was drawn from: a model
    trained on the sample saw only the sample's documents, a subset of the mix's kept/."""
    import json

    folder = Path(folder)
    if not (folder / "sample.parquet").is_file():
        return None
    try:
        man = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        parents = man["lineage"]["parents"] if man.get("kind") == "sample" else []
        return Path(parents[0]["path"]) if parents else None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def has_signal(curated: str | Path) -> bool:
    return bool(signal_files(curated))


KEY_PATTERN = r"^[^/:]*/"  # a `/` comes before any `:`: a split-aware key (see is_key)


def is_key(ref: str) -> bool:
    """A split-aware `benchmark/split/item_id` key (what `decontam_items` lists since 2026-12-01), not an old
    `benchmark:item_id` ref (a benchmark folder name holds no '/', so whichever separator comes first tells)."""
    slash, colon = ref.find("/"), ref.find(":")
    return slash >= 0 and (colon < 0 or slash < colon)


def _legacy(key: str) -> str:
    parts = key.split("/", 2)
    return f"{parts[0]}:{parts[2]}" if len(parts) == 3 else key


@dataclass
class Found:
    """Benchmark items documents of one training-data folder hold.

    `keys`: exact `benchmark/split/item_id` keys. `legacy`: from signals made before 2026-12-01, whose
    `decontam_items` name an item without its split, one entry per (document, ref): the ref, how many times
    the document lists it (once per split it was found in), the split of the document's best match (`match`,
    split-aware) when that is this ref, and the splits the run checked for the benchmark (None: unknown).
    Which split such a ref meant is settled against the benchmark store in `split_scores`."""

    keys: set[str] = field(default_factory=set)
    legacy: list[tuple[str, int, str | None, frozenset[str] | None]] = field(default_factory=list)
    source: str = ""


def _checked_splits(run: Path, bench: str) -> frozenset[str] | None:
    """The splits of `bench` a run's decontamination checked (its per-benchmark report), if recorded."""
    import json

    from curation.store import source_dir

    try:
        rep = json.loads((source_dir(run) / "contamination" / f"{bench}.json").read_text(encoding="utf-8"))
        return frozenset(rep["splits"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def contaminated_refs(curated: str | Path) -> Found:
    """The benchmark items found in the documents a curated run kept, and the column they came from.

    The kept set is always `curated`'s own `kept/` (a mix's, not the parent's it reads signals from); for an
    `ablate` sample folder, the documents in its sample.parquet (what a model trained on it saw)."""
    import polars as pl

    run = Path(curated)
    files = signal_files(run)
    if not files:
        raise WinnowError(f"--contamination {curated}: no decontamination signal (signals/{SIGNAL}/ is empty or "
                          "missing); curate with the decontamination signal first")
    df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    parent = sample_parent(run)
    kept = [run / "sample.parquet"] if parent is not None else sorted((run / "kept").glob("*.parquet"))
    if kept:
        ids = pl.concat([pl.read_parquet(f, columns=["id"]) for f in kept])
        df = df.join(ids, on="id", how="semi")
    for col in ("decontam_items", "matched"):
        if col in df.columns:
            break
    else:
        if "match" not in df.columns:
            raise WinnowError(f"{run}/signals/{SIGNAL}: no decontam_items, matched or match column")
        col = None
    match = df.get_column("match") if "match" in df.columns else pl.Series([None] * df.height, dtype=pl.String)
    found = Found(keys={k for k in match.drop_nulls().to_list() if is_key(k)},
                  source=col or "match (best match only)")
    if col is None:
        return found
    rows = (pl.DataFrame({"id": df.get_column("id"), "best": match, "ref": df.get_column(col)})
            .with_row_index("row").explode("ref").drop_nulls("ref"))
    rows = rows.with_columns(key=pl.col("ref").str.contains(KEY_PATTERN))  # is_key, over the column at once
    found.keys |= set(rows.filter("key").get_column("ref").to_list())
    old = rows.filter(~pl.col("key"))
    if old.height:
        found.source = f"{col} (without splits: curated before 2026-12-01)"
        splits: dict[str, frozenset[str] | None] = {}
        # n: how many times ONE signal row lists the ref (once per split it was found in). A repeated id has a
        # row per copy, so rows are counted apart and an id takes its largest count, not their sum
        per_row = old.group_by("row", "id", "ref").agg(pl.len().alias("n"), pl.col("best").first())
        per_id = per_row.group_by("id", "ref").agg(pl.col("n").max(), pl.col("best").drop_nulls().first())
        for r in per_id.iter_rows(named=True):
            bench = r["ref"].split(":", 1)[0]
            if bench not in splits:
                splits[bench] = _checked_splits(parent or run, bench)
            best = r["best"] if r["best"] and is_key(r["best"]) and _legacy(r["best"]) == r["ref"] else None
            found.legacy.append((r["ref"], int(r["n"]), best.split("/", 2)[1] if best else None, splits[bench]))
    return found


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


def doc_items(rep: dict[str, Any], bench: str, task: str) -> list[Any]:
    """Benchmark items (`curation.decontam.benchmarks.Item`) in lm-eval's doc_id order for one task of a report."""
    from curation.decontam.benchmarks import iter_items
    from evaluation.tasks import BENCHMARKS

    folder = BENCHMARKS[bench].folder
    data_dir = Path(rep["config"]["data_dir"])
    if bench == "mmlu":
        subject = task.removeprefix("mmlu_")
        items = iter_items(folder, "test", data_dir / folder / "test.jsonl")
        return [it for it in items if it.item_id.rsplit("-", 1)[0] == subject]
    split = _evaluated_split(Path(rep["_dir"]) / "tasks" / f"{BENCHMARKS[bench].task}.yaml")
    return list(iter_items(folder, split, data_dir / folder / f"{split}.jsonl"))


def resolve_legacy(found: Found, folder: str, data_dir: Path) -> tuple[set[str], set[str]]:
    """(exact keys, ambiguous keys) of one benchmark folder's old split-less refs, settled against the store.

    A ref `folder:item_id` can mean the item with that id in any split the run checked that holds such an id
    (for ARC's ids one split; for MMLU's `<subject>-<row>` dev and test alike). A document lists the ref once per
    split it was found in, and its best match names one split: when that accounts for every listing, or the
    document lists it as often as there are such splits, the splits are known; otherwise the splits left over
    are ambiguous (neither contaminated nor clean)."""
    from curation.decontam.benchmarks import DEFAULT_SPLITS, iter_items

    ids: dict[str, set[str] | None] = {}

    def holds(split: str, item_id: str) -> bool:
        if split not in ids:
            f = data_dir / folder / f"{split}.jsonl"
            ids[split] = {it.item_id for it in iter_items(folder, split, f)} if f.is_file() else None
        got = ids[split]
        return True if got is None else item_id in got  # a split not in this store: it may hold the id

    present = {p.stem for p in (data_dir / folder).glob("*.jsonl")} & set(DEFAULT_SPLITS)
    exact: set[str] = set()
    ambiguous: set[str] = set()
    for ref, n, best, checked in found.legacy:
        bench, item_id = ref.split(":", 1)
        if bench != folder:
            continue
        cands = sorted(s for s in (checked if checked is not None else present) if holds(s, item_id))
        if best is not None and best not in cands:
            cands.append(best)
        if n >= len(cands):
            known = set(cands)
        elif best is not None and n == 1:
            known = {best}
        else:
            known = {best} if best else set()
            ambiguous |= {f"{folder}/{s}/{item_id}" for s in cands if s not in known}
        exact |= {f"{folder}/{s}/{item_id}" for s in known}
    return exact, ambiguous - exact


def _mean_se(xs: list[float]) -> tuple[float | None, float | None]:
    n = len(xs)
    if n == 0:
        return None, None
    m = sum(xs) / n
    if n < 2:
        return m, None
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return m, math.sqrt(var / n)


def split_scores(rep: dict[str, Any], found: Found) -> dict[str, dict[str, Any]]:
    """Per benchmark: contaminated and clean items' mean score, standard error, count, and the difference
    (contaminated - clean) with its standard error (independent parts). Items an old signal cannot place in a
    split (see `resolve_legacy`) are counted as `ambiguous` and left out of both parts."""
    from evaluation import report as rpt
    from evaluation.tasks import BENCHMARKS

    out: dict[str, dict[str, Any]] = {}
    for bench, s in rep["scores"].items():
        dirty: list[float] = []
        clean: list[float] = []
        unsure = 0
        exact, ambiguous = resolve_legacy(found, BENCHMARKS[bench].folder, Path(rep["config"]["data_dir"]))
        exact |= found.keys
        for task in s.get("tasks", [bench]):
            order = doc_items(rep, bench, task)
            for doc_id, value in rpt.read_samples(rep, task, s["metric"]).items():
                if doc_id >= len(order):
                    raise WinnowError(f"{rep['_dir']}: {task} doc {doc_id} is beyond the {len(order)} items in the "
                                      "benchmark store (the store changed since the report was made?)")
                key = order[doc_id].key
                if key in exact:
                    dirty.append(value)
                elif key in ambiguous:
                    unsure += 1
                else:
                    clean.append(value)
        md, sd = _mean_se(dirty)
        mc, sc = _mean_se(clean)
        diff = md - mc if md is not None and mc is not None else None
        se = math.sqrt(sd ** 2 + sc ** 2) if sd is not None and sc is not None else None
        out[bench] = {"metric": s["metric"], "contaminated": {"n": len(dirty), "value": md, "stderr": sd},
                      "clean": {"n": len(clean), "value": mc, "stderr": sc},
                      "difference": diff, "difference_stderr": se, "ambiguous": {"n": unsure}}
    return out


def contamination_block(rep: dict[str, Any], curated: list[Path], unchecked: list[Path] = ()) -> dict[str, Any]:
    """What `report.json` records under "contamination": an item counts as contaminated when any of the curated
    runs the model was trained on kept it. `unchecked` are training-data runs without the signal, whose items
    the split cannot see (recorded, so a reader knows the clean side may hold some)."""
    found = Found()
    sources = []
    for run in curated:
        f = contaminated_refs(run)
        found.keys |= f.keys
        found.legacy += f.legacy
        sources.append(f.source)
    n_items = len(found.keys) + len({r for r, *_ in found.legacy} - {_legacy(k) for k in found.keys})
    return {"curated": [str(Path(c).absolute()) for c in curated], "source": " + ".join(dict.fromkeys(sources)),
            "items_in_training_data": n_items, "unchecked": [str(Path(u).absolute()) for u in unchecked],
            "benchmarks": split_scores(rep, found)}


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
        if (s.get("ambiguous") or {}).get("n"):
            lines.append(f"  {'':<16} {s['ambiguous']['n']} item(s) left out of both: the training data's signal "
                         "(curated before 2026-12-01) names items without their split, and this benchmark's ids "
                         "repeat across splits (MMLU dev and test); curate again to place them")
    return lines
