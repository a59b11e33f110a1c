"""The manifest lineage block: inputs by content, parents by their manifest fingerprint, a stamped fingerprint."""

import json

from curation.fingerprint import hash_bytes_of
from curation.lineage_record import lineage_block, stamp_fingerprint


def _winnow_folder(path, fp):
    path.mkdir()
    (path / "manifest.json").write_text(json.dumps({"fingerprint": fp, "lineage": {"kind": "curated"}}))
    return path


def test_block_records_files_by_content_and_folders_by_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("WINNOW_CACHE_DIR", str(tmp_path / "cache"))
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"text": "a"}\n')
    parent = _winnow_folder(tmp_path / "run", "xxh3-128:abc")
    block = lineage_block(inputs=[raw, parent], command=["winnow", "x", "--set", "a=1"], config={"a": 1},
                          kind="sft")
    assert block["inputs"] == [{"path": str(raw), "fingerprint": hash_bytes_of(raw), "type": "file"}]
    assert block["parents"] == [{"path": str(parent), "fingerprint": "xxh3-128:abc", "kind": "curated"}]
    assert block["command"] == ["winnow", "x", "--set", "a=1"]
    assert block["config"] == {"a": 1}
    assert block["kind"] == "sft"
    assert "python" in block["versions"]


def test_stamp_changes_when_an_output_or_a_parent_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("WINNOW_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.parquet").write_bytes(b"one")
    (out / "manifest.json").write_text("{}")
    parent = _winnow_folder(tmp_path / "p", "xxh3-128:1")

    def stamp():
        m = {"lineage": lineage_block(parents=[parent], command=[])}
        return stamp_fingerprint(m, [out]), m

    fp1, m1 = stamp()
    assert m1["fingerprint"] == fp1
    assert m1["lineage"]["outputs"] == {"out/a.parquet": hash_bytes_of(out / "a.parquet")}
    assert stamp()[0] == fp1  # same bytes, same parent: same fingerprint
    (out / "manifest.json").write_text('{"changed": 1}')  # the manifest is not an output
    assert stamp()[0] == fp1
    (out / "a.parquet").write_bytes(b"two")
    fp2 = stamp()[0]
    assert fp2 != fp1
    (parent / "manifest.json").write_text(json.dumps({"fingerprint": "xxh3-128:2"}))
    assert stamp()[0] != fp2
