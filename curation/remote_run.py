"""`curate` where the inputs, the run folder or `--against` are object-store URLs (s3://, gs://, hf://).

The same stages as a local run, on the same executor, with the run folder on the object store:
  1. preflight (curation/remote.py), then the lock object (conditional put, curation/objstore.py);
  2. scoring: each task (`RemoteScoreShard`) reads its plain JSONL inputs on S3 as streams and copies the
     others to its own scratch folder, runs the ordinary `ScoreShard` there and uploads what it wrote, data
     first and its markers last; datatrove records finished tasks under `<run>/logs/completions/` on the
     store, so a rerun resumes per task;
  3. corpus-wide steps as distributed stages (curation/dedup/distributed.py) reading and writing the store;
  4. mix on the driver over a local copy of the documents and final signals, then upload: outputs first,
     `manifest.json` last (the commit).
No worker shares a disk with another or with the driver: everything passes through the store.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from datatrove.pipeline.base import PipelineStep

import curation.datatrove_logs  # noqa: F401 - before a worker's task logger: importing it later drops that sink
from curation import objstore
from curation.errors import WinnowError
from curation.recipe import Recipe
from curation.run_folder import is_run_info

OWNED = ("docs", "signals", "state", "logs", "quarantine", "kept", "search", "dedup", "run.json", "recipe.yaml",
         "removed.parquet", "manifest.json", "quarantine.jsonl", "skipped.jsonl", "progress.jsonl")


@dataclass(frozen=True)
class RemoteInput:
    url: str  # an fsspec URL, or an absolute local path
    rel: str  # as the local reader names it: part of stable ids and of quarantine entries
    index: int
    size: int
    fingerprint: str
    etag: str | None = None  # an S3 object's version when discovered: every task reads that version or fails
    root: str | None = None  # the input folder it was found in (None: given as a file)


def discover(inputs: list[str | Path]) -> list[RemoteInput]:
    """Input files (URLs or local paths) in the order and with the names the local reader gives them, so a
    document gets the same id and order wherever its file lives."""
    from fsspec.core import url_to_fs

    from curation.fingerprint import file_fingerprint
    from curation.reader import ALL_SUFFIXES, discover_inputs

    found: list[tuple[str, str, int, str, str | None, str | None]] = []
    for raw in inputs:
        if not objstore.is_remote(raw):
            for f in discover_inputs([raw]):
                found.append((str(f.path), f.rel, f.path.stat().st_size, file_fingerprint(f.path), None, None))
            continue
        url = str(raw).rstrip("/")
        proto = url.split("://", 1)[0]
        fs, path = url_to_fs(url)
        if fs.isdir(path):
            base = PurePosixPath(path)
            infos = fs.find(path, detail=True)
            files = sorted((PurePosixPath(p).relative_to(base), i) for p, i in infos.items()
                           if i.get("type") == "file" and p.lower().endswith(ALL_SUFFIXES))
            if not files:
                raise WinnowError(f"no corpus files ({', '.join(ALL_SUFFIXES)}) under {url}")
            for rel, info in files:
                found.append((f"{proto}://{base / rel}", f"{base.name}/{rel}", int(info.get("size") or 0),
                              _remote_fp(info), _etag(info), f"{proto}://{base}"))
        elif fs.isfile(path):
            if not path.lower().endswith(ALL_SUFFIXES):
                raise WinnowError(f"{url}: unsupported file type (expected one of {', '.join(ALL_SUFFIXES)})")
            info = fs.info(path, refresh=True)  # not a listing this process cached earlier: its ETag now
            found.append((url, PurePosixPath(path).name, int(info.get("size") or 0), _remote_fp(info),
                          _etag(info), None))
        else:
            raise WinnowError(f"input not found: {url}")
    seen: set[str] = set()
    out = []
    for i, (url, rel, size, fp, etag, root) in enumerate(found):
        if rel in seen:
            rel = f"{rel}#{i}"
        seen.add(rel)
        out.append(RemoteInput(url, rel, i, size, fp, etag, root))
    return out


def _remote_fp(info: dict[str, Any]) -> str:
    """The store's own content tag (S3 ETag, GCS md5/crc32c) plus the size; no re-read of the object."""
    tag = info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("crc32c") or info.get("mtime")
    return f"{str(tag).strip(chr(34))}:{info.get('size')}"


def _etag(info: dict[str, Any]) -> str | None:
    """An S3 object's ETag from its listing (None for other stores: their reads are not pinned to a version)."""
    tag = info.get("ETag")
    return str(tag) if tag else None


def _task_inputs(files: list[RemoteInput], rank: int, world: int) -> list[RemoteInput]:
    """The files task `rank` reads (curation.reader.task_files decides the same for local runs)."""
    from curation import reader

    pick = getattr(reader, "task_files", None)
    return list(pick(files, rank, world)) if pick else list(files)


class RemoteScoreShard(PipelineStep):
    """One scoring task whose inputs and run folder live on an object store (see the module docstring)."""

    name = "winnow score (object store)"
    type = "scorer"

    def __init__(self, run: str, files: list[RemoteInput], recipe_json: str, step_names: list[str],
                 context: dict[str, Any], text_field: str, id_field: str) -> None:
        super().__init__()
        self.run_url = run
        self.files = files
        self.recipe_json = recipe_json
        self.step_names = step_names
        self.context = context
        self.text_field = text_field
        self.id_field = id_field

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> Any:
        try:
            return self._run(rank, world_size)
        except WinnowError as e:  # a user error (a fetch refused, a bad input): the command prints it
            objstore.write_bytes(objstore.folder(self.run_url), f"state/tasks/{rank:05d}.error", str(e).encode())
            raise

    def _run(self, rank: int, world_size: int) -> Any:
        from curation.reader import InputFile
        from curation.scoring import ScoreShard
        from curation.scratch import scratch_dir

        with scratch_dir("winnow-task", rank) as scratch:  # and a killed task's goes now
            mine = {f.index for f in _task_inputs(self.files, rank, world_size)}
            local: list[InputFile] = []
            for f in self.files:
                if objstore.is_remote(f.url) and f.index in mine:
                    dst = scratch / "inputs" / f"{f.index:06d}{_suffix(f.url)}"
                    if _streamed(f.url):  # read while scored: no copy to wait for, none on the worker's disk
                        local.append(InputFile(path=dst, rel=f.rel, index=f.index,
                                               stream=functools.partial(objstore.open_stream, f.url, f.etag)))
                        continue
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    objstore.get_file(f.url, dst, f.etag)
                    local.append(InputFile(path=dst, rel=f.rel, index=f.index))
                elif objstore.is_remote(f.url):  # not read by this task: a name is enough
                    local.append(InputFile(path=scratch / "inputs" / "absent", rel=f.rel, index=f.index))
                else:
                    local.append(InputFile(path=Path(f.url), rel=f.rel, index=f.index))
            work = scratch / "run"
            shard = ScoreShard(str(work), local, self.recipe_json, self.step_names, self.context,
                               self.text_field, self.id_field)
            shard.driver_pid = os.getpid()  # runs in this process: nothing to watch
            uploader = _BatchUploader(work, self.run_url)
            shard.on_batch = uploader.submit
            try:
                result = shard.run(None, rank, world_size)
                if result is not None:
                    for _ in result:
                        pass
            finally:
                sent = uploader.finish()
                # data first, then batch markers, then the task's counters: a reader never sees a marker or
                # a finished counter before the files it vouches for
                for sub in ("docs", "signals", "quarantine", "state/batches", "state/tasks"):
                    objstore.upload_tree(work, self.run_url, sub, done=sent)
        return iter(())


class _BatchUploader:
    """Uploads each scored batch (its documents, signals and quarantine lines, then its marker) in a thread while
    the task scores the next one, so the task's end waits only for its last batch."""

    def __init__(self, work: Path, run: str) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.work, self.fold = work, objstore.folder(run)
        self.sent: set[str] = set()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="winnow-upload")  # batches in order
        self._futures: list[Any] = []

    def submit(self, name: str) -> None:
        self._futures.append(self._pool.submit(self._send, name))

    def _send(self, name: str) -> None:
        w = self.work
        data = [p for p in [w / "docs" / f"{name}.parquet", *sorted(w.glob(f"signals/*/{name}.parquet")),
                            w / "quarantine" / f"{name}.jsonl"] if p.is_file()]
        for paths in (data, [w / "state" / "batches" / name]):  # the marker after the files it vouches for
            rels = [p.relative_to(w).as_posix() for p in paths]
            objstore.upload_files(w, self.fold, rels)
            self.sent.update(rels)

    def finish(self) -> set[str]:
        """Wait for the batches under way; the relative paths sent (a failed batch's files are sent again with
        the task's own)."""
        self._pool.shutdown(wait=True)
        for f in self._futures:
            if f.exception() is not None:
                from loguru import logger

                logger.warning(f"a batch's upload failed; sent again with the task's files: {f.exception()}")
        return set(self.sent)


STREAMED_SUFFIXES = (".jsonl", ".json", ".ndjson")  # read line by line from the start: no seeking, no gzip


def _streamed(url: str) -> bool:
    """A task reads this input straight from the store (plain JSONL on S3); others it copies first (Parquet
    needs random access; compressed and WARC files are copied to keep their readers on plain files)."""
    return url.startswith("s3://") and url.lower().endswith(STREAMED_SUFFIXES)


def _suffix(url: str) -> str:
    name = url.rsplit("/", 1)[-1].lower()
    for s in (".jsonl.gz", ".json.gz", ".ndjson.gz", ".warc.gz"):
        if name.endswith(s):
            return s
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def _key(recipe: Recipe, files: list[RemoteInput], tasks: int, steps: list[str], against: list[str],
         text_field: str, id_field: str | None) -> tuple[str, dict[str, Any]]:
    from curation.pipeline import READER_VERSION, _by_content

    parts = {"inputs": [{"rel": f.rel, "fingerprint": f.fingerprint} for f in files],
             "reader": {"text_field": text_field, "id_field": id_field, "reader_version": READER_VERSION},
             "tasks": tasks, "batch_size": recipe.batch_size,
             # files a setting names (a word list, a model) by content, as the local run key has them
             "signals": {k: _by_content(recipe.signals[k]) for k in steps},
             "against": [{"path": a, "fingerprint": _run_fingerprint(a)} for a in against]}
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16], parts


def _run_fingerprint(url: str) -> str | None:
    """The fingerprint an earlier run's manifest records (what --against joins), local or on a store: curated or
    mixed again, it is another run to join."""
    from curation.fingerprint import folder_fingerprint, manifest_fingerprint

    if not objstore.is_remote(url):
        return folder_fingerprint(url)
    try:
        return manifest_fingerprint(objstore.read_bytes(objstore.folder(url), "manifest.json"))
    except FileNotFoundError:
        return None


def _check_apart(inputs: list[RemoteInput], run: str) -> None:
    """Inputs and the run folder on a store must not nest (`run_folder.check_inputs_outside` for local paths):
    a run folder inside an input folder reads its own outputs as inputs next time, and an input inside the run
    folder could be removed by --overwrite before it is read."""
    for f in inputs:
        if f.url == run or f.url.startswith(run + "/"):
            raise WinnowError(f"input {f.url} lies inside the run folder {run}: choose another --out (a run "
                              "folder is cleared and rewritten by Winnow)")
        if f.root is not None and (run == f.root or run.startswith(f.root + "/")):
            raise WinnowError(f"the run folder {run} lies inside the input folder {f.root}: its files would be "
                              "read as input; choose an --out outside it")


def _clear_owned(run: str) -> None:
    fold = objstore.folder(run)
    for name in OWNED:
        if fold.exists(name):
            fold.rm(name, recursive=True)


def curate_remote(inputs: list[str | Path], out: str | Path, recipe: Recipe, *, executor: str = "local",
                  workers: int = 1, tasks: int | None = None, against: list[str | Path] | None = None,
                  workspace: str | Path | None = None, text_field: str = "text", id_field: str | None = None,
                  overwrite: bool = False, command: list[str] | None = None, config: dict[str, Any] | None = None,
                  distributed_dedup: bool = True) -> dict[str, Any]:
    """Score `inputs` into the run folder `out` (URL or path) with everything passing through the store."""
    from curation.dedup.distributed import finalize_stages
    from curation.executors import make_executor, task_count
    from curation.mix import mix
    from curation.pipeline import plan_steps
    from curation.remote import preflight

    t_start = time.perf_counter()
    against_urls = [objstore.absolute(a) for a in (against or [])]
    preflight(inputs, out, against_urls, executor)
    run = objstore.absolute(out)
    files = discover(inputs)
    _check_apart(files, run)
    for a in against_urls:
        if not objstore.folder(a).isdir("signals"):
            raise WinnowError(f"--against {a}: not a curation run folder (no signals/)")
    world = max(1, int(workers))
    n_tasks = task_count([f.size for f in files], world, tasks)
    ws = Path(workspace).absolute() if workspace else None
    context = {"run_dir": run, "workspace": str(ws) if ws else None,
               "models_dir": str(ws / "models") if ws else None,
               "benchmarks_dir": str(ws / "benchmarks") if ws else None, "against": against_urls}
    steps, skipped = plan_steps(recipe, context)
    from curation.dedup.distributed import STAGED_STEPS

    local_only = [n for n in steps if _is_corpus_step(n) and n not in STAGED_STEPS]
    if local_only:  # before the lock and any work: the scoring workers would not find these files
        raise WinnowError(f"signal {local_only[0]!r} runs only on local paths (its benchmark index and its reports "
                          "are files on this machine's disk); curate local inputs into a local --out (any executor)")
    fold = objstore.folder(run)
    ours = fold.isfile("run.json") and is_run_info(objstore.read_bytes(fold, "run.json"))
    if fold.isdir("") and fold.ls("") and not ours and not fold.isfile(objstore.LOCK_NAME):
        # a user's own run.json does not make their prefix ours: --overwrite would remove its docs/, logs/ ...
        raise WinnowError(f"{run} holds files and is not a Winnow run folder; give an empty or new --out")
    lock = objstore.acquire_lock(run, "winnow curate")
    try:
        if overwrite:
            _clear_owned(run)
        key, key_parts = _key(recipe, files, n_tasks, steps, against_urls, text_field, id_field)
        if fold.isfile("run.json"):
            old = json.loads(objstore.read_bytes(fold, "run.json"))
            if old.get("key") != key:
                from curation.pipeline import _key_difference

                raise WinnowError(f"{run} holds a different run (differs in "
                                  f"{_key_difference(old.get('key_parts', {}), key_parts)}); use a new --out, "
                                  "or --overwrite to start again there")
        for name, why in skipped.items():
            print(f"note: skipping signal {name!r}: {why}")
        info = {"key": key, "key_parts": key_parts,
                "inputs": [{"path": f.url, "rel": f.rel, "size": f.size, "fingerprint": f.fingerprint}
                           for f in files],
                "world": world, "tasks": n_tasks, "executor": executor, "steps": steps, "skipped": skipped,
                "context": context, "text_field": text_field, "id_field": id_field,
                "command": list(command) if command is not None else None, "config": config}
        objstore.write_bytes(fold, "recipe.yaml", recipe.to_yaml().encode())
        objstore.write_bytes(fold, "run.json", json.dumps(info, indent=2).encode())

        for err in objstore.list_files(fold, "state/tasks", ".error"):  # an earlier attempt's: not this one's
            fold.rm(err)
        t0 = time.perf_counter()
        shard = RemoteScoreShard(run, files, recipe.model_dump_json(), steps, context, text_field,
                                 id_field or "id")
        make_executor(executor, [shard], tasks=n_tasks, workers=world, logging_dir=objstore.join(run, "logs")).run()
        objstore.forget_listings(run)  # the tasks' completions and errors, written by other processes
        for err in objstore.list_files(fold, "state/tasks", ".error"):
            msg = objstore.read_bytes(fold, err).decode()
            fold.rm(err)
            raise WinnowError(msg)
        missing = [r for r in range(n_tasks) if not fold.isfile(f"logs/completions/{r:05d}")]
        if missing:
            raise WinnowError(f"scoring tasks {missing} did not complete; see {run}/logs")
        score_wall = time.perf_counter() - t0

        # mix's copy of what scoring wrote (the bulk: documents) is fetched while the dedup stages run
        stage = Path(tempfile.mkdtemp(prefix="winnow-mix-"))
        fetch = _Fetch(run, PREFETCHED + _final_signals(steps), stage)
        try:
            finalize = finalize_stages(recipe, steps, context, run, executor, n_tasks, world)
            objstore.write_bytes(fold, "state/scored.json", json.dumps({"key": key, "at": time.time()}).encode())
            manifest = _mix_and_commit(run, recipe, info, score_wall, finalize, command, config, t_start, mix,
                                       stage=stage, fetched=fetch)
        except BaseException:
            fetch.cancel()  # a failed stage must not wait for the whole documents download to surface
            raise
        finally:
            fetch.join()
            shutil.rmtree(stage, ignore_errors=True)
    finally:
        objstore.release_lock(run, lock)
    return manifest


PREFETCHED = ("state/tasks", "docs", "quarantine")  # final once scoring is done: fetched during the dedup stages


def _is_corpus_step(name: str) -> bool:
    from curation.steps import CorpusStep, get_step

    return issubclass(get_step(name), CorpusStep)


def _final_signals(steps: list[str]) -> tuple[str, ...]:
    """`signals/<step>` of the steps whose scoring output is final (all but the corpus-wide steps, which the
    dedup stages write next): fetched during those stages too."""
    return tuple(f"signals/{name}" for name in steps if not _is_corpus_step(name))


class _Fetch:
    """Download `subs` of `run` into `stage` in a thread; `join` waits, `error` is what it raised."""

    def __init__(self, run: str, subs: tuple[str, ...], stage: Path) -> None:
        import threading

        self.subs, self.error = subs, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._go, args=(run, stage), daemon=True)
        self._thread.start()

    def _go(self, run: str, stage: Path) -> None:
        try:
            for sub in self.subs:
                objstore.download_tree(run, sub, stage, stop=self._stop.is_set)
        except BaseException as e:  # noqa: BLE001 - raised again by the mix that needs these files
            self.error = e

    def join(self) -> None:
        self._thread.join()

    def cancel(self) -> None:
        """Stop after the files under way (the run failed: nobody will read the copy), and wait for that."""
        self._stop.set()
        self._thread.join()


def _mix_and_commit(run: str, recipe: Recipe, info: dict[str, Any], score_wall: float | None,
                    finalize: dict[str, Any] | None, command: list[str] | None, config: dict[str, Any] | None,
                    started: float, mix: Any, out: str | None = None, stage: Path | None = None,
                    fetched: _Fetch | None = None) -> dict[str, Any]:
    """mix over a local copy of what it reads, then upload to `out` (default: the run itself): the old
    manifest removed first, outputs next, manifest.json last (the commit on a store without rename).
    `stage`/`fetched`: a staging folder the caller owns and the part of the copy already made there."""
    from curation.pipeline import scoring_finished

    out = out or run
    owned = stage is None
    stage = Path(tempfile.mkdtemp(prefix="winnow-mix-")) if stage is None else stage
    tidy: threading.Thread | None = None
    try:
        staged = dict(info, context=dict(info["context"], against=[]))  # lineage of remote parents: by URL below
        staged.pop("parent", None)
        (stage / "run.json").write_text(json.dumps(staged, indent=2), encoding="utf-8")
        done: tuple[str, ...] = ()
        if fetched is not None:
            fetched.join()
            if fetched.error is not None:
                raise fetched.error
            done = fetched.subs
        for sub in ("recipe.yaml", "state/scored.json", "state/tasks", "docs", "quarantine"):
            if sub not in done:
                objstore.download_tree(run, sub, stage)
        if (why := scoring_finished(stage)) is not None:
            raise WinnowError(f"{run}: {why}; rerun the same `winnow curate` command to finish it before mixing")
        for name in info["steps"]:
            if f"signals/{name}" not in done:
                objstore.download_tree(run, f"signals/{name}", stage)
        extra = {"score_wall": score_wall, "finalize": finalize} if score_wall is not None else None
        manifest = mix(stage, recipe, extra_timings=extra, locked=True, command=command, config=config,
                       started=started)
        # the copy mix read is not uploaded: it goes while the outputs go up (~0.4 s of unlinks at the end)
        tidy = threading.Thread(target=_remove_read_copy, args=(stage,), name="winnow-tidy", daemon=True)
        tidy.start()
        fold = objstore.folder(out)
        if fold.isfile("manifest.json"):
            fold.rm("manifest.json")
        for sub in ("kept", "search"):  # the search index: this mix's, or none when it built none
            if fold.isdir(sub):
                fold.rm(sub, recursive=True)
        manifest["run_dir"] = out
        if out != run:
            manifest["parent"] = run
        manifest.setdefault("lineage", {})["parents_urls"] = ([run] if out != run else []) + list(
            info["context"].get("against", []))
        for sub in ("kept", "search", "removed.parquet", "quarantine.jsonl", "skipped.jsonl", "progress.jsonl",
                    "recipe.yaml"):  # the recipe this mix applied, as a local mix leaves it
            objstore.upload_tree(stage, out, sub)
        objstore.commit_manifest(out, manifest)
        return manifest
    finally:
        if tidy is not None:
            tidy.join()
        if owned:
            shutil.rmtree(stage, ignore_errors=True)


def _remove_read_copy(stage: Path) -> None:
    """What mix read in its staging folder (documents, signals, quarantine lines); its outputs stay."""
    for sub in ("docs", "signals", "quarantine"):
        shutil.rmtree(stage / sub, ignore_errors=True)


def mix_remote(run_dir: str | Path, recipe: Recipe | None = None, *, out_dir: str | Path | None = None,
               command: list[str] | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """`winnow mix` on a run folder on an object store (or into one with `--out`): the run's documents and
    signals are read from the store, the rules applied in this process, and kept/, the removal log and
    manifest.json (last) written back, under the out folder's lock object.

    With `out_dir` the result goes to a new folder whose run.json names the run as its parent; re-mixing such
    a folder reads its parent's signals. The parent is not locked while read (an object store has no shared
    lock): do not curate into it at the same time."""
    from curation.mix import mix
    from curation.recipe import load_recipe
    from curation.remote import check_url

    started = time.perf_counter()
    run = objstore.absolute(run_dir)
    out = objstore.absolute(out_dir) if out_dir is not None else None
    if not objstore.is_remote(run) or (out is not None and not objstore.is_remote(out)):
        raise WinnowError("mix between a local folder and an object store is not supported; mix on the store "
                          f"({run} -> {out}) or copy the run folder first")
    for url in (run, out):
        if url is not None:
            check_url(url, must_exist=url == run)

    def run_info(url: str) -> dict[str, Any] | None:
        fold = objstore.folder(url)
        return json.loads(objstore.read_bytes(fold, "run.json")) if fold.isfile("run.json") else None

    info = run_info(run)
    if info is None:
        raise WinnowError(f"{run} is not a curation run folder (no run.json); run `winnow curate` first")
    if info.get("parent"):  # re-mixing a mixed folder: decide from its parent's signals, write here
        out = out or run
        run = info["parent"]
        info = run_info(run)
        if info is None:
            raise WinnowError(f"{out} was mixed from {run}, which is gone or is no longer a run")
    if out == run:
        out = None
    if recipe is None:
        src = objstore.folder(out) if out is not None and objstore.folder(out).isfile("recipe.yaml") else (
            objstore.folder(run))
        stage = Path(tempfile.mkdtemp(prefix="winnow-recipe-"))
        try:
            (stage / "recipe.yaml").write_bytes(objstore.read_bytes(src, "recipe.yaml"))
            recipe = load_recipe(stage / "recipe.yaml")
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    target = out or run
    fold = objstore.folder(target)
    if out is not None:
        theirs = run_info(out)
        if theirs is None and fold.isdir("") and fold.ls(""):
            raise WinnowError(f"--out {out} is not empty and is not a mix of {run}; give a new folder")
        if theirs is not None and theirs.get("parent") != run:
            raise WinnowError(f"--out {out} is not empty and is not a mix of {run}; give a new folder")
    from curation.mix import _check_signal_settings

    _check_signal_settings(recipe, info, {})  # before the lock and run.json are written to the store
    lock = objstore.acquire_lock(target, "winnow mix")
    try:
        if out is not None:
            objstore.write_bytes(fold, "run.json", json.dumps(dict(info, parent=run), indent=2).encode())
        return _mix_and_commit(run, recipe, info, None, None, command, config, started, mix, out=target)
    finally:
        objstore.release_lock(target, lock)
