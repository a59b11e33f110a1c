"""curation/objstore.py on a local folder (the S3 paths are tested against a real S3 server in
test_distributed_remote.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation import objstore
from curation.errors import WinnowError


def _run(tmp_path: Path, n: int) -> Path:
    run = tmp_path / "run"
    (run / "docs").mkdir(parents=True)
    for i in range(n):
        (run / "docs" / f"{i:03d}.parquet").write_bytes(bytes([i]) * 100)
    return run


def test_download_tree_copies_every_file(tmp_path: Path) -> None:
    run = _run(tmp_path, 6)
    assert objstore.download_tree(str(run), "docs", tmp_path / "copy") == 6
    assert sorted(p.read_bytes() for p in (tmp_path / "copy" / "docs").iterdir()) == [bytes([i]) * 100
                                                                                     for i in range(6)]


def test_download_tree_stops_when_asked(tmp_path: Path) -> None:
    """What a failed run's cancel does: no further file is copied once `stop` says so, and the copy fails."""
    run = _run(tmp_path, 6)
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(WinnowError, match="stopped"):
        objstore.download_tree(str(run), "docs", tmp_path / "copy", stop=stop)
    assert len(list((tmp_path / "copy" / "docs").iterdir())) == 2


def test_a_store_that_refuses_the_lock_without_saying_why_stops_the_run_with_one_line() -> None:
    """s3fs turns a refused conditional put into FileExistsError (someone holds the lock) only when the store's
    412 names `If-None-Match`; an S3-compatible store that does not gets a plain OSError from s3fs. That must be
    a one-line error about the store's conditional puts, not a traceback (no such store runs here: a stand-in
    raises what s3fs raises for it)."""
    import types

    class Store:
        fs = types.SimpleNamespace(protocol=("s3", "s3a"))
        path = "bucket/run"

        def is_local(self) -> bool:
            return False

        def open(self, rel: str, mode: str):  # noqa: ANN201
            raise OSError(22, "An error occurred (PreconditionFailed) when calling the PutObject operation")

    with pytest.raises(WinnowError, match="could not create the run's lock object .*conditional puts"):
        objstore._conditional_create(Store(), objstore.LOCK_NAME, b"{}")
