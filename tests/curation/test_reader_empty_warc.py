"""A WARC with no page record reads like an empty JSONL file (one quarantine entry); a run of no documents
finishes with zero counts instead of claiming its signals are missing."""

import shutil
from io import BytesIO
from pathlib import Path

import pytest

from curation.mix import mix
from curation.pipeline import curate
from curation.reader import Quarantined, discover_inputs, iter_records
from curation.recipe import parse_recipe

RECIPE = {"signals": {"length": {}},
          "rules": [{"name": "too_short", "signal": "length", "column": "n_words", "min": 2}]}


def _no_page_warc(path: Path) -> Path:
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=False)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))
        w.write_record(w.create_warc_record("http://example.com/a.png", "resource",
                                            payload=BytesIO(b"\x89PNG not a page"), warc_content_type="image/png"))
    return path


@pytest.mark.parametrize("world", [1, 2])
def test_warc_without_pages_is_one_empty_file_entry(tmp_path: Path, world: int) -> None:
    (tmp_path / "zero.warc").write_bytes(b"")
    _no_page_warc(tmp_path / "resources.warc")
    for name in ("zero.warc", "resources.warc"):
        got = [r for rank in range(world) for r in iter_records(discover_inputs([tmp_path / name]), rank, world)]
        assert len(got) == 1 and isinstance(got[0], Quarantined)
        assert (got[0].file, got[0].line) == (name, 0) and got[0].reason.startswith("empty file")


def test_curating_an_empty_warc_finishes_with_zero_counts(tmp_path: Path) -> None:
    (tmp_path / "zero.warc").write_bytes(b"")
    m = curate([tmp_path / "zero.warc"], tmp_path / "run", parse_recipe(RECIPE))
    assert (m["input"], m["kept"], m["removed"], m["quarantined"]) == (1, 0, 0, 1)
    assert "empty file" in (tmp_path / "run" / "quarantine.jsonl").read_text()


def test_mix_of_a_run_without_documents_needs_no_signal_rows(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    curate([tmp_path / "empty.jsonl"], tmp_path / "run", parse_recipe(RECIPE))
    shutil.rmtree(tmp_path / "run" / "signals" / "length")  # nothing to decide: no signal shard is needed
    m = mix(tmp_path / "run", out_dir=tmp_path / "mixed")
    assert (m["input"], m["kept"], m["removed"], m["quarantined"]) == (1, 0, 0, 1)
