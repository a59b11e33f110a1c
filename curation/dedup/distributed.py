"""Corpus-wide dedup as datatrove stages, so no process holds every document's signature or key.

(A corpus up to `DOCS_PER_TASK` documents, whose every stage would have one task, runs the steps' single-process
finalize in one task instead: `WholeFinalize`, at the end of this module.)

The single-process `finalize` of `exact_dedup` and `minhash` reads every part into one process. Here each
step is a chain of datatrove `PipelineStep`s run on the same executor as scoring (local or Ray), each
stage's tasks reading and writing files under `<run>/dedup/<step>/` (any fsspec folder), so the driver only
lists part files and starts stages. Results equal the single-process finalize (tests/curation/
test_distributed_dedup.py): same duplicate flags, cluster ids, kept ids, similarities and sizes.

exact_dedup (partitioned by hash):
  E1 partition  task r of T reads every T-th part file; rows go to partition key[:8] % P
  E2 groups     task p reads partition p and groups it (`exact_groups`): a group never spans partitions

minhash (candidates per band partition as datatrove's MinhashDedupBuckets splits them, then clustering
from the edge lists):
  M1 bands      (band, band hash, gid) of every document with shingles -> partition hash % P
  M2 pairs      per partition and band, candidate pairs by the rule of `lsh.candidate_pairs`; the pairs, and
                the candidate documents routed to the task that owns their part file
  M3 nodes      each owner reads the signature, id, order and length of its candidate documents only
  M4 cluster    one task: verify candidate pairs (estimated Jaccard), connected components, representative,
                similarity; only candidate documents are in memory (see docs/scale.md for the limit)
  M5 final      each owner writes one row per document of its part files (singletons need no signature)

A document's global id `gid` is (part file index << 32 | row): part files sorted, earlier runs' (`--against`)
first, the order in which the single-process finalize concatenates them, so tie-breaks agree.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
from datatrove.pipeline.base import PipelineStep

import curation.datatrove_logs  # noqa: F401 - keeps datatrove logs in files, also in workers
from curation import objstore
from curation.dedup.lsh import candidate_pairs, connected_components, estimated_jaccard, pick_representatives
from curation.errors import WinnowError

SHIFT = np.uint64(32)
ROW_MASK = np.uint64(0xFFFFFFFF)
WORK = "dedup"


def _plan_path(step: str) -> str:
    return f"{WORK}/{step}/plan.json"


def _owner(gid: np.ndarray, blocks: int) -> np.ndarray:
    return ((gid >> SHIFT) % np.uint64(blocks)).astype(np.int64)


def _write_partitioned(fold: Any, prefix: str, name: str, df: pl.DataFrame, part: np.ndarray) -> None:
    """Write the rows of `df` with partition p to `<prefix>/<p>/<name>.parquet` (empty partitions: no file)."""
    if not df.height:
        return
    df = df.with_columns(_p=pl.Series(part, dtype=pl.Int64))
    for (p,), sub in df.partition_by("_p", as_dict=True).items():
        objstore.write_parquet(fold, f"{prefix}/{int(p):05d}/{name}.parquet", sub.drop("_p"))


def _read_all(fold: Any, subdir: str, columns: list[str] | None = None) -> pl.DataFrame | None:
    files = objstore.list_files(fold, subdir)
    if not files:
        return None
    frames = objstore.imap(lambda f: objstore.read_parquet(fold, f, columns), files, remote=not fold.is_local())
    return pl.concat(list(frames), how="vertical_relaxed")


class _Stage(PipelineStep):
    """A stage task: reads the plan the driver wrote (`dedup/<step>/plan.json`: part files, sizes)."""

    type = "dedup"

    def __init__(self, run: str, step: str, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.run_url = run
        self.step = step
        self.cfg = cfg

    def _setup(self) -> tuple[Any, dict[str, Any]]:
        fold = objstore.folder(self.run_url)
        return fold, json.loads(objstore.read_bytes(fold, _plan_path(self.step)))

    def _file(self, plan: dict[str, Any], i: int, columns: list[str]) -> pl.DataFrame:
        root, rel = plan["files"][i]
        return objstore.read_parquet(objstore.folder(root), rel, columns)

    def _files(self, plan: dict[str, Any], idx: list[int], columns: list[str]) -> Iterator[pl.DataFrame]:
        """Part files `idx` in order; from an object store several are fetched ahead (in threads)."""
        remote = any(objstore.is_remote(plan["files"][i][0]) for i in idx)
        return objstore.imap(lambda i: self._file(plan, i, columns), idx, remote=remote)

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
        fold, plan = self._setup()
        self.work(fold, plan, rank, world_size)
        return iter(())

    def work(self, fold: Any, plan: dict[str, Any], rank: int, world: int) -> None:
        raise NotImplementedError


# --- exact_dedup -----------------------------------------------------------------------------------


def _key_prefix(keys: pl.Series) -> np.ndarray:
    """First 8 bytes of each 16-byte key as uint64 (keys are xxh3-128 digests: already uniform)."""
    arr = keys.to_arrow()
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    fixed = arr.cast(pa.binary(16))
    raw = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)[fixed.offset * 16:(fixed.offset + len(fixed)) * 16]
    return raw.reshape(-1, 16)[:, :8].copy().view("<u8").ravel()


class ExactPartition(_Stage):
    name = "exact partition"

    def work(self, fold: Any, plan: dict[str, Any], rank: int, world: int) -> None:
        mine = [i for i in range(len(plan["files"])) if i % world == rank]
        new = list(self._files(plan, [i for i in mine if i >= plan["n_old"]], ["id", "order", "length", "key"]))
        olds = [i for i in mine if i < plan["n_old"]]
        old = [df.select(
            "key", (pl.lit(f"{plan['labels'][i]}:") + pl.col("id").cast(pl.Utf8)).alias("kept_id"),
            pl.lit(plan["labels"][i]).alias("kept_run"), pl.lit(plan["run_index"][i]).alias("_run"),
            pl.col("order").alias("_order"))
            for i, df in zip(olds, self._files(plan, olds, ["id", "order", "key"]), strict=True)]
        for name, frames in (("parts", new), ("earlier", old)):
            if frames:
                df = pl.concat(frames, how="vertical_relaxed")
                part = (_key_prefix(df["key"]) % np.uint64(plan["partitions"])).astype(np.int64)
                _write_partitioned(fold, f"{WORK}/{self.step}/{name}", f"{rank:05d}", df, part)
                self.stat_update("documents" if name == "parts" else "earlier documents", value=df.height)


class ExactGroups(_Stage):
    name = "exact groups"

    def work(self, fold: Any, plan: dict[str, Any], rank: int, world: int) -> None:
        from curation.steps.exact_dedup import exact_groups

        df = _read_all(fold, f"{WORK}/{self.step}/parts/{rank:05d}")
        if df is None:
            return
        earlier = _read_all(fold, f"{WORK}/{self.step}/earlier/{rank:05d}")
        if earlier is not None:  # the first copy in the earliest listed run wins, as `earlier_keys` decides
            earlier = earlier.sort("_run", "_order").unique("key", keep="first").drop("_run", "_order")
        out = exact_groups(df.sort("order"), self.cfg.get("keep", "first"), earlier)
        objstore.write_parquet(fold, f"signals/{self.step}/part-{rank:05d}.parquet", out)
        self.stat_update("documents", value=out.height)


# --- minhash ---------------------------------------------------------------------------------------


class MinhashBands(_Stage):
    name = "minhash bands"

    def work(self, fold: Any, plan: dict[str, Any], rank: int, world: int) -> None:
        js, hs, gs = [], [], []
        mine = [i for i in range(len(plan["files"])) if i % world == rank]
        for i, df in zip(mine, self._files(plan, mine, ["n_shingles", "bands"]), strict=True):
            rows = np.flatnonzero(df["n_shingles"].to_numpy() > 0)
            if not len(rows):
                continue
            bh = df["bands"].to_numpy()[rows]
            nb = bh.shape[1]
            gid = (np.uint64(i) << SHIFT) | rows.astype(np.uint64)
            js.append(np.repeat(np.arange(nb, dtype=np.uint16), len(rows)))
            hs.append(bh.T.ravel())
            gs.append(np.tile(gid, nb))
        if not js:
            return
        h = np.concatenate(hs)
        df = pl.DataFrame({"band": np.concatenate(js), "hash": h, "gid": np.concatenate(gs)})
        part = (h % np.uint64(plan["partitions"])).astype(np.int64)
        _write_partitioned(fold, f"{WORK}/{self.step}/bands", f"{rank:05d}", df, part)
        self.stat_update("band rows", value=df.height)


class MinhashPairs(_Stage):
    name = "minhash pairs"

    def work(self, fold: Any, plan: dict[str, Any], rank: int, world: int) -> None:
        df = _read_all(fold, f"{WORK}/{self.step}/bands/{rank:05d}")
        if df is None:
            return
        out_a, out_b = [], []
        for (_band,), sub in df.partition_by("band", as_dict=True).items():
            sub = sub.sort("gid")  # members in gid order, as in the single-process index order
            gid = sub["gid"].to_numpy()
            local = candidate_pairs(sub["hash"].to_numpy().reshape(-1, 1))
            if len(local):
                out_a.append(gid[local[:, 0]])
                out_b.append(gid[local[:, 1]])
        if not out_a:
            return
        a, b = np.concatenate(out_a), np.concatenate(out_b)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        pairs = pl.DataFrame({"a": lo, "b": hi}).unique()
        objstore.write_parquet(fold, f"{WORK}/{self.step}/pairs/{rank:05d}.parquet", pairs)
        nodes = np.unique(np.concatenate([lo, hi]))
        _write_partitioned(fold, f"{WORK}/{self.step}/cand", f"{rank:05d}", pl.DataFrame({"gid": nodes}),
                           _owner(nodes, plan["blocks"]))
        self.stat_update("pairs", value=pairs.height)


class MinhashNodes(_Stage):
    name = "minhash nodes"

    def work(self, fold: Any, plan: dict[str, Any], rank: int, world: int) -> None:
        cand = _read_all(fold, f"{WORK}/{self.step}/cand/{rank:05d}")
        if cand is None:
            return
        gid = np.unique(cand["gid"].to_numpy())
        files = gid >> SHIFT
        frames = []
        which = [int(i) for i in np.unique(files)]
        for i, df in zip(which, self._files(plan, which, ["id", "order", "length", "signature"]), strict=True):
            rows = (gid[files == i] & ROW_MASK).astype(np.int64)
            frames.append(df[rows].with_columns(gid=pl.Series(gid[files == i], dtype=pl.UInt64)))
        out = pl.concat(frames, how="vertical_relaxed")
        objstore.write_parquet(fold, f"{WORK}/{self.step}/nodes/{rank:05d}.parquet", out)
        self.stat_update("candidates", value=out.height)


class MinhashCluster(_Stage):
    name = "minhash cluster"

    def work(self, fold: Any, plan: dict[str, Any], rank: int, world: int) -> None:
        nodes = _read_all(fold, f"{WORK}/{self.step}/nodes")
        pairs = _read_all(fold, f"{WORK}/{self.step}/pairs")
        if nodes is None or pairs is None:
            return
        nodes = nodes.sort("gid")
        pairs = pairs.unique()
        gid = nodes["gid"].to_numpy()
        sig = nodes["signature"].to_numpy()
        ia = np.searchsorted(gid, pairs["a"].to_numpy())
        ib = np.searchsorted(gid, pairs["b"].to_numpy())
        if self.cfg.get("verify", True) and len(ia):
            ok = estimated_jaccard(sig, ia, ib) >= float(self.cfg.get("threshold", 0.75))
            ia, ib = ia[ok], ib[ok]
        n = len(gid)
        labels = connected_components(n, np.stack([ia, ib], axis=1).astype(np.int64))
        is_new = ((gid >> SHIFT) >= np.uint64(plan["n_old"])).astype(np.int8)
        order = nodes["order"].to_numpy()
        length = nodes["length"].to_numpy().astype(np.int64)
        keys = [is_new, -length, order] if self.cfg.get("keep") == "longest" else [is_new, order]
        rep = pick_representatives(labels, keys)
        sizes = np.bincount(labels, minlength=n)[labels]
        sim = estimated_jaccard(sig, np.arange(n), rep)
        ids = nodes["id"].cast(pl.Utf8)
        keep = (sizes > 1) & (is_new == 1)
        dup = rep != np.arange(n)
        rep_file = (gid[rep] >> SHIFT).astype(np.int64)
        labels_of = plan["labels"]
        run_of = pl.Series([labels_of[f] if f < plan["n_old"] else None for f in rep_file.tolist()], dtype=pl.Utf8)
        rep_ids = ids.gather(rep)
        out = pl.DataFrame({
            "gid": gid, "duplicate": dup, "cluster_id": rep_ids, "run": run_of,
            "similarity": sim, "cluster_size": pl.Series(sizes, dtype=pl.UInt32),
        }).filter(pl.Series(keep)).with_columns(
            # a copy kept in an earlier run is named `<run>:<id>` (as the single-process finalize names it)
            pl.when(pl.col("run").is_not_null()).then(pl.col("run") + ":" + pl.col("cluster_id"))
            .otherwise(pl.col("cluster_id")).alias("kept_id"),
            pl.col("run").alias("kept_run")).drop("run")
        _write_partitioned(fold, f"{WORK}/{self.step}/members", "all", out,
                           _owner(out["gid"].to_numpy(), plan["blocks"]))
        self.stat_update("clustered", value=out.height)


class MinhashFinal(_Stage):
    name = "minhash final"

    def work(self, fold: Any, plan: dict[str, Any], rank: int, world: int) -> None:
        members = _read_all(fold, f"{WORK}/{self.step}/members/{rank:05d}")
        mine = [i for i in range(plan["n_old"], len(plan["files"])) if i % world == rank]
        for i, df in zip(mine, self._files(plan, mine, ["id", "order", "n_shingles"]), strict=True):
            gid = (np.uint64(i) << SHIFT) | np.arange(df.height, dtype=np.uint64)
            out = pl.DataFrame({
                "gid": gid, "id": df["id"].cast(pl.Utf8), "duplicate": np.zeros(df.height, bool),
                "cluster_id": df["id"].cast(pl.Utf8), "kept_id": pl.Series([None] * df.height, dtype=pl.Utf8),
                "kept_run": pl.Series([None] * df.height, dtype=pl.Utf8), "similarity": np.ones(df.height),
                "cluster_size": pl.Series(np.ones(df.height), dtype=pl.UInt32),
                "n_shingles": df["n_shingles"].cast(pl.UInt32),
            })
            if members is not None:
                out = out.update(members, on="gid", how="left")
            out = out.select(
                "id", "duplicate", "cluster_id",
                pl.when(pl.col("duplicate")).then(pl.col("kept_id")).otherwise(None).cast(pl.Utf8).alias("kept_id"),
                pl.when(pl.col("duplicate")).then(pl.col("kept_run")).otherwise(None).cast(pl.Utf8)
                .alias("kept_run"),
                pl.col("similarity").cast(pl.Float64), pl.col("cluster_size").cast(pl.UInt32), "n_shingles",
                df["order"].cast(pl.Int64))  # order: the row key mix joins on
            objstore.write_parquet(fold, f"signals/{self.step}/part-{i:06d}.parquet", out)
            self.stat_update("documents", value=out.height)


# --- driver --------------------------------------------------------------------------------------------


def _part_files(run: str, step: str) -> list[list[str]]:
    fold = objstore.folder(run)
    return [[objstore.absolute(run), f] for f in objstore.list_files(fold, f"signals/{step}.parts")]


def _against_files(step: Any) -> tuple[list[list[str]], list[str], list[int]]:
    """Part files of earlier runs (`--against`), each file's run label (`exact_dedup.run_label`) and run
    index, after checking the runs hold this step's parts (and, for MinHash, the same parameters)."""
    from curation.steps.exact_dedup import run_label
    from curation.steps.minhash import PARAMS_FILE, params_of

    out: list[list[str]] = []
    labels: list[str] = []
    index: list[int] = []
    for k, d in enumerate(step.context.get("against") or []):
        fold = objstore.folder(d)
        if step.name == "minhash":
            mine = params_of(step.config)
            rel = f"signals/minhash/{PARAMS_FILE}"
            if fold.isfile(rel):
                theirs = json.loads(objstore.read_bytes(fold, rel)).get("params")
                if theirs is not None and theirs != mine:
                    raise WinnowError(f"{d}: its MinHash parameters {theirs} differ from this recipe's {mine}; "
                                      "--against needs the same ngram, num_perm, seed, bands and rows")
        files = _part_files(d, step.name)
        if not files:
            raise WinnowError(f"--against {d}: no stored {step.name} parts (signals/{step.name}.parts/); "
                              f"curate that run with the {step.name} signal, or leave {step.name} out here")
        out += files
        labels += [run_label(d)] * len(files)
        index += [k] * len(files)
    return out, labels, index


def _parts_signature(fold: Any, rels: list[str]) -> str | None:
    """Sizes and times of a local run's parts: a batch scored again (a damaged one) makes the stages start
    over. On an object store the stages run only after all scoring, so names are enough there (None)."""
    if not fold.is_local():
        return None
    import hashlib

    h = hashlib.sha256()
    for rel in rels:
        st = (Path(fold.path) / rel).stat()
        h.update(f"{rel}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


DOCS_PER_TASK = 250_000  # a stage task's share when sized automatically: each Ray task costs a worker start


def _docs_scored(fold: Any) -> int | None:
    """Documents the scoring tasks counted (state/tasks/*.json), or None when there are no counters."""
    files = objstore.list_files(fold, "state/tasks", ".json")
    if not files:
        return None
    return sum(objstore.imap(lambda f: int(json.loads(objstore.read_bytes(fold, f)).get("docs", 0)), files,
                             remote=not fold.is_local()))


STAGES: dict[str, list[type[_Stage]]] = {
    "exact_dedup": [ExactPartition, ExactGroups],
    "minhash": [MinhashBands, MinhashPairs, MinhashNodes, MinhashCluster, MinhashFinal],
}
# any other corpus step (decontamination: per-document flags, no corpus-wide join) always runs its
# single-process finalize in one task (`WholeFinalize`)
STAGED_STEPS = tuple(STAGES)


def stages_for(step: Any, run: str) -> list[type[_Stage]]:
    if step.name not in STAGES:
        raise WinnowError(f"corpus step {step.name!r} has no distributed stages")
    return STAGES[step.name]


_UNKNOWN = object()


def _prepare(step: Any, run: str, tasks: int, partitions: int | None,
             n_docs: Any = _UNKNOWN) -> list[tuple[_Stage, int]]:
    """Write (or keep) `step`'s plan and return its stages, each with its number of tasks.

    `tasks` bounds each stage's tasks; without `partitions` they are sized by the documents scored
    (`DOCS_PER_TASK` each), since on Ray every task starts a worker."""
    run = objstore.absolute(run)
    fold = objstore.folder(run)
    old, labels, run_index = _against_files(step)
    new_files = _part_files(run, step.name)
    files = old + new_files
    if partitions is None:  # size the stages by the data: a task per DOCS_PER_TASK documents, at most `tasks`
        if n_docs is _UNKNOWN:  # (several steps: their caller counts once)
            n_docs = _docs_scored(fold)
        if n_docs is not None:
            tasks = min(int(tasks), max(1, -(-n_docs // DOCS_PER_TASK)))
    blocks = max(1, min(int(tasks), len(files)))
    plan = {"files": files, "n_old": len(old), "blocks": blocks, "partitions": max(1, int(partitions or tasks)),
            "labels": labels + [None] * len(new_files), "run_index": run_index + [None] * len(new_files),
            "parts": _parts_signature(fold, [rel for _, rel in new_files])}
    plan_rel = _plan_path(step.name)
    if not fold.isfile(plan_rel) and fold.exists(f"signals/{step.name}"):
        # final signals with no plan: another finalize wrote them (the local executor's single-process one,
        # under other file names), so none of them can stand beside this plan's outputs
        fold.rm(f"signals/{step.name}", recursive=True)
    if fold.isfile(plan_rel) and json.loads(objstore.read_bytes(fold, plan_rel)) != plan:
        # other parts than last time (a batch was scored again): the stages start over, from nothing stale,
        # including the records of stage runs this step shared with another step (`a+b` folders)
        stale = [f"{WORK}/{step.name}", f"signals/{step.name}"]
        if fold.isdir(f"logs/{WORK}"):
            stale += [f"logs/{WORK}/{d}" for d in (Path(e).name for e in fold.ls(f"logs/{WORK}", detail=False))
                      if step.name in d.split("+")]
        for rel in stale:
            if fold.exists(rel):
                with contextlib.suppress(FileNotFoundError):  # another step's plan, made at once, removed it first
                    fold.rm(rel, recursive=True)
    if not fold.isfile(plan_rel):
        objstore.write_bytes(fold, plan_rel, json.dumps(plan).encode())
    cfg = step.config.model_dump(mode="json")
    sizes = {"exact partition": blocks, "exact groups": plan["partitions"], "minhash bands": blocks,
             "minhash pairs": plan["partitions"], "minhash nodes": blocks, "minhash cluster": 1,
             "minhash final": blocks}
    return [(cls(run, step.name, cfg), sizes[cls.name]) for cls in stages_for(step, run)]


def _groups(stages: list[tuple[_Stage, int]], fuse: bool) -> list[tuple[list[_Stage], int]]:
    """Consecutive one-task stages run as ONE task (a datatrove pipeline of those stages, in order): a stage
    with one task has no barrier to wait for but its predecessor's end, and on Ray each task run starts a
    worker process (imports, a placement group) that costs more than a small stage's work."""
    out: list[tuple[list[_Stage], int]] = []
    for stage, n in stages:
        if fuse and n == 1 and out and out[-1][1] == 1:
            out[-1][0].append(stage)
        else:
            out.append(([stage], n))
    return out


def _run_group(stages: list[_Stage], n: int, run: str, executor: str, workers: int) -> None:
    """Run `stages` (one pipeline) as `n` tasks; fail with one line when a task did not complete."""
    from curation.executors import run_stage

    steps = list(dict.fromkeys(s.step for s in stages))
    names = "+".join(s.name.replace(" ", "_") for s in stages)
    run_stage(executor, list(stages), tasks=n, workers=workers,
              logging_dir=objstore.join(run, f"logs/{WORK}/{'+'.join(steps)}/{names}"),
              what=f"{'+'.join(steps)}: {' + '.join(s.name for s in stages)}")


def _finish(step: Any, run: str) -> None:
    if step.name == "minhash":
        from curation.steps.minhash import PARAMS_FILE, params_of

        objstore.write_bytes(objstore.folder(run), f"signals/minhash/{PARAMS_FILE}", json.dumps(
            {"params": params_of(step.config), "config": step.config.model_dump(mode="json"),
             "against": list(step.context.get("against") or [])}, indent=2).encode())


def finalize_distributed(step: Any, run: str, *, executor: str = "local", tasks: int = 4, workers: int = 1,
                         partitions: int | None = None, hook: Any = None, fuse: bool = True) -> dict[str, float]:
    """Run `step`'s stages over `run`'s stored parts on `executor`; returns seconds per stage run (fused
    one-task stages under their joined names, e.g. "minhash cluster+minhash final").

    Resumable: each stage run's finished tasks are recorded under `<run>/logs/dedup/<step>/<stages>` and
    skipped on a rerun with the same plan. `hook(stage, "start" | "end")`, when given, is called around each
    stage, which then runs alone (bench/scale.py measures each stage's memory with it).
    """
    import time

    run = objstore.absolute(run)
    timings: dict[str, float] = {}
    for group, n in _groups(_prepare(step, run, tasks, partitions), fuse and hook is None):
        name = "+".join(s.name for s in group)
        if hook is not None:
            hook(name, "start")
        t0 = time.perf_counter()
        _run_group(group, n, run, executor, workers)
        timings[name] = time.perf_counter() - t0
        if hook is not None:
            hook(name, "end")
    _finish(step, run)
    return timings


class WholeFinalize(PipelineStep):
    """Every corpus step's single-process `finalize`, in ONE executor task (on Ray a worker, not the driver).

    For a corpus whose every stage would have one task anyway: partitioning by hash into one partition only
    adds the stages' intermediate files (~50 MB written and read again per 200,000 sample documents: MinHash
    bands 26.5 MB, nodes 18.7 MB, exact partitions 3.7 MB, by `bench/scale.py --stage-costs`)
    and their reads of the parts, and the single-process finalize is the reference the stages are tested
    against. The task reads the parts (from an object store: a local copy, the later steps' fetched while this
    one runs), writes each step's signals to a scratch folder and replaces `signals/<step>/` with them."""

    name = "single-process finalize"
    type = "dedup"

    def __init__(self, run: str, recipe_json: str, steps: list[str], context: dict[str, Any]) -> None:
        super().__init__()
        self.run_url = run
        self.recipe_json = recipe_json
        self.steps = steps
        self.context = context

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
        import shutil
        import threading
        from concurrent.futures import ThreadPoolExecutor

        from curation.recipe import Recipe
        from curation.scoring import build_steps
        from curation.scratch import scratch_dir
        from curation.steps import CorpusStep

        fold = objstore.folder(self.run_url)
        recipe = Recipe.model_validate_json(self.recipe_json)
        corpus = [s for s in build_steps(recipe, self.steps, self.context) if isinstance(s, CorpusStep)]
        stop = threading.Event()
        with scratch_dir("winnow-finalize", rank) as scratch:
            # from an object store every step's parts are fetched in order in one thread, so a step's
            # finalize runs while the later steps' parts come in (MinHash's are ~0.6 KB a document)
            with ThreadPoolExecutor(1, thread_name_prefix="winnow-parts") as pool:
                fetched = {} if fold.is_local() else {
                    s.name: pool.submit(objstore.download_tree, self.run_url, f"signals/{s.name}.parts", scratch,
                                        stop=stop.is_set)
                    for s in corpus}
                try:
                    for step in corpus:
                        parts_dir = f"signals/{step.name}.parts"
                        if fold.is_local():
                            parts = [Path(fold.path) / rel for rel in objstore.list_files(fold, parts_dir)]
                        else:
                            fetched[step.name].result()
                            parts = sorted((scratch / parts_dir).glob("*.parquet"))
                        out = scratch / "signals" / step.name
                        step.finalize(parts, out)
                        if fold.exists(f"signals/{step.name}"):  # a rerun's or an earlier plan's outputs go first
                            fold.rm(f"signals/{step.name}", recursive=True)
                        written = sorted(out.glob("*.parquet"))
                        objstore.upload_tree(scratch, self.run_url, f"signals/{step.name}")
                        self.stat_update("documents", value=sum(pl.scan_parquet(f).select(pl.len()).collect().item()
                                                                for f in written))
                        for done in (scratch / parts_dir, out):  # this step's; the next step's parts stay
                            shutil.rmtree(done, ignore_errors=True)
                finally:  # a step failed: the parts not yet fetched are not needed, nor the rest of a fetch
                    stop.set()
                    for f in fetched.values():
                        f.cancel()
        return iter(())


WHOLE_FINALIZE = True  # False: a small corpus runs the hash-partitioned stages too (tests of the stages on Ray)


def finalize_stages(recipe: Any, steps: list[str], context: dict[str, Any], run: str, executor: str, tasks: int,
                    workers: int) -> dict[str, float]:
    """Every corpus step of the recipe as stages on `executor` (what `curate` runs on Ray): seconds per step.

    When every stage of every step would have one task (a corpus up to `DOCS_PER_TASK` documents) and no earlier
    run joins (`--against`), one task runs each step's single-process finalize (`WholeFinalize`): one worker
    start, no intermediate files. Otherwise each step's stages run in order, its consecutive one-task stages
    fused (all of them into one task when every stage has one task). A corpus step without stages
    (`STAGED_STEPS`) runs its single-process finalize in one task either way."""
    import time

    from curation.scoring import build_steps
    from curation.steps import CorpusStep

    run = objstore.absolute(run)
    corpus = [s for s in build_steps(recipe, steps, context) if isinstance(s, CorpusStep)]
    staged = [s for s in corpus if s.name in STAGED_STEPS]
    fold = objstore.folder(run)
    n_docs = _docs_scored(fold)
    # each step's plan: a few object-store round trips, made for all steps at once
    prepared = list(zip(staged, objstore.imap(lambda s: _prepare(s, run, tasks, None, n_docs), staged,
                                              remote=not fold.is_local()), strict=True))
    out: dict[str, float] = {}
    one_task = all(n == 1 for _, stages in prepared for _, n in stages)
    small = n_docs is not None and n_docs <= DOCS_PER_TASK  # (one task also comes from --tasks 1, at any size)
    whole = bool(prepared) and one_task and small and WHOLE_FINALIZE and not any(
        s.context.get("against") for s, _ in prepared)
    in_one_task = ([s for s, _ in prepared] if whole else []) + [s for s in corpus if s.name not in STAGED_STEPS]
    if in_one_task:
        from curation.executors import run_stage

        t0 = time.perf_counter()
        names = "+".join(s.name for s in in_one_task)
        # a step without a plan is redone when its parts change (a batch scored again): their signature names
        # the record of the task's completion
        unplanned = [rel for s in in_one_task if s.name not in STAGED_STEPS for _, rel in _part_files(run, s.name)]
        sig = _parts_signature(fold, unplanned) if unplanned else None
        run_stage(executor, [WholeFinalize(run, recipe.model_dump_json(), [s.name for s in in_one_task], context)],
                  tasks=1, workers=1, what=f"{names}: single-process finalize",
                  logging_dir=objstore.join(run, f"logs/{WORK}/{names}/single_process_finalize"
                                                 + (f"-{sig}" if sig else "")))
        for s in in_one_task:
            _finish(s, run)
        out[f"{names} (single-process)"] = time.perf_counter() - t0
    if whole or not prepared:
        return out
    if len(prepared) > 1 and one_task:
        t0 = time.perf_counter()
        _run_group([st for _, stages in prepared for st, _ in stages], 1, run, executor, workers)
        for s, _ in prepared:
            _finish(s, run)
        out["+".join(s.name for s, _ in prepared)] = time.perf_counter() - t0
        return out
    for s, stages in prepared:
        t0 = time.perf_counter()
        for group, n in _groups(stages, True):
            _run_group(group, n, run, executor, workers)
        _finish(s, run)
        out[s.name] = time.perf_counter() - t0
    return out
