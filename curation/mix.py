"""`mix`: apply a recipe's rules to stored signals (no re-scoring) and write the curated corpus.

Writes `kept/*.parquet`, `removed.parquet` (id, rule, rules, value, detail, kept_id), `quarantine.jsonl`,
`skipped.jsonl`, `recipe.yaml` and `manifest.json`, and checks `input == kept + removed + quarantined +
skipped`. Before deciding, every signal must cover exactly the stored documents, once each (rows are keyed
by input position, so repeated ids keep their own signals). Everything is written into a temporary folder
inside the output first and swapped in only when the accounting closes; the manifest goes last, so a
folder with a manifest always agrees with it (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from curation import faults
from curation.errors import WinnowError
from curation.lineage_record import package_versions
from curation.progress import Progress
from curation.reader import ORDER_STRIDE, skipped_files_record
from curation.recipe import Recipe, Rule, load_recipe, nested_settings_model
from curation.run_folder import RunLock, check_writable_dir, is_run, refuse_foreign_out
from curation.store import doc_files, signal_files, source_dir, write_parquet_atomic, write_text_atomic
from curation.text_index import index_wanted, search_index_builder

REMOVED_SCHEMA = {"id": pl.Utf8, "rule": pl.Utf8, "rules": pl.List(pl.Utf8), "value": pl.Float64,
                  "detail": pl.Utf8, "kept_id": pl.Utf8}
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


def _signals_frame(run_dir: Path, step: str, columns: list[str]) -> tuple[pl.LazyFrame, str]:
    """A step's columns, renamed `<step>.<col>`, and the row key they join on (`order`; `id` for runs
    scored before signals carried the input position)."""
    files = signal_files(run_dir, step)
    if not files:
        raise WinnowError(f"{run_dir}: no stored signals for {step!r} (was it computed in this run?)")
    try:
        lf = pl.scan_parquet(files)
        have = lf.collect_schema().names()
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file among the shards
        raise WinnowError(f"signals of {step!r} are unreadable ({e}); rerun `winnow curate` with the same "
                          "command to rescore the damaged batches") from None
    for c in columns:
        if c not in have:
            raise WinnowError(f"signal {step!r} has no column {c!r} (columns: {', '.join(have)})")
    key = "order" if "order" in have else "id"
    return lf.select([key, *columns]).rename({c: f"{step}.{c}" for c in columns}), key


def _check_coverage(run: Path, docs: pl.DataFrame, steps: list[str]) -> None:
    """Every signal must hold exactly the stored documents, once each: a deleted or extra shard, or a
    scoring that did not finish, would otherwise decide some documents on nothing."""
    for step in steps:
        files = signal_files(run, step)
        if not files and docs.height == 0:  # no document to decide: an empty run finishes with zero counts
            continue
        if not files:
            raise WinnowError(f"{run}: the signals of {step!r} are missing; rerun `winnow curate` with the "
                              "same command to rescore them")
        try:
            lf = pl.scan_parquet(files)
            key = "order" if "order" in lf.collect_schema().names() else "id"
            keys = lf.select(key).collect()
        except Exception as e:  # noqa: BLE001
            raise WinnowError(f"signals of {step!r} are unreadable ({e}); rerun `winnow curate` with the same "
                              "command to rescore the damaged batches") from None
        mine, want = keys[key], docs[key]
        dup = mine.is_duplicated().sum() if key == "order" else 0
        missing = want.is_in(mine.implode()).not_().sum()
        extra = mine.is_in(want.implode()).not_().sum()
        if missing or extra or dup:
            raise WinnowError(f"signals of {step!r} do not match the stored documents ({missing} documents "
                              f"without a signal, {extra} signals of no stored document, {dup} repeated); "
                              "rerun `winnow curate` with the same command to rescore")


SIZE_COLUMNS = ("group_size", "cluster_size")  # members of a document's dedup cluster (exact_dedup, minhash)


def _cluster_size_columns(run: Path, rules: list[Rule]) -> dict[str, str]:
    """Rule name -> the cluster-size column of its signal, for dedup rules (those naming a kept copy) whose
    signal stores one: a one-member cluster keeps nothing, which tells apart two documents of one id."""
    out: dict[str, str] = {}
    for r in rules:
        files = signal_files(run, r.signal) if r.kept_id_column else []
        if not files:
            continue
        try:
            have = pl.scan_parquet(files).collect_schema().names()
        except Exception:  # noqa: BLE001 - unreadable shards are reported by _check_coverage
            continue
        for c in SIZE_COLUMNS:
            if c in have:
                out[r.name] = c
                break
    return out


def _rekeep_lost_clusters(df: pl.DataFrame, rules: list[Rule], sizes_of: dict[str, str],
                          by_id: set[str] | frozenset[str] = frozenset()) -> pl.DataFrame:
    """Adds `_k<i>` (the kept copy's id) for each dedup rule, and un-removes duplicates whose kept copy was
    quarantined as a repeated id (dedup clusters are built over every stored document, repeated ids are
    quarantined here): the first member of such a cluster that no other rule removes is kept instead, and the
    cluster's other members name it as their kept copy. Without this, the cluster's text would be in no kept
    file. A kept copy is taken as quarantined when a quarantined repeat of its id is itself no duplicate (and,
    where the signal stores cluster sizes, heads a cluster of two or more). When the kept record of that id heads
    a cluster as well, the id names two clusters and their duplicates are all kept: the signals name a kept copy
    by id, and a `kept_order` column would be needed to keep exactly one copy of each text. Signals of an old
    run keyed by id (`by_id`) give a repeated id's copies one row, the first copy's: nothing tells them apart,
    so their rules are left as decided."""
    for i, r in enumerate(rules):
        if not r.kept_id_column:
            continue
        kid = pl.col(_col(r, r.kept_id_column)).cast(pl.Utf8)
        df = df.with_columns(kid.alias(f"_k{i}"))
        if r.signal in by_id:
            continue
        head = ~pl.col(f"_f{i}")
        if r.name in sizes_of:
            head = head & (pl.col(_col(r, sizes_of[r.name])).cast(pl.Int64) > 1)
        lost = df.filter(pl.col("_dup_id") & head)["id"].unique()
        if lost.is_empty():
            continue
        # an id whose kept record heads a cluster too: its duplicates cannot be told apart by the id they name,
        # so all of them are kept (a text may stay twice; none is lost)
        both = df.filter(~pl.col("_dup_id") & head)["id"].unique()
        ambiguous = lost.filter(lost.is_in(both.implode()))
        hit = (pl.col(f"_f{i}") & ~pl.col("_dup_id") & pl.col(f"_k{i}").is_in(lost.implode())).fill_null(False)
        unsure = hit & pl.col(f"_k{i}").is_in(ambiguous.implode())
        others = [pl.col(f"_f{j}") for j in range(len(rules)) if j != i]
        survives = ~pl.any_horizontal(others) if others else pl.lit(True)
        df = df.with_columns(pl.when(unsure).then(False).otherwise(pl.col(f"_f{i}")).alias(f"_f{i}"),
                             _hit=hit & ~unsure, _surv=hit & ~unsure & survives)
        # the new keeper of each lost cluster: its first member (by input position) no other rule removes
        new = (df.filter(pl.col("_surv")).sort("order").group_by(f"_k{i}", maintain_order=True)
               .agg(pl.col("order").first().alias("_new_order"), pl.col("id").first().alias("_new_id")))
        df = df.join(new, on=f"_k{i}", how="left", maintain_order="left")
        is_new = pl.col("_hit") & (pl.col("order") == pl.col("_new_order"))
        no_keeper = pl.col("_hit") & pl.col("_new_order").is_null()  # every member goes for another reason
        df = df.with_columns(
            pl.when(is_new | no_keeper).then(False).otherwise(pl.col(f"_f{i}")).alias(f"_f{i}"),
            pl.when(pl.col("_hit") & ~is_new & ~no_keeper).then(pl.col("_new_id"))
            .otherwise(pl.col(f"_k{i}")).alias(f"_k{i}"),
        ).drop("_hit", "_surv", "_new_order", "_new_id")
    return df


def _read_quarantine(run_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The reader's entries of every batch, split into quarantined (broken) and skipped (not a document)."""
    quar: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for p in sorted((source_dir(run_dir) / "quarantine").glob("*.jsonl")):
        for ln in p.read_text(encoding="utf-8").splitlines():
            if ln.strip():
                e = json.loads(ln)
                (skipped if e.pop("skipped", False) else quar).append(e)
    return quar, skipped


def _task_totals(run_dir: Path) -> dict[str, int]:
    tot = {"docs": 0, "quarantined": 0, "skipped": 0}
    for p in (source_dir(run_dir) / "state" / "tasks").glob("*.json"):
        c = json.loads(p.read_text())
        for k in tot:
            tot[k] += c.get(k, 0)
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


def _check_rules(recipe: Recipe, info: dict[str, Any]) -> tuple[list[Rule], dict[str, str]]:
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
    return rules, skipped_rules


def _setting_diffs(old: Any, new: Any, at: str) -> list[str]:
    """Dotted names of the settings that differ between two signal settings (nested dicts)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in sorted(set(old) | set(new), key=str)
                for d in _setting_diffs(old.get(k), new.get(k), f"{at}.{k}")]
    return [] if old == new else [at]


def _config_model(step: str) -> Any:
    """A signal step's settings model, or None for an unknown step."""
    from curation.steps import get_step

    try:
        return get_step(step).Config
    except Exception:  # noqa: BLE001 - an unknown (or unloadable) step: no settings to read
        return None


def _config_defaults(step: str) -> dict[str, Any]:
    """A signal step's settings at their defaults, as JSON values ({} when it has required settings)."""
    model = _config_model(step)
    try:
        return model().model_dump(mode="json") if model is not None else {}
    except Exception:  # noqa: BLE001 - required fields: no defaults to compare with
        return {}


def _effective(value: Any, model: Any) -> Any:
    """A setting as the step reads it: a nested settings model named in part (`c4: {min_words_per_line: 3}`)
    validated and dumped by pydantic (its defaults filled in, at any depth); anything else is itself."""
    if model is None or not isinstance(value, dict):
        return value
    from pydantic import TypeAdapter, ValidationError

    adapter = TypeAdapter(model)
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError:  # not a valid setting: compared as given (the recipe's own check names it)
        return value


def _own_signals(run: Path) -> dict[str, Any]:
    """The run's own recipe's signal settings as written (a relative path in them reads the same wherever mix
    runs); {} when it has no readable recipe.yaml."""
    try:
        return load_recipe(run / "recipe.yaml").signals if (run / "recipe.yaml").is_file() else {}
    except WinnowError:
        return {}


def _check_signal_settings(recipe: Recipe, info: dict[str, Any], own: dict[str, Any]) -> None:
    """mix re-applies rules to stored signals; it cannot change how they were computed. A recipe whose
    settings of a computed signal differ from the run's (compared as the run key compares them,
    curation/pipeline.py) would be recorded as applied but never be: refuse, naming what differs."""
    from curation.pipeline import _by_content

    stored = (info.get("key_parts") or {}).get("signals")
    if stored is None:  # a run made before the key recorded its parts: nothing to compare against
        return
    diffs: list[str] = []
    for step in info.get("steps", []):
        if step not in recipe.signals or step not in stored:
            continue
        new = recipe.signals[step] or {}
        if new == (own.get(step) or {}) and step in own:
            continue
        # only what the recipe sets: `{}` or a missing setting means "as scored" (`curate --decontaminate`
        # stores its benchmarks_dir, which the default recipe leaves out); a setting the run left at its default
        # is compared with that default; a nested settings model is compared as the step reads it, its defaults
        # filled in on both sides (`c4: {min_words_per_line: 3}` is the default c4, not a c4 without its rules)
        old = stored[step] if isinstance(stored[step], dict) else {}
        defaults = _config_defaults(step)
        model = _config_model(step)
        fields = model.model_fields if model is not None else {}
        for k, v in new.items():
            default = _by_content(defaults.get(k))
            sub = nested_settings_model(fields[k].annotation) if k in fields else None
            have = _effective(old[k] if k in old else default, sub)
            diffs += _setting_diffs(have, _effective(_by_content(v), sub), f"signals.{step}.{k}")
    if diffs:
        raise WinnowError(f"the recipe changes signal settings this run was scored with ({', '.join(diffs)}); mix "
                          "only re-applies rules: re-score with `winnow curate` to change them")


def _as_scored(recipe: Recipe, info: dict[str, Any], own: dict[str, Any]) -> Recipe:
    """The recipe with the run's own settings for every signal the run computed: what mix writes in recipe.yaml
    and the manifest must say how the signals were computed (`minhash: {}` over a run scored at threshold 0.95
    would read as the default 0.75). `_check_signal_settings` has refused any setting that differs."""
    steps = set(info.get("steps", []))
    signals = {k: (own[k] if k in own and k in steps else v) for k, v in recipe.signals.items()}
    return recipe if signals == recipe.signals else recipe.model_copy(update={"signals": signals})


def _input_folders(info: dict[str, Any]) -> list[Path]:
    """The folders given as inputs, from the stored inputs (a folder's files are named `<folder>/<path>`)."""
    out: dict[Path, None] = {}
    for i in info.get("inputs", []):
        rel, path = i.get("rel") or "", i.get("path") or ""
        depth = len(Path(rel).parts)  # a "#<i>" suffix of a repeated name stays in the last part
        if depth > 1 and "://" not in path:
            out[Path(path).parents[depth - 2]] = None
    return list(out)


def _file_of(info: dict[str, Any]) -> dict[int, str]:
    """Input file index -> its path relative to the input root (what quarantine entries name)."""
    return {i: f.get("rel", f.get("path")) for i, f in enumerate(info.get("inputs", []))}


def _check_out(run: Path, out: Path) -> None:
    """Refuse an --out that is a file or a non-empty folder other than an earlier mix of `run`: before the
    folder is made or locked (a refused folder gets no lock file of ours), and again under the lock."""
    if out.resolve() != run.resolve():
        refuse_foreign_out(out, lambda o: source_dir(o) == Path(run), f"a mix of {run}")


def _prepare_out(run: Path, out: Path, info: dict[str, Any]) -> None:
    """A new folder for `mix --out`: it reads the parent's documents and signals in place."""
    if out.resolve() == run.resolve():
        return
    _check_out(run, out)  # again, under the lock
    check_writable_dir(out)
    derived = {k: v for k, v in info.items() if k not in ("parent",)}
    derived["parent"] = str(run)
    write_text_atomic(json.dumps(derived, indent=2), out / "run.json")


def _commit(out: Path, tmp: Path) -> None:
    """Swap the new outputs in. The manifest is removed first and written last: a crash in between leaves a
    folder without a manifest (read as "not mixed"), never a manifest that contradicts the files."""
    (out / "manifest.json").unlink(missing_ok=True)
    old_kept = out / ".kept-old"
    if old_kept.exists():
        shutil.rmtree(old_kept)
    if (out / "kept").exists():
        os.replace(out / "kept", old_kept)
    os.replace(tmp / "kept", out / "kept")
    old_search = out / ".search-old"
    if old_search.exists():
        shutil.rmtree(old_search)
    if (out / "search").exists():
        os.replace(out / "search", old_search)
    if (tmp / "search").exists():  # the search index of this mix's kept text (curation/text_index.py)
        os.replace(tmp / "search", out / "search")
    faults.at("mix.mid_commit")
    for name in ("removed.parquet", "quarantine.jsonl", "skipped.jsonl", "recipe.yaml"):
        os.replace(tmp / name, out / name)
    os.replace(tmp / "manifest.json", out / "manifest.json")
    shutil.rmtree(old_kept, ignore_errors=True)
    shutil.rmtree(old_search, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def mix(run_dir: str | Path, recipe: Recipe | None = None, *, out_dir: str | Path | None = None,
        extra_timings: dict[str, Any] | None = None, locked: bool = False, command: list[str] | None = None,
        config: dict[str, Any] | None = None, started: float | None = None,
        executor: str | None = None) -> dict[str, Any]:
    """Apply `recipe` (default: the run's own recipe.yaml) to the stored signals of `run_dir`.

    With `out_dir`, the result goes to that new folder, which reads `run_dir`'s signals in place and names it
    as its parent; `run_dir` is never changed. `locked` says the caller (curate) already holds the lock.
    `executor` "ray": the search index is built as a task on the cluster while this process writes the kept
    documents, so this process holds none of the index.
    """
    from curation.objstore import is_remote

    if is_remote(run_dir) or (out_dir is not None and is_remote(out_dir)):  # a run folder on an object store
        from curation.remote_run import mix_remote

        return mix_remote(run_dir, recipe, out_dir=out_dir, command=command, config=config)
    t0 = started if started is not None else time.perf_counter()
    run = Path(run_dir).absolute()
    if not is_run(run):
        raise WinnowError(f"{run} is not a curation run folder (no run.json); run `winnow curate` first")
    info = json.loads((run / "run.json").read_text())
    if info.get("parent"):  # re-mixing a mixed folder: decide from its parent's signals
        parent = Path(info["parent"])
        if not is_run(parent):
            raise WinnowError(f"{run} was mixed from {parent}, which is gone or is no longer a run")
        if out_dir is None:
            out_dir = run
        run = parent
        info = json.loads((run / "run.json").read_text())
    out = Path(out_dir).absolute() if out_dir is not None else run
    from curation.pipeline import scoring_finished

    if (why := scoring_finished(run)) is not None:
        raise WinnowError(f"{run}: {why}; rerun the same `winnow curate` command to finish it before mixing")
    if recipe is None:
        recipe = load_recipe(out / "recipe.yaml" if (out / "recipe.yaml").is_file() else run / "recipe.yaml")
    own = _own_signals(run)
    _check_signal_settings(recipe, info, own)
    recipe = _as_scored(recipe, info, own)
    rules, skipped_rules = _check_rules(recipe, info)

    _check_out(run, out)
    locks: list[RunLock] = []
    try:
        if not locked:
            if out != run:
                locks.append(RunLock(run, "winnow mix (reading)", shared=True).acquire())
                out.mkdir(parents=True, exist_ok=True)
            locks.append(RunLock(out, "winnow mix").acquire())
        _prepare_out(run, out, info)
        for stale in [*out.glob(".mix-*"), *out.glob(".index-*")]:  # left by a mix killed before its commit
            shutil.rmtree(stale, ignore_errors=True)
        tmp = out / f".mix-{os.getpid()}"
        tmp.mkdir()
        try:
            manifest = _decide_and_write(run, out, tmp, recipe, rules, skipped_rules, info, extra_timings, t0,
                                         command, config, executor)
            faults.at("mix.before_commit")
            _commit(out, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        for lk in reversed(locks):
            lk.release()
    return manifest


def _decide_and_write(run: Path, out: Path, tmp: Path, recipe: Recipe, rules: list[Rule],
                      skipped_rules: dict[str, str], info: dict[str, Any], extra_timings: dict[str, Any] | None,
                      t0: float, command: list[str] | None, config: dict[str, Any] | None,
                      executor: str | None = None) -> dict[str, Any]:
    prog = Progress(out, "mix", total=3, unit="steps")
    docs_files = doc_files(run)
    sizes_stored = bool(docs_files) and "n_words" in pl.scan_parquet(docs_files[0]).collect_schema().names()
    text = pl.col("text")
    sizes = ([pl.col("n_chars"), pl.col("n_words")] if sizes_stored else  # runs scored before sizes were stored
             [text.str.len_chars().alias("n_chars"), text.str.count_matches(r"\S+").alias("n_words")])
    docs = (pl.scan_parquet(docs_files).select("id", "order", "source", *sizes)
            if docs_files else pl.LazyFrame(schema={"id": pl.Utf8, "order": pl.Int64, "source": pl.Utf8,
                                                    "n_chars": pl.UInt32, "n_words": pl.UInt32}))
    needed: dict[str, set[str]] = {}
    for r in rules:
        needed.setdefault(r.signal, set()).update(
            c for c in (r.column, r.value_column, r.detail_column, r.kept_id_column) if c)
    sizes_of = _cluster_size_columns(run, rules)
    for r in rules:
        if r.name in sizes_of:
            needed[r.signal].add(sizes_of[r.name])
    docs_df = docs.collect()
    if docs_df["order"].is_duplicated().any():
        raise WinnowError(f"{run}: some documents are stored twice (a damaged run); rerun `winnow curate` "
                          "with --overwrite")
    _check_coverage(run, docs_df, list(needed))
    frame = docs_df.lazy()
    by_id: set[str] = set()  # steps of an old run whose signals are keyed by id
    for step, cols in needed.items():
        if docs_df.height == 0 and not signal_files(run, step):  # an empty run (every input empty or broken)
            frame = frame.with_columns(pl.lit(None).alias(f"{step}.{c}") for c in sorted(cols))
            continue
        sig, key = _signals_frame(run, step, sorted(cols))
        if key == "id":  # an old run: one row per id, as it was decided then
            sig = sig.unique(subset="id", keep="first")
            by_id.add(step)
        frame = frame.join(sig, on=key, how="left")
    # duplicate ids in the input: later copies (by input position) are quarantined; ids must be unique to
    # explain drops. Each copy was scored on its own text, so the first copy is judged by its own signals.
    frame = frame.with_columns(_dup_id=pl.col("order") != pl.col("order").min().over("id"))
    df = frame.collect()
    prog.update(1, "signals joined")
    schema = dict(df.schema)

    if rules:
        fails = [_fails(r, schema).alias(f"_f{i}") for i, r in enumerate(rules)]
        df = df.with_columns(fails)
        df = _rekeep_lost_clusters(df, rules, sizes_of, by_id)
        names = pl.concat_list([pl.when(pl.col(f"_f{i}")).then(pl.lit(r.name)) for i, r in enumerate(rules)])
        chain_v = chain_d = chain_k = None
        for i, r in enumerate(rules):
            f = pl.col(f"_f{i}")
            v, d = _value(r, schema), _detail(r, schema)
            k = pl.col(f"_k{i}") if r.kept_id_column else pl.lit(None, pl.Utf8)
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
    quarantined_dups = df.filter(pl.col("_dup_id")).sort("order")
    removed = df.filter(pl.col("rule").is_not_null() & ~pl.col("_dup_id")).sort("order")
    kept_mask = df.filter(pl.col("rule").is_null() & ~pl.col("_dup_id")).select("order")
    write_parquet_atomic(removed.select(list(REMOVED_SCHEMA)).cast(REMOVED_SCHEMA), tmp / "removed.parquet")
    prog.update(1, "removal log written")

    # kept documents: per docs file (bounded memory), transforms applied, in parallel threads
    kept_dir = tmp / "kept"
    kept_dir.mkdir()
    transforms = []
    if recipe.transforms:
        from curation.transforms import get_transform

        transforms = [(get_transform(n), cfg) for n, cfg in recipe.transforms.items()]
    count_tokens = _token_counter(recipe.tokenizer)
    tok_counts = {"kept": 0, "removed": 0}
    index_t0 = time.perf_counter()
    # the search index (search/) when the recipe asks for one: built in this pass over the text, or on Ray as a
    # task of its own that reads the docs files while this process writes the kept ones
    index = index_task = None
    if executor not in (None, "local") and index_wanted(docs_files, recipe.search_index):
        from curation.text_index_stage import IndexTask

        index_task = IndexTask(executor, run, out)
    else:
        index = search_index_builder(tmp / "search", docs_files, recipe.search_index)

    def write_kept(path: Path) -> tuple[int, int]:
        d = pl.read_parquet(path)
        if index is not None:
            index.add(path, d)
        k = d.join(kept_mask, on="order", how="semi", maintain_order="left")
        for fn, cfg in transforms:
            # `_batch` names the docs file: batch-local signals of the same batch share that name
            k = k.with_columns(text=fn(k.select("id", "text", _batch=pl.lit(path.stem)), cfg, run))
        kt = rt = 0
        if count_tokens is not None:  # the kept text as written (after transforms: PII scrubbed), as trained on
            kt = sum(count_tokens(k["text"].to_list()))
            rt = sum(count_tokens(d.join(kept_mask, on="order", how="anti")["text"].to_list()))
        write_parquet_atomic(k.select("id", "text", "source", "metadata"), kept_dir / path.name)
        return kt, rt

    with ThreadPoolExecutor(max_workers=2) as pool:
        for kt, rt in pool.map(write_kept, docs_files):
            tok_counts["kept"] += kt
            tok_counts["removed"] += rt
    search_meta = index.finish(index_t0) if index is not None else None
    if index_task is not None:
        search_meta = index_task.finish(tmp / "search")
    prog.update(1, "kept documents written")
    prog.close()

    # quarantine: reader's entries plus duplicate ids (named by input file and line, in input order)
    quar, skipped = _read_quarantine(run)
    file_of = _file_of(info)
    for row in quarantined_dups.select("id", "order").iter_rows():
        quar.append({"file": file_of.get(row[1] // ORDER_STRIDE, "?"), "line": row[1] % ORDER_STRIDE,
                     "reason": f"duplicate id {row[0]!r} (an earlier document has it)"})
    write_text_atomic("".join(json.dumps(q) + "\n" for q in quar), tmp / "quarantine.jsonl")
    write_text_atomic("".join(json.dumps(q) + "\n" for q in skipped), tmp / "skipped.jsonl")
    write_text_atomic(recipe.to_yaml(), tmp / "recipe.yaml")

    totals = _task_totals(run)
    n_kept = kept_mask.height
    n_removed = removed.height
    n_quar = len(quar)
    n_skip = len(skipped)
    n_input = totals["docs"] + totals["quarantined"] + totals["skipped"]
    if df.height != totals["docs"]:
        raise WinnowError(f"accounting: {df.height} documents stored but tasks read {totals['docs']}; rerun "
                          "`winnow curate` with the same command to repair the run")
    if n_input != n_kept + n_removed + n_quar + n_skip:
        raise WinnowError(f"accounting mismatch: input {n_input} != kept {n_kept} + removed {n_removed} + "
                          f"quarantined {n_quar} + skipped {n_skip}; nothing was written")
    kd = df.filter(pl.col("rule").is_null() & ~pl.col("_dup_id"))
    by_rule = dict(removed.group_by("rule").len().sort(["len", "rule"], descending=[True, False]).iter_rows())
    by_rule_any = dict(removed.select(pl.col("rules").explode()).group_by("rules").len().iter_rows())
    timings: dict[str, Any] = {"mix": round(time.perf_counter() - t0, 3)}
    step_secs: dict[str, float] = {}
    for p in (run / "state" / "tasks").glob("*.json"):
        for k, v in json.loads(p.read_text()).get("timings", {}).items():
            step_secs[k] = step_secs.get(k, 0.0) + v
    timings["steps_cpu"] = {k: round(v, 3) for k, v in step_secs.items()}
    if search_meta is not None:
        timings["search_index_cpu"] = search_meta["cpu_s"]
    if extra_timings:
        timings.update(extra_timings)
    skipped_by: dict[str, int] = {}
    for e in skipped:
        skipped_by[e["reason"]] = skipped_by.get(e["reason"], 0) + 1
    manifest: dict[str, Any] = {
        "input": n_input, "kept": n_kept, "removed": n_removed, "quarantined": n_quar, "skipped": n_skip,
        "skipped_by_reason": skipped_by,
        # files of the input folders that were not read at all (not documents: not in input)
        **({k: info[k] for k in ("skipped_files", "skipped_files_total")} if "skipped_files" in info
           else skipped_files_record(_input_folders(info))),  # a run scored before run.json recorded them
        "by_rule": by_rule, "by_rule_any": by_rule_any,
        "chars": {"kept": int(kd["n_chars"].sum() or 0), "removed": int(removed["n_chars"].sum() or 0)},
        "words": {"kept": int(kd["n_words"].sum() or 0), "removed": int(removed["n_words"].sum() or 0)},
        "tokens": ({**tok_counts, "tokenizer": recipe.tokenizer} if count_tokens is not None else None),
        "recipe": recipe.model_dump(mode="json", exclude_none=True),
        "signals": info.get("steps", []), "skipped_signals": info.get("skipped", {}),
        "skipped_rules": skipped_rules,
        "steps": _describe_steps(recipe, info),
        "inputs": info.get("inputs", []), "executor": info.get("executor"), "workers": info.get("world"),
        "tasks": info.get("tasks", info.get("world")), "parent": str(run) if out != run else None,
        "timings": timings, "versions": package_versions(),
        "search_index": ({k: search_meta[k] for k in ("n_docs", "n_blocks", "n_words", "n_postings", "bytes")}
                         if search_meta is not None else None),
    }
    _stamp_lineage(manifest, run, out, tmp, info, command, config)
    if manifest["timings"].get("score_wall") is not None:
        manifest["timings"]["curate_wall"] = round(time.perf_counter() - t0, 3)
    write_text_atomic(json.dumps(manifest, indent=2, default=str), tmp / "manifest.json")
    return manifest


def _stamp_lineage(manifest: dict[str, Any], run: Path, out: Path, tmp: Path, info: dict[str, Any],
                   command: list[str] | None, config: dict[str, Any] | None) -> None:
    """Lineage block (inputs by content fingerprint, the parent run of a `mix --out`) and the fingerprint of
    what this mix wrote (issue "experiment loop"; curation/lineage_record.py)."""
    from curation.lineage_record import lineage_block, stamp_fingerprint

    inputs = [i["path"] for i in info.get("inputs", [])]
    parents = [run] if out != run else []
    parents += [Path(a) for a in info.get("context", {}).get("against", [])]
    lin = lineage_block(inputs=[], parents=parents, command=command or info.get("command"),
                        config=config or info.get("config"), kind="mix" if out != run else "curated")
    # the raw inputs were fingerprinted by content when the run was scored: reuse them, never re-read
    lin["inputs"] = [{"path": p, "fingerprint": i.get("fingerprint"), "type": "file"}
                     for p, i in zip(inputs, info.get("inputs", []), strict=True)]
    manifest["lineage"] = lin
    stamp_fingerprint(manifest, [tmp / "kept", tmp / "removed.parquet"])


def _describe_steps(recipe: Recipe, info: dict[str, Any]) -> dict[str, Any]:
    from curation.scoring import build_steps

    out = {}
    for step in build_steps(recipe, info.get("steps", []), info.get("context", {})):
        try:
            out[step.name] = step.describe()
        except Exception as e:  # noqa: BLE001 - a description must never fail the run
            out[step.name] = {"error": str(e)}
    return out
