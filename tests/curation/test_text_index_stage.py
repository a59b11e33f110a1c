"""The search index built as a task on the executor (curation/text_index_stage.py): the same index `build_index`
makes in-process, moved into place whole, built outside mix's temporary folder, and a failure reaches the
caller."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from curation.text_index import build_index
from curation.text_index_stage import IndexTask

pytest.importorskip("numba")  # the index's kernels


def _run(root, n: int = 900):  # noqa: ANN001, ANN202
    (root / "docs").mkdir(parents=True)
    words = ["alpha", "beta", "gamma", "the", "of", "delta", "quokka"]
    texts = [" ".join(words[(i * k) % len(words)] for k in range(1, 12)) for i in range(n)]
    for f, rows in enumerate((range(0, 300), range(300, 600), range(600, n))):
        pl.DataFrame({"id": [f"d{i}" for i in rows], "text": [texts[i] for i in rows], "order": list(rows),
                      "source": ["t"] * len(rows), "metadata": ["{}"] * len(rows)}).write_parquet(
            root / "docs" / f"{f:05d}_000000.parquet")
    return root


def test_the_task_builds_the_in_process_index_and_moves_it_in(tmp_path) -> None:  # noqa: ANN001
    run = _run(tmp_path / "run")
    out = tmp_path / "out"
    out.mkdir()
    meta = IndexTask("local", run, out).finish(tmp_path / "dest")
    assert meta["n_docs"] == 900
    build_index(run, out=tmp_path / "ref")
    for name in ("keys.npy", "starts.npy", "postings.npy", "codes.npy"):
        assert np.array_equal(np.load(tmp_path / "dest" / name), np.load(tmp_path / "ref" / name)), name
    assert not list(out.glob(".index-*"))  # its building folder is gone once moved
    assert len(list((out / "logs" / "search_index").glob("*/completions/00000"))) == 1  # its log stays


def test_a_task_that_fails_raises_in_finish_and_leaves_no_index(tmp_path) -> None:  # noqa: ANN001
    run = _run(tmp_path / "run")
    (run / "docs" / "00001_000000.parquet").write_bytes(b"not parquet")  # a damaged docs file
    with pytest.raises(Exception, match="(?i)parquet|magic|file"):
        IndexTask("local", run, tmp_path / "out").finish(tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_a_killed_mix_s_index_folder_is_removed_by_the_next_mix_and_owned_by_overwrite(tmp_path) -> None:  # noqa: ANN001
    """A mix killed while its index task ran leaves `.index-<pid>-<token>`: the next mix removes it, and it is
    one of the entries `--overwrite` may delete (nothing else of the folder's is)."""
    import json

    from curation.mix import mix
    from curation.pipeline import curate
    from curation.recipe import parse_recipe
    from curation.run_folder import clear_owned

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": f"words of document {i}"}) + "\n" for i in range(20)))
    run = tmp_path / "run"
    recipe = parse_recipe({"signals": {"length": {}}, "rules": []})
    curate([src], run, recipe)
    (run / ".index-999-dead" / "search").mkdir(parents=True)
    mix(run, recipe)
    assert not (run / ".index-999-dead").exists()
    (run / ".index-999-dead").mkdir()
    (run / "mine.txt").write_text("the user's own file")
    clear_owned(run)
    assert not (run / ".index-999-dead").exists() and (run / "mine.txt").exists()
