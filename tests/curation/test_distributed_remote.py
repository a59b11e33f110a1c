"""curate with inputs and run folder on a real S3 server (moto), on the local executor and on a two-node Ray
cluster: the same kept documents and removal reasons as a local run on local paths; bad input fails first."""

from __future__ import annotations

import io
import json
import random
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


@pytest.mark.slow
def test_s3_run_on_local_executor_equals_local_run(s3, local_run, tmp_path: Path) -> None:
    from curation.pipeline import curate

    corpus, ref = local_run
    bucket = s3.bucket()
    _upload(corpus, f"s3://{bucket}/corpus")
    run = f"s3://{bucket}/runs/r1"
    m = curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="local", workers=1, tasks=2)
    assert m["input"] == json.loads((ref / "manifest.json").read_text())["input"] == 216
    assert _kept_ids(run) == _kept_ids(str(ref))
    assert _removed(run).equals(_removed(str(ref)))
    fs = fsspec.filesystem("s3")
    assert fs.isfile(f"{bucket}/runs/r1/manifest.json")
    assert not fs.exists(f"{bucket}/runs/r1/.winnow.lock")  # released
    # a rerun resumes: every task is complete, nothing is scored again, same result
    m2 = curate([f"s3://{bucket}/corpus"], run, _recipe(), executor="local", workers=2, tasks=2)
    assert m2["kept"] == m["kept"]


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
def test_two_node_ray_cluster_with_s3_equals_local_run(s3, ray_cluster, local_run) -> None:
    """The real cluster shape: a Ray head and a second node started with `ray start`, inputs and the run folder
    on the S3 server, workers on both nodes; kept ids and removal reasons equal the local run's."""
    import ray

    from curation.pipeline import curate

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
