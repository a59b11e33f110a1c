"""`mix`: apply a recipe's rules to stored signals (no re-scoring) and write the curated corpus.

Writes `kept/*.parquet`, `removed.parquet` (id, rule, rules, value, detail, kept_id), `quarantine.jsonl`
and `manifest.json`, and checks `input == kept + removed + quarantined`.
"""

from __future__ import annotations

import json
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from curation.errors import WinnowError
from curation.progress import Progress
from curation.reader import ORDER_STRIDE
from curation.recipe import Recipe, Rule, load_recipe
from curation.store import doc_files, signal_files, write_parquet_atomic, write_text_atomic

REMOVED_SCHEMA = {"id": pl.Utf8, "rule": pl.Utf8, "rules": pl.List(pl.Utf8), "value": pl.Float64,
                  "detail": pl.Utf8, "kept_id": pl.Utf8}
PACKAGES = ["winnow", "polars", "datatrove", "datasketch", "presidio-analyzer", "presidio-anonymizer",
            "fasttext-numpy2-wheel", "spacy", "pyarrow", "numpy"]


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            continue
    return out


def _col(rule: Rule, name: str | None) -> str | None:
    return f"{rule.signal}.{name}" if name else None


def _fails(rule: Rule, schema: dict[str, pl.DataType]) -> pl.Expr:
    c = pl.col(_col(rule, rule.column))
    if rule.drop_if is not None:
        e = c == pl.lit(rule.drop_if)
    elif rule.keep_values is not None:
        e = ~c.cast(pl.Utf8).is_in(rule.keep_values)
    elif rule.drop_values is not None:
        e = c.cast(pl.Utf8).is_in(rule.drop_values)
    else:
        x = c.cast(pl.Float64)
        e = pl.lit(False)
        if rule.min is not None:
            e = e | (x < rule.min)
        if rule.max is not None:
            e = e | (x > rule.max)
    return e.fill_null(False)


def _value(rule: Rule, schema: dict[str, pl.DataType]) -> pl.Expr:
    name = _col(rule, rule.value_column or rule.column)
    dt = schema[name]
    if dt.is_numeric() or dt == pl.Boolean:
        return pl.col(name).cast(pl.Float64)
    return pl.lit(None, dtype=pl.Float64)


def _detail(rule: Rule, schema: dict[str, pl.DataType]) -> pl.Expr:
    if rule.detail_column:
        return pl.col(_col(rule, rule.detail_column)).cast(pl.Utf8)
    name = _col(rule, rule.column)
    if not (schema[name].is_numeric() or schema[name] == pl.Boolean):
        return pl.col(name).cast(pl.Utf8)  # e.g. the language that failed a keep_values rule
    return pl.lit(None, dtype=pl.Utf8)


def _signals_frame(run_dir: Path, step: str, columns: list[str]) -> pl.LazyFrame:
    files = signal_files(run_dir, step)
    if not files:
        raise WinnowError(f"{run_dir}: no stored signals for {step!r} (was it computed in this run?)")
    lf = pl.scan_parquet(files)
    have = lf.collect_schema().names()
    for c in columns:
        if c not in have:
            raise WinnowError(f"signal {step!r} has no column {c!r} (columns: {', '.join(have)})")
    return lf.select(["id", *columns]).unique(subset="id", keep="first").rename(
        {c: f"{step}.{c}" for c in columns})


def _read_quarantine(run_dir: Path) -> list[str]:
    lines: list[str] = []
    for p in sorted((run_dir / "quarantine").glob("*.jsonl")):
        lines += [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines


def _task_totals(run_dir: Path) -> dict[str, int]:
    tot = {"docs": 0, "quarantined": 0}
    for p in (run_dir / "state" / "tasks").glob("*.json"):
        c = json.loads(p.read_text())
        tot["docs"] += c["docs"]
        tot["quarantined"] += c["quarantined"]
    return tot


def _token_counter(path: str | None) -> Any:
    if not path:
        return None
    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.json"
    if not p.is_file():
        raise WinnowError(f"recipe tokenizer not found: {p} (give a local tokenizer.json)")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(p))
    return lambda texts: [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]


def mix(run_dir: str | Path, recipe: Recipe | None = None, *, extra_timings: dict[str, Any] | None = None,
        ) -> dict[str, Any]:
    """Apply `recipe` (default: the run's own recipe.yaml) to the stored signals of `run_dir`."""
    t0 = time.perf_counter()
    run = Path(run_dir).absolute()
    if not (run / "run.json").exists():
        raise WinnowError(f"{run} is not a curation run folder (no run.json); run `winnow curate` first")
    info = json.loads((run / "run.json").read_text())
    if recipe is None:
        recipe = load_recipe(run / "recipe.yaml")
    skipped = info.get("skipped", {})
    available = set(info.get("steps", []))
    rules: list[Rule] = []
    skipped_rules: dict[str, str] = {}
    for r in recipe.rules:
        if r.signal in skipped:
            skipped_rules[r.name] = f"signal {r.signal} skipped: {skipped[r.signal]}"
        elif r.signal not in available:
            raise WinnowError(f"rule {r.name!r} needs signal {r.signal!r}, which this run did not compute; "
                              "re-run `winnow curate` with a recipe that computes it")
        else:
            rules.append(r)

    prog = Progress(run, "mix", total=3, unit="steps")
    docs_files = doc_files(run)
    sizes_stored = bool(docs_files) and "n_words" in pl.scan_parquet(docs_files[0]).collect_schema().names()
    text = pl.col("text")
    sizes = ([pl.col("n_chars"), pl.col("n_words")] if sizes_stored else  # runs scored before sizes were stored
             [text.str.len_chars().alias("n_chars"), text.str.count_matches(r"\S+").alias("n_words")])
    docs = (pl.scan_parquet(docs_files).select("id", "order", "source", *sizes)
            if docs_files else pl.LazyFrame(schema={"id": pl.Utf8, "order": pl.Int64, "source": pl.Utf8,
                                                    "n_chars": pl.UInt32, "n_words": pl.UInt32}))
    frame = docs
    needed: dict[str, set[str]] = {}
    for r in rules:
        needed.setdefault(r.signal, set()).update(
            c for c in (r.column, r.value_column, r.detail_column, r.kept_id_column) if c)
    for step, cols in needed.items():
        frame = frame.join(_signals_frame(run, step, sorted(cols)), on="id", how="left")
    # duplicate ids in the input: later copies are quarantined (ids must be unique to explain drops)
    frame = frame.with_columns(_dup_id=pl.col("order") != pl.col("order").min().over("id"))
    df = frame.collect()
    prog.update(1, "signals joined")
    schema = dict(df.schema)

    if rules:
        fails = [_fails(r, schema).alias(f"_f{i}") for i, r in enumerate(rules)]
        df = df.with_columns(fails)
        names = pl.concat_list([pl.when(pl.col(f"_f{i}")).then(pl.lit(r.name)) for i, r in enumerate(rules)])
        chain_v = chain_d = chain_k = None
        for i, r in enumerate(rules):
            f = pl.col(f"_f{i}")
            v, d = _value(r, schema), _detail(r, schema)
            k = pl.col(_col(r, r.kept_id_column)).cast(pl.Utf8) if r.kept_id_column else pl.lit(None, pl.Utf8)
            chain_v = pl.when(f).then(v) if chain_v is None else chain_v.when(f).then(v)
            chain_d = pl.when(f).then(d) if chain_d is None else chain_d.when(f).then(d)
            chain_k = pl.when(f).then(k) if chain_k is None else chain_k.when(f).then(k)
        df = df.with_columns(rules=names.list.drop_nulls(), value=chain_v.otherwise(None),
                             detail=chain_d.otherwise(None), kept_id=chain_k.otherwise(None))
        df = df.with_columns(rule=pl.col("rules").list.first())
    else:
        df = df.with_columns(rule=pl.lit(None, pl.Utf8), rules=pl.lit([], pl.List(pl.Utf8)),
                             value=pl.lit(None, pl.Float64), detail=pl.lit(None, pl.Utf8),
                             kept_id=pl.lit(None, pl.Utf8))
    df = df.with_columns(pl.when(pl.col("_dup_id")).then(None).otherwise(pl.col("rule")).alias("rule"))
    quarantined_dups = df.filter(pl.col("_dup_id"))
    removed = df.filter(pl.col("rule").is_not_null() & ~pl.col("_dup_id"))
    kept_mask = df.filter(pl.col("rule").is_null() & ~pl.col("_dup_id")).select("order")
    write_parquet_atomic(removed.select(list(REMOVED_SCHEMA)).cast(REMOVED_SCHEMA), run / "removed.parquet")
    prog.update(1, "removal log written")

    # kept documents: per docs file (bounded memory), transforms applied, in parallel threads
    kept_dir = run / "kept"
    kept_dir.mkdir(exist_ok=True)
    for old in kept_dir.glob("*.parquet"):
        old.unlink()
    transforms = []
    if recipe.transforms:
        from curation.transforms import get_transform

        transforms = [(get_transform(n), cfg) for n, cfg in recipe.transforms.items()]
    count_tokens = _token_counter(recipe.tokenizer)
    tok_counts = {"kept": 0, "removed": 0}

    def write_kept(path: Path) -> tuple[int, int]:
        d = pl.read_parquet(path)
        k = d.join(kept_mask, on="order", how="semi", maintain_order="left")
        kt = rt = 0
        if count_tokens is not None:
            kt = sum(count_tokens(k["text"].to_list()))
            rt = sum(count_tokens(d.join(kept_mask, on="order", how="anti")["text"].to_list()))
        for fn, cfg in transforms:
            # `_batch` names the docs file: batch-local signals of the same batch share that name
            k = k.with_columns(text=fn(k.select("id", "text", _batch=pl.lit(path.stem)), cfg, run))
        write_parquet_atomic(k.select("id", "text", "source", "metadata"), kept_dir / path.name)
        return kt, rt

    with ThreadPoolExecutor(max_workers=2) as pool:
        for kt, rt in pool.map(write_kept, docs_files):
            tok_counts["kept"] += kt
            tok_counts["removed"] += rt
    prog.update(1, "kept documents written")
    prog.close()

    # quarantine: reader's entries plus duplicate ids
    qlines = _read_quarantine(run)
    for row in quarantined_dups.select("id", "order", "source").iter_rows():
        qlines.append(json.dumps({"file": row[2], "line": row[1] % ORDER_STRIDE,
                                  "reason": f"duplicate id {row[0]!r} (an earlier document has it)"}))
    write_text_atomic("".join(ln + "\n" for ln in qlines), run / "quarantine.jsonl")

    totals = _task_totals(run)
    n_kept = kept_mask.height
    n_removed = removed.height
    n_quar = len(qlines)
    n_input = totals["docs"] + totals["quarantined"]
    if df.height != totals["docs"]:
        raise WinnowError(f"accounting: {df.height} documents stored but tasks read {totals['docs']}")
    if n_input != n_kept + n_removed + n_quar:
        raise WinnowError(f"accounting mismatch: input {n_input} != kept {n_kept} + removed {n_removed} + "
                          f"quarantined {n_quar}")
    kd = df.filter(pl.col("rule").is_null() & ~pl.col("_dup_id"))
    by_rule = dict(removed.group_by("rule").len().sort("len", descending=True).iter_rows())
    by_rule_any = dict(removed.select(pl.col("rules").explode()).group_by("rules").len().iter_rows())
    timings = {"mix": round(time.perf_counter() - t0, 3)}
    step_secs: dict[str, float] = {}
    for p in (run / "state" / "tasks").glob("*.json"):
        for k, v in json.loads(p.read_text()).get("timings", {}).items():
            step_secs[k] = step_secs.get(k, 0.0) + v
    timings["steps_cpu"] = {k: round(v, 3) for k, v in step_secs.items()}
    if extra_timings:
        timings.update(extra_timings)
    manifest: dict[str, Any] = {
        "input": n_input, "kept": n_kept, "removed": n_removed, "quarantined": n_quar,
        "by_rule": by_rule, "by_rule_any": by_rule_any,
        "chars": {"kept": int(kd["n_chars"].sum() or 0), "removed": int(removed["n_chars"].sum() or 0)},
        "words": {"kept": int(kd["n_words"].sum() or 0), "removed": int(removed["n_words"].sum() or 0)},
        "tokens": ({**tok_counts, "tokenizer": recipe.tokenizer} if count_tokens is not None else None),
        "recipe": recipe.model_dump(mode="json", exclude_none=True),
        "signals": info.get("steps", []), "skipped_signals": skipped, "skipped_rules": skipped_rules,
        "steps": _describe_steps(recipe, info),
        "inputs": info.get("inputs", []), "executor": info.get("executor"), "workers": info.get("world"),
        "timings": timings, "versions": package_versions(),
    }
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return manifest


def _describe_steps(recipe: Recipe, info: dict[str, Any]) -> dict[str, Any]:
    from curation.scoring import build_steps

    out = {}
    for step in build_steps(recipe, info.get("steps", []), info.get("context", {})):
        try:
            out[step.name] = step.describe()
        except Exception as e:  # noqa: BLE001 - a description must never fail the run
            out[step.name] = {"error": str(e)}
    return out
