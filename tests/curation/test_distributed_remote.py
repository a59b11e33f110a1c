"""curate with inputs and run folder on a real S3 server (moto), on the local executor and on a two-node Ray
cluster: the same kept documents and removal reasons as a local run on local paths; bad input fails first."""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

import fsspec
import polars as pl
import pytest
import yaml

from curation.errors import WinnowError
from curation.recipe import Recipe

pytest_plugins = ["tests.curation.cluster_fixtures"]

WORDS = [f"w{i}" for i in range(300)]


def _recipe(batch_size: int = 40) -> Recipe:
    from importlib import resources

    data = yaml.safe_load(resources.files("curation").joinpath("recipes/dedup.yaml").read_text())
    data["batch_size"] = batch_size
    data["signals"]["length"] = {}
    return Recipe.model_validate(data)


def _corpus(folder: Path, seed: int = 0) -> Path:
    """Three JSONL files: distinct texts, near copies, exact copies, and a malformed line."""
    rnd = random.Random(seed)
    base = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(25, 60))) for _ in range(150)]
    docs = [{"id": f"b{i}", "text": t} for i, t in enumerate(base)]
    for i, t in enumerate(base[:40]):
        w = t.split()
        w[len(w) // 2] = "changed"
        docs.append({"id": f"n{i}", "text": " ".join(w)})
    docs += [{"id": f"e{i}", "text": base[i].upper()} for i in range(25)]
    rnd.shuffle(docs)
    folder.mkdir(parents=True)
    for k in range(3):
        lines = [json.dumps(d) for d in docs[k::3]]
        if k == 1:
            lines.insert(3, "{not json")
        (folder / f"part{k}.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _upload(local: Path, url: str) -> None:
    fs = fsspec.filesystem("s3")
    for p in sorted(local.iterdir()):
        fs.pipe(f"{url.split('://', 1)[1]}/{p.name}", p.read_bytes())


def _kept_ids(run: str) -> list[str]:
    fs, path = fsspec.core.url_to_fs(run)
    files = sorted(f for f in fs.find(f"{path}/kept") if f.endswith(".parquet"))
    return sorted(pl.concat([pl.read_parquet(io.BytesIO(fs.cat(f))) for f in files])["id"].to_list())


def _removed(run: str) -> pl.DataFrame:
    fs, path = fsspec.core.url_to_fs(run)
    return pl.read_parquet(io.BytesIO(fs.cat(f"{path}/removed.parquet"))).select("id", "rule", "kept_id").sort("id")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The reference: the ordinary local pipeline on local paths."""
    from curation.pipeline import curate

    root = tmp_path_factory.mktemp("ref")
    corpus = _corpus(root / "corpus")
    curate([corpus], root / "run", _recipe(), executor="local", workers=1, tasks=2)
    return corpus, root / "run"


@pytest.fixture(scope="module")
def s3_local_run(s3_server, local_run) -> tuple[str, str, dict]:
    """The corpus uploaded to S3 and curated there on the local executor: (bucket, run URL, manifest)."""
    from curation.pipeline import curate
    from tests.curation.cluster_fixtures import _clear_s3fs_cache

    corpus, _ = local_run
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3_server.env.items():
            mp.setenv(k, v)
        _clear_s3fs_cache()
        bucket = s3_server.bucket()
        _upload(corpus, f"s3://{bucket}/corpus")
        run = f"s3://{bucket}/runs/r1"
        m = curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="local", workers=1, tasks=2)
    return bucket, run, m


@pytest.mark.slow
def test_s3_run_on_local_executor_equals_local_run(s3, local_run, s3_local_run) -> None:
    from curation.pipeline import curate

    corpus, ref = local_run
    bucket, run, m = s3_local_run
    assert m["input"] == json.loads((ref / "manifest.json").read_text())["input"] == 216
    assert _kept_ids(run) == _kept_ids(str(ref))
    assert _removed(run).equals(_removed(str(ref)))
    fs = fsspec.filesystem("s3")
    assert fs.isfile(f"{bucket}/runs/r1/manifest.json")
    assert not fs.exists(f"{bucket}/runs/r1/.winnow.lock")  # released
    # a rerun resumes: every task is complete, nothing is scored again, same result
    m2 = curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="local", workers=2, tasks=2)
    assert m2["kept"] == m["kept"]


@pytest.mark.slow
def test_s3_jsonl_inputs_are_read_as_streams_not_copied(s3, local_run, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The scoring tasks read plain JSONL inputs on S3 straight from the store (no copy to wait for or to hold
    on the worker's disk), with the same result as the local run, malformed line included."""
    from curation import objstore
    from curation.pipeline import curate

    def no_copy(url: str, dst: Path) -> None:
        raise AssertionError(f"copied {url}")

    monkeypatch.setattr(objstore, "get_file", no_copy)  # the tasks run in this process (one worker)
    corpus, ref = local_run
    bucket = s3.bucket()
    _upload(corpus, f"s3://{bucket}/corpus")
    run = f"s3://{bucket}/runs/streamed"
    m = curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="local", workers=1, tasks=2)
    assert m["input"] == 216 and m["quarantined"] == 1
    assert _kept_ids(run) == _kept_ids(str(ref))
    assert _removed(run).equals(_removed(str(ref)))


def test_a_broken_s3_stream_resumes_at_its_byte_and_fails_if_the_object_changed(s3) -> None:
    """An input read as a stream from the S3 server whose connection breaks after the first buffer: reopened
    with a range GET it gives the object's bytes exactly; if the object was replaced meanwhile, the reopen is
    refused (the ETag no longer matches) and the read fails naming the object, instead of mixing two versions."""
    from curation import objstore

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    data = b"".join(b'{"id": "d%d", "text": "t %d"}\n' % (i, i) for i in range(600_000))  # > one 8 MiB buffer
    fs.pipe(f"{bucket}/x.jsonl", data)

    def reset(n: int = -1) -> bytes:
        raise ConnectionResetError(104, "Connection reset by peer")

    st = objstore.open_stream(f"s3://{bucket}/x.jsonl")
    head = st.read(100_000)
    st.raw._body.read = reset  # the connection goes away once the first buffer is in
    assert head + st.read() == data
    st = objstore.open_stream(f"s3://{bucket}/x.jsonl")
    st.read(100_000)
    fs.pipe(f"{bucket}/x.jsonl", data.replace(b'"t 1', b'"T 1'))
    st.raw._body.read = reset
    with pytest.raises(objstore.InputChangedError, match=f"s3://{bucket}/x.jsonl changed since this run started"):
        st.read()


def test_a_reopened_s3_stream_that_ignores_the_range_is_refused(s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store (or a proxy) that answers a range GET with the whole object would hand the reader the documents
    from the first byte again, each counted twice: the reopen is refused instead."""
    from curation import objstore

    bucket = s3.bucket()
    fsspec.filesystem("s3").pipe(f"{bucket}/x.jsonl", b'{"id": "d", "text": "t"}\n' * 600_000)
    real = objstore._s3_key

    class NoRanges:
        def __init__(self, client) -> None:  # noqa: ANN001
            self.client = client

        def get_object(self, **kw):  # noqa: ANN003, ANN201
            kw.pop("Range", None)
            kw.pop("IfMatch", None)
            return self.client.get_object(**kw)

    def key(*a):  # noqa: ANN002, ANN202
        client, b, k = real(*a)
        return NoRanges(client), b, k

    monkeypatch.setattr(objstore, "_s3_key", key)
    st = objstore.open_stream(f"s3://{bucket}/x.jsonl")
    st.read(100)

    def reset(n: int = -1) -> bytes:
        raise ConnectionResetError(104, "Connection reset by peer")

    st.raw._body.read = reset
    with pytest.raises(objstore.InputStreamError, match="ignored the range from byte 8388608"):
        st.read()


def _recipe_without_near_dups() -> Recipe:
    """Other rules than the run was curated with: exact copies and documents under 40 words go, near copies
    stay."""
    data = _recipe().model_dump(mode="json", exclude_none=True)
    data["rules"] = [r for r in data["rules"] if r["name"] != "near_duplicate"] + [
        {"name": "short", "signal": "length", "column": "n_words", "min": 40}]
    return Recipe.model_validate(data)


@pytest.mark.slow
def test_mix_on_s3_run_equals_local_mix(s3, local_run, s3_local_run, tmp_path: Path) -> None:
    """`winnow mix` on a run folder on S3, in place and into a new S3 folder (--out), decides as a local mix of
    the same run does; the manifest is written, the lock released, and the accounting closes."""
    from typer.testing import CliRunner

    from app.cli import root
    from curation.mix import mix

    _, ref = local_run
    bucket, run, curated = s3_local_run
    recipe = _recipe_without_near_dups()
    want = mix(ref, recipe, out_dir=tmp_path / "local-mix")
    assert want["kept"] != curated["kept"]  # the new rules change the outcome
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(recipe.to_yaml())
    out = f"s3://{bucket}/runs/r1-mixed"
    res = CliRunner().invoke(root, ["mix", run, "--recipe", str(recipe_file), "--out", out, "--json",
                                    "--workspace", str(tmp_path / "ws")])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    assert _kept_ids(out) == _kept_ids(str(tmp_path / "local-mix"))
    assert _removed(out).equals(_removed(str(tmp_path / "local-mix")))
    for k in ("input", "kept", "removed", "quarantined", "skipped", "by_rule"):
        assert got[k] == want[k], k
    assert got["input"] == got["kept"] + got["removed"] + got["quarantined"] + got["skipped"]
    fs = fsspec.filesystem("s3")
    assert json.loads(fs.cat(f"{bucket}/runs/r1-mixed/run.json"))["parent"] == run
    assert json.loads(fs.cat(f"{bucket}/runs/r1-mixed/manifest.json"))["kept"] == want["kept"]
    assert json.loads(fs.cat(f"{bucket}/runs/r1/manifest.json"))["kept"] == curated["kept"]  # parent unchanged
    # in place: the run's own kept/ and manifest now follow the new rules; the lock object is gone
    m = mix(run, recipe)
    assert m["kept"] == want["kept"] and _kept_ids(run) == _kept_ids(out)
    assert not fs.exists(f"{bucket}/runs/r1/.winnow.lock")
    assert "short" in fs.cat(f"{bucket}/runs/r1/recipe.yaml").decode()
    with pytest.raises(WinnowError, match="not a curation run folder"):
        mix(f"s3://{bucket}/corpus", recipe)


def test_mix_on_s3_refuses_changed_signal_settings(s3, s3_local_run, tmp_path: Path) -> None:
    """A recipe that changes how a stored signal was computed is refused on an object store too (mix only
    re-applies rules), and nothing is written there."""
    from typer.testing import CliRunner

    from app.cli import root

    bucket, run, _ = s3_local_run
    changed = _recipe()
    changed.signals["minhash"] = {**(changed.signals.get("minhash") or {}), "threshold": 0.95}
    recipe_file = tmp_path / "changed.yaml"
    recipe_file.write_text(changed.to_yaml())
    out = f"s3://{bucket}/runs/r1-changed"
    res = CliRunner().invoke(root, ["mix", run, "--recipe", str(recipe_file), "--out", out,
                                    "--workspace", str(tmp_path / "ws")])
    assert isinstance(res.exception, WinnowError), res.output
    assert "signals.minhash.threshold" in str(res.exception)
    assert not fsspec.filesystem("s3").exists(f"{bucket}/runs/r1-changed")  # no lock, no run.json left there


def test_lock_object_keeps_a_second_writer_out(s3) -> None:
    from curation import objstore

    run = f"s3://{s3.bucket()}/run"
    held = objstore.acquire_lock(run, "first")
    with pytest.raises(WinnowError, match="is locked by first"):
        objstore.acquire_lock(run, "second")
    objstore.release_lock(run, held)
    objstore.release_lock(run, objstore.acquire_lock(run, "third"))


def test_bad_remote_input_fails_before_work(s3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from curation.pipeline import curate

    bucket = s3.bucket()
    fsspec.filesystem("s3").pipe(f"{bucket}/a.jsonl", b'{"text": "a document"}\n')
    with pytest.raises(WinnowError, match="no filesystem driver for 'nosuch://'"):
        curate(["nosuch://x/y.jsonl"], tmp_path / "o1", _recipe())
    with pytest.raises(WinnowError, match="bucket 'no-such-bucket-h16' does not exist"):
        curate([f"s3://{bucket}/a.jsonl"], "s3://no-such-bucket-h16/run", _recipe())
    with pytest.raises(WinnowError, match=f"input not found: s3://{bucket}/missing"):
        curate([f"s3://{bucket}/missing"], f"s3://{bucket}/run", _recipe())
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    with pytest.raises(WinnowError, match="RAY_ADDRESS 127.0.0.1:9 does not answer"):
        curate([f"s3://{bucket}/a.jsonl"], f"s3://{bucket}/run", _recipe(), executor="ray")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(WinnowError, match="no AWS credentials found"):
        curate([f"s3://{bucket}/a.jsonl"], f"s3://{bucket}/run", _recipe())
    fs = fsspec.filesystem("s3", key="testing", secret="testing")
    assert not fs.exists(f"{bucket}/run")  # nothing was written


@pytest.mark.slow
def test_two_node_ray_cluster_with_s3_equals_local_run(s3, ray_cluster, local_run,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real cluster shape: a Ray head and a second node started with `ray start`, inputs and the run folder
    on the S3 server, workers on both nodes; kept ids and removal reasons equal the local run's."""
    import ray

    from curation.dedup import distributed
    from curation.pipeline import curate

    # the hash-partitioned stages, which a corpus this small would skip (one task runs the single-process
    # finalize: the worker-lost test below runs that path on the cluster)
    monkeypatch.setattr(distributed, "WHOLE_FINALIZE", False)

    corpus, ref = local_run
    bucket = s3.bucket()
    _upload(corpus, f"s3://{bucket}/corpus")
    run = f"s3://{bucket}/runs/ray"
    m = curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="ray", workers=2, tasks=2)
    assert sum(n["Alive"] for n in ray.nodes()) == 2
    assert m["input"] == 216
    assert _kept_ids(run) == _kept_ids(str(ref))
    assert _removed(run).equals(_removed(str(ref)))
    fs = fsspec.filesystem("s3")
    # the dedup stages ran as datatrove stages on the cluster: their task completions are on the store; a corpus
    # this small gives every stage one task, so all seven run as one task (one worker start)
    stages = ("exact_partition+exact_groups+minhash_bands+minhash_pairs+minhash_nodes+minhash_cluster+"
              "minhash_final")
    assert fs.isfile(f"{bucket}/runs/ray/logs/dedup/exact_dedup+minhash/{stages}/completions/00000")
    assert len(fs.ls(f"{bucket}/runs/ray/logs/completions")) == 2
    for rank in (0, 1):  # each task's log is whole: its workers' first task, too
        assert f"Processing done for rank={rank}" in fs.cat(f"{bucket}/runs/ray/logs/logs/task_{rank:05d}.log").decode()


def _task_workers(cluster) -> list:
    """Ray worker processes of the cluster that are running a datatrove rank now (Ray titles a worker
    `ray::_rank_task` while it runs that task)."""
    import psutil

    raylets = [c for p in cluster.procs for c in psutil.Process(p.pid).children(recursive=True)
               if c.name() == "raylet"]
    out = []
    for r in raylets:
        for w in r.children():
            try:
                if w.cmdline()[:1] and w.cmdline()[0].startswith("ray::_rank_task"):
                    out.append(w)
            except psutil.NoSuchProcess:
                continue
    return out


@pytest.mark.slow
def test_a_ray_task_runs_polars_with_its_own_cpus_threads(ray_cluster, tmp_path: Path) -> None:
    """A rank task holds one CPU of its node (`cpus_per_task`): its Polars pool has one thread, whichever node
    runs it, not one per CPU of the machine (loading the task's steps imports Polars, which sizes its pool
    then, before the task's own code runs)."""
    import sys

    from ray import cloudpickle

    from curation.executors import make_executor
    from tests.curation import thread_probe

    cloudpickle.register_pickle_by_value(sys.modules[thread_probe.__name__])  # the workers need not import tests
    try:
        make_executor("ray", [thread_probe.PolarsThreads(str(tmp_path))], tasks=2, workers=2,
                      logging_dir=str(tmp_path / "logs")).run()
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[thread_probe.__name__])
    assert [int((tmp_path / f"{r}.txt").read_text()) for r in (0, 1)] == [1, 1]


@pytest.mark.slow
def test_worker_lost_mid_task_is_retried_and_accounting_closes(s3, ray_cluster, local_run) -> None:
    """A Ray worker killed while it runs a scoring task (as when its machine is lost): the executor starts the
    task again on a new worker, the run completes with the clean run's kept ids, and input = kept + removed +
    quarantined + skipped; the killed worker's scratch does not stay on the machine's disk."""
    import signal
    import tempfile
    import threading

    import psutil
    from loguru import logger

    from curation.pipeline import curate

    corpus, ref = local_run
    bucket = s3.bucket()
    _upload(corpus, f"s3://{bucket}/corpus")
    run = f"s3://{bucket}/runs/lost"
    killed: list[int] = []
    left: list[Path] = []  # the killed worker's rank folder: no cleanup of its own runs
    done = threading.Event()

    def kill_first_task() -> None:
        while not done.is_set() and not killed:
            for worker in _task_workers(ray_cluster):
                mine = list(Path(tempfile.gettempdir()).glob(f"winnow-rank*-p{worker.pid}-*"))
                if not mine:  # its rank folder is not made yet
                    continue
                try:
                    victims = [worker, *worker.children(recursive=True)]  # the worker and anything it started
                except psutil.NoSuchProcess:
                    continue
                left.extend(mine)
                for v in victims:
                    try:
                        v.send_signal(signal.SIGKILL)
                    except psutil.NoSuchProcess:
                        pass
                killed.append(worker.pid)
                return
            time.sleep(0.02)

    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING")
    killer = threading.Thread(target=kill_first_task, daemon=True)
    killer.start()
    try:
        m = curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="ray", workers=2, tasks=2)
    finally:
        done.set()
        killer.join()
        logger.remove(sink)
    assert len(killed) == 1
    assert any("WorkerCrashedError" in w and "retriable" in w for w in warnings), warnings  # the executor saw it
    assert left and not any(d.exists() for d in left)  # the next rank on the machine removed the orphan
    assert _kept_ids(run) == _kept_ids(str(ref))
    assert _removed(run).equals(_removed(str(ref)))
    assert m["input"] == 216 == m["kept"] + m["removed"] + m["quarantined"] + m["skipped"]
    assert m["quarantined"] + m["skipped"] == 1  # the malformed line, counted once although its task ran twice
    fs = fsspec.filesystem("s3")
    assert len(fs.ls(f"{bucket}/runs/lost/logs/completions")) == 2
    # a corpus this small: one task on the cluster ran both steps' single-process finalize (not the driver)
    assert fs.isfile(f"{bucket}/runs/lost/logs/dedup/exact_dedup+minhash/single_process_finalize/completions/00000")


def test_scored_batches_reach_the_store_while_the_task_goes_on(s3, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A task on an object store sends each scored batch (documents, signals, then its marker) while it scores
    the next, not all at its end; a marker is never there before its batch's files; a task that fails keeps
    what it sent."""
    from curation.remote_run import RemoteScoreShard, discover
    from curation.scoring import ScoreShard

    bucket = s3.bucket()
    _upload(_corpus(tmp_path / "corpus"), f"s3://{bucket}/corpus")
    run = f"s3://{bucket}/runs/batches"
    fs = fsspec.filesystem("s3")
    seen: dict[int, list[str]] = {}
    score = ScoreShard._score_batch

    def spy(self, run_dir, name, *args, **kwargs):  # noqa: ANN001, ANN202
        b = len(seen)
        if b >= 2:  # batch 0's marker arrives while this task is still scoring
            deadline = time.monotonic() + 20
            while not fs.exists(f"{bucket}/runs/batches/state/batches/00000_000000") and time.monotonic() < deadline:
                time.sleep(0.05)
        seen[b] = sorted(fs.find(f"{bucket}/runs/batches"))
        if b == 3:
            raise RuntimeError("scoring failed")
        return score(self, run_dir, name, *args, **kwargs)

    monkeypatch.setattr(ScoreShard, "_score_batch", spy)
    recipe = _recipe(batch_size=20)
    shard = RemoteScoreShard(run, discover([f"s3://{bucket}/corpus"]), recipe.model_dump_json(),
                             ["exact_dedup", "minhash", "length"], {}, "text", "id")
    with pytest.raises(RuntimeError, match="scoring failed"):
        shard.run(None, 0, 1)
    root = f"{bucket}/runs/batches"
    assert seen[0] == []  # nothing is sent before a batch is complete
    at_batch_2 = set(seen[2])
    assert f"{root}/state/batches/00000_000000" in at_batch_2
    for f in (f"{root}/docs/00000_000000.parquet", f"{root}/signals/length/00000_000000.parquet",
              f"{root}/signals/minhash.parts/00000_000000.parquet"):
        assert f in at_batch_2, f
    for marker in (f for f in at_batch_2 if "/state/batches/" in f):  # every marker's batch is complete there
        name = marker.rsplit("/", 1)[1]
        assert f"{root}/docs/{name}.parquet" in at_batch_2
        assert f"{root}/signals/exact_dedup.parts/{name}.parquet" in at_batch_2
    # the failed task: the batches it finished are on the store, each with its marker (its end would send them
    # anyway: `seen[2]` above is what shows the thread sent them earlier), and its counter does not say done
    after = set(fs.find(root))
    assert {f"{root}/state/batches/00000_00000{b}" for b in range(3)} <= after
    assert f"{root}/state/batches/00000_000003" not in after
    assert json.loads(fs.cat(f"{root}/state/tasks/00000.json"))["done"] is False


def _curated_with_workers(s3, corpus: Path, name: str) -> tuple[str, str]:  # noqa: ANN001
    """`corpus` uploaded to a new bucket and curated there by 2 worker processes: (bucket, run URL)."""
    from curation.pipeline import curate

    bucket = s3.bucket()
    _upload(corpus, f"s3://{bucket}/corpus")
    run = f"s3://{bucket}/runs/{name}"
    curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="local", workers=2, tasks=2)
    return bucket, run


@pytest.mark.slow
def test_task_logs_are_whole_with_worker_processes_on_s3(s3, local_run) -> None:
    """The local executor's worker processes on an S3 run: each task's log on the store ends with datatrove's
    "Processing done" (a worker's first import of Winnow's scoring used to drop the log's file sink)."""
    bucket, _ = _curated_with_workers(s3, local_run[0], "logs")
    fs = fsspec.filesystem("s3")
    for rank in (0, 1):
        log = fs.cat(f"{bucket}/runs/logs/logs/logs/task_{rank:05d}.log").decode()
        assert f"Processing done for rank={rank}" in log


def test_small_corpus_finalize_on_s3_equals_single_process(s3, tmp_path: Path) -> None:
    """The one-task finalize on an object-store run folder (parts copied to the task's scratch, outputs sent
    back, earlier outputs replaced) gives the single-process finalize's signals."""
    from curation.dedup.distributed import finalize_stages
    from curation.steps.exact_dedup import ExactDedupStep
    from curation.steps.minhash import MinHashStep

    local = tmp_path / "run"
    rnd = random.Random(1)
    base = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(25, 60))) for _ in range(120)]
    texts = base + [t.replace(t.split()[3], "changed", 1) for t in base[:30]] + [t.upper() for t in base[:20]]
    steps = [ExactDedupStep(context={}), MinHashStep(context={})]
    for step in steps:
        folder = local / "signals" / f"{step.name}.parts"
        folder.mkdir(parents=True)
        for b in range(0, len(texts), 50):
            chunk = texts[b: b + 50]
            df = pl.DataFrame({"id": [f"d{b + i}" for i in range(len(chunk))], "text": chunk,
                               "order": list(range(b, b + len(chunk)))})
            step.score(df).write_parquet(folder / f"00000_{b // 50:06d}.parquet")
        step.finalize(sorted(folder.glob("*.parquet")), local / "single" / step.name)
    (local / "state" / "tasks").mkdir(parents=True)
    (local / "state" / "tasks" / "00000.json").write_text(json.dumps({"docs": len(texts), "done": True}))
    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    for p in sorted((local / "signals").rglob("*.parquet")) + [local / "state" / "tasks" / "00000.json"]:
        fs.pipe(f"{bucket}/run/{p.relative_to(local).as_posix()}", p.read_bytes())
    fs.pipe(f"{bucket}/run/signals/minhash/part-000009.parquet", b"stale")  # replaced, not kept beside
    recipe = Recipe.model_validate(yaml.safe_load(
        "name: t\nsignals: {exact_dedup: {keep: first}, minhash: {keep: first}}\nrules: []\n"))
    out = finalize_stages(recipe, ["exact_dedup", "minhash"], {}, f"s3://{bucket}/run", "local", tasks=2, workers=1)
    assert list(out) == ["exact_dedup+minhash (single-process)"]
    for step in steps:
        files = sorted(f for f in fs.find(f"{bucket}/run/signals/{step.name}") if f.endswith(".parquet"))
        got = pl.concat([pl.read_parquet(io.BytesIO(fs.cat(f))) for f in files]).sort("id")
        want = pl.read_parquet(sorted((local / "single" / step.name).glob("*.parquet"))).sort("id")
        assert got.equals(want), step.name


def test_decontamination_on_an_object_store_is_refused_before_any_work(s3, tmp_path: Path) -> None:
    """The decontamination signal reads its benchmark index from this machine's disk and writes its reports there:
    an object-store run with it stops with one line before it takes the lock or writes anything."""
    from curation.pipeline import curate
    from curation.steps.decontamination import add_decontamination

    bench = tmp_path / "benchmarks" / "arc_easy" / "test.jsonl"
    bench.parent.mkdir(parents=True)
    bench.write_text(json.dumps({"id": "Q1", "question": "Which process in the water cycle turns liquid water "
                                 "from the ocean surface into water vapor in the air?",
                                 "choices": {"text": ["evaporation", "condensation"], "label": ["A", "B"]},
                                 "answerKey": "A"}) + "\n")
    bucket = s3.bucket()
    _upload(_corpus(tmp_path / "corpus"), f"s3://{bucket}/corpus")
    rec = add_decontamination(_recipe(), tmp_path / "benchmarks")
    with pytest.raises(WinnowError, match="'decontamination' runs only on local paths"):
        curate([f"s3://{bucket}/corpus"], f"s3://{bucket}/run", rec, workspace=tmp_path / "ws")
    assert not fsspec.filesystem("s3").exists(f"{bucket}/run")


def _small_recipe(**signals) -> Recipe:
    return Recipe.model_validate({
        "batch_size": 10, "signals": {"length": {}, "exact_dedup": {"keep": "first"}, **signals},
        "rules": [{"name": "exact_duplicate", "signal": "exact_dedup", "column": "duplicate", "drop_if": True,
                   "kept_id_column": "kept_id"}]})


def _jsonl(prefix: str, n: int) -> bytes:
    return "".join(json.dumps({"id": f"{prefix}{i}", "text": f"{prefix} document number {i} " + "x " * (i % 7)})
                   + "\n" for i in range(n)).encode()


@pytest.mark.slow
def test_a_resume_with_worker_processes_sees_the_completions_they_write(s3, local_run) -> None:
    """Resume after a run stopped during its last task: the worker processes write that task's completion, and
    the command must see it. (The command's listing cache, filled before the tasks ran, once hid it: every such
    resume failed with 'scoring tasks [1] did not complete'.)"""
    from curation.pipeline import curate

    corpus, ref = local_run
    bucket, run = _curated_with_workers(s3, corpus, "resumed")
    fs = fsspec.filesystem("s3")
    fs.rm(f"{bucket}/runs/resumed/logs/completions/00001")  # as if stopped before task 1 recorded its end
    fs.rm(f"{bucket}/runs/resumed/manifest.json")
    m = curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="local", workers=2, tasks=2)
    assert m["input"] == 216
    assert fs.isfile(f"{bucket}/runs/resumed/logs/completions/00001")
    assert _kept_ids(run) == _kept_ids(str(ref))


def test_an_input_replaced_during_a_run_fails_it_instead_of_mixing_two_versions(
        s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """One input read by two tasks (fewer files than tasks), replaced on the store after the first task: the
    second must not score the new version beside the first's old one (a retried Ray rank reads minutes later).
    Each task reads the version the command saw (S3 If-Match on the ETag it recorded) or fails naming it."""
    from curation import remote_run
    from curation.pipeline import curate

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    fs.pipe(f"{bucket}/in/c.jsonl", _jsonl("old", 40))
    real = remote_run.RemoteScoreShard.run

    def run_then_replace(self, data=None, rank: int = 0, world_size: int = 1):  # noqa: ANN001, ANN202
        out = real(self, data, rank, world_size)
        if rank == 0:
            fs.pipe(f"{bucket}/in/c.jsonl", _jsonl("new", 40))  # another writer, mid-run
        return out

    monkeypatch.setattr(remote_run.RemoteScoreShard, "run", run_then_replace)
    with pytest.raises(WinnowError, match=rf"s3://{bucket}/in/c.jsonl changed since this run started"):
        curate([f"s3://{bucket}/in/c.jsonl"], f"s3://{bucket}/run", _small_recipe(), executor="local", workers=1,
               tasks=2)
    assert not fs.exists(f"{bucket}/run/manifest.json")


def test_a_copied_input_replaced_during_a_run_fails_it_too(s3) -> None:
    """Inputs copied before scoring (Parquet, gzip, WARC) are fetched for the recorded version as well."""
    from curation import objstore
    from curation.remote_run import discover

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    fs.pipe(f"{bucket}/in/c.jsonl.gz", b"version 1")
    (seen,) = discover([f"s3://{bucket}/in/c.jsonl.gz"])
    fs.pipe(f"{bucket}/in/c.jsonl.gz", b"version 2")
    with pytest.raises(WinnowError, match="changed since this run started"):
        objstore.get_file(seen.url, Path("/dev/null"), etag=seen.etag)
    # a scoring task that copies it fails the same way, and leaves the error where the command reads it
    from curation.remote_run import RemoteScoreShard

    shard = RemoteScoreShard(f"s3://{bucket}/run", [seen], _small_recipe().model_dump_json(), ["length"], {},
                             "text", "id")
    with pytest.raises(WinnowError, match="changed since this run started"):
        shard.run(None, 0, 1)
    assert b"changed since this run started" in fs.cat(f"{bucket}/run/state/tasks/00000.error")


def test_the_remote_run_key_follows_the_content_of_files_the_recipe_names(s3, tmp_path: Path) -> None:
    """A word list edited between a stopped run and its resume is another run (as for a local run folder):
    otherwise the finished tasks keep the old list's signals and the rest get the new one's. Likewise an
    --against run curated or mixed again."""
    from curation.remote_run import _key, discover

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    fs.pipe(f"{bucket}/in/a.jsonl", _jsonl("a", 3))
    files = discover([f"s3://{bucket}/in"])
    words = tmp_path / "words.txt"
    words.write_text("alpha\n")
    recipe = _small_recipe(toxic_words={"wordlist": str(words)})
    steps = ["length", "exact_dedup", "toxic_words"]
    against = f"s3://{bucket}/earlier"
    fs.pipe(f"{bucket}/earlier/manifest.json", json.dumps({"fingerprint": "run-v1"}).encode())
    key1, parts1 = _key(recipe, files, 2, steps, [against], "text", None)
    assert _key(recipe, files, 2, steps, [against], "text", None)[0] == key1  # nothing changed: resumes
    words.write_text("alpha\nbeta\n")
    key2, parts2 = _key(recipe, files, 2, steps, [against], "text", None)
    assert key2 != key1 and parts2["signals"]["toxic_words"] != parts1["signals"]["toxic_words"]
    fs.pipe(f"{bucket}/earlier/manifest.json", json.dumps({"fingerprint": "run-v2"}).encode())
    assert _key(recipe, files, 2, steps, [against], "text", None)[0] != key2


def test_inputs_and_the_run_folder_on_a_store_must_not_overlap(s3) -> None:
    """A run folder inside an input folder would read its own outputs as inputs on the next run; an input inside
    the run folder could be deleted by --overwrite before it is read. Both are refused before any work."""
    from curation.pipeline import curate

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    fs.pipe(f"{bucket}/data/a.jsonl", _jsonl("a", 3))
    fs.pipe(f"{bucket}/run1/kept/b.jsonl", _jsonl("b", 3))
    with pytest.raises(WinnowError, match="inside the input"):
        curate([f"s3://{bucket}/data"], f"s3://{bucket}/data/run", _small_recipe())
    with pytest.raises(WinnowError, match="inside the run folder"):
        curate([f"s3://{bucket}/run1/kept"], f"s3://{bucket}/run1", _small_recipe(), overwrite=True)
    assert fs.isfile(f"{bucket}/run1/kept/b.jsonl")  # not deleted
    assert not fs.exists(f"{bucket}/data/run")
    # a sibling whose name starts the same is not inside
    fs.pipe(f"{bucket}/data2/a.jsonl", _jsonl("a", 3))
    m = curate([f"s3://{bucket}/data2"], f"s3://{bucket}/data2-run", _small_recipe())
    assert m["input"] == 3


def test_a_users_run_json_does_not_make_their_prefix_a_run_that_overwrite_clears(s3) -> None:
    """A prefix holding the user's own run.json (an experiment log) and a docs/ folder is not a Winnow run: it is
    refused, --overwrite included, and nothing in it is removed (before, --overwrite deleted its docs/)."""
    from curation.pipeline import curate

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    fs.pipe(f"{bucket}/data/a.jsonl", _jsonl("a", 3))
    fs.pipe(f"{bucket}/proj/run.json", b'{"experiment": 1}')
    fs.pipe(f"{bucket}/proj/docs/index.md", b"my notes")
    for overwrite in (False, True):
        with pytest.raises(WinnowError, match="holds files and is not a Winnow run folder"):
            curate([f"s3://{bucket}/data"], f"s3://{bucket}/proj", _small_recipe(), overwrite=overwrite)
    assert fs.cat(f"{bucket}/proj/docs/index.md") == b"my notes"
    assert fs.cat(f"{bucket}/proj/run.json") == b'{"experiment": 1}'
    # a run Winnow wrote there is still one: a rerun with --overwrite goes ahead
    m = curate([f"s3://{bucket}/data"], f"s3://{bucket}/run2", _small_recipe())
    assert curate([f"s3://{bucket}/data"], f"s3://{bucket}/run2", _small_recipe(), overwrite=True)["input"] \
        == m["input"] == 3


def test_a_search_index_built_by_a_remote_mix_is_uploaded_with_the_run(s3) -> None:
    """The manifest names the search index it built: the index must be in the run folder on the store too."""
    from curation.pipeline import curate
    from curation.recipe import Recipe

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    fs.pipe(f"{bucket}/in/a.jsonl", _jsonl("a", 30))
    recipe = Recipe.model_validate({**_small_recipe().model_dump(), "search_index": "always"})
    m = curate([f"s3://{bucket}/in"], f"s3://{bucket}/run", recipe)
    assert m["search_index"]["n_docs"] == 30
    assert fs.ls(f"{bucket}/run/search")


def test_inputs_in_two_folders_of_one_name_are_both_kept_apart_from_the_run_folder(s3) -> None:
    """Two input folders with the same name and file names (the second's get `rel#i` names): a run folder inside
    the second is refused as one inside the first is."""
    from curation.pipeline import curate

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    for top in ("x", "y"):
        fs.pipe(f"{bucket}/{top}/data/p.jsonl", _jsonl(top, 3))
    for top in ("x", "y"):
        with pytest.raises(WinnowError, match=f"lies inside the input folder s3://{bucket}/{top}/data"):
            curate([f"s3://{bucket}/x/data", f"s3://{bucket}/y/data"], f"s3://{bucket}/{top}/data/run",
                   _small_recipe())


def test_a_single_input_file_is_recorded_as_it_is_on_the_store_now(s3) -> None:
    """A process that listed the input's folder before (the app, a notebook) must not record the ETag of that
    old listing: every task would then refuse the object as changed."""
    from curation import objstore
    from curation.remote_run import discover

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    fs.pipe(f"{bucket}/in/a.jsonl", _jsonl("a", 3))
    fs.ls(f"{bucket}/in")  # this process's listing cache now holds version 1
    s3.client().put_object(Bucket=bucket, Key="in/a.jsonl", Body=_jsonl("b", 3))  # another writer
    (seen,) = discover([f"s3://{bucket}/in/a.jsonl"])
    objstore.get_file(seen.url, Path("/dev/null"), etag=seen.etag)  # not refused: version 2 was recorded


def test_an_earlier_attempts_task_error_is_not_raised_again(s3) -> None:
    """A task error left in the run folder by an earlier attempt (the command stopped on it) is not this run's:
    once its cause is gone the run completes instead of raising the old message."""
    from curation.pipeline import curate

    bucket = s3.bucket()
    fs = fsspec.filesystem("s3")
    fs.pipe(f"{bucket}/in/a.jsonl", _jsonl("a", 12))
    curate([f"s3://{bucket}/in"], f"s3://{bucket}/run", _small_recipe())
    fs.rm(f"{bucket}/run/manifest.json")  # as if an attempt had stopped on a task's error, its file left behind
    fs.pipe(f"{bucket}/run/state/tasks/00000.error", b"s3://x changed since this run started (an old attempt)")
    m = curate([f"s3://{bucket}/in"], f"s3://{bucket}/run", _small_recipe())
    assert m["input"] == 12
    assert not fs.exists(f"{bucket}/run/state/tasks/00000.error")
