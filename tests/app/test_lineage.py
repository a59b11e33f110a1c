"""`winnow lineage`: raw files -> curated run -> SFT -> DPO -> report from the folders alone; stale flags; gaps."""

import json
import shutil

import pytest

from app.cli import main
from app.lineage import lineage, render_text
from curation.errors import WinnowError
from curation.lineage_record import lineage_block, stamp_fingerprint


def _job(folder, kind, *, inputs=(), parents=(), payload=b"out"):
    """A Winnow output folder written the way every job writes one: output file, lineage, stamped manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "out.bin").write_bytes(payload)
    m = {"kind": kind, "lineage": lineage_block(inputs=inputs, parents=parents, command=["winnow", kind],
                                                config={"k": kind}, kind=kind)}
    stamp_fingerprint(m, [folder / "out.bin"])
    (folder / "manifest.json").write_text(json.dumps(m))
    return folder


@pytest.fixture
def chain(tmp_path, monkeypatch):
    monkeypatch.setenv("WINNOW_CACHE_DIR", str(tmp_path / "cache"))
    ws = tmp_path / "ws"
    raw = tmp_path / "raw" / "corpus.jsonl"
    raw.parent.mkdir()
    raw.write_text('{"text": "hello"}\n')
    cur = _job(ws / "runs" / "curated", "curated", inputs=[raw])
    sft = _job(ws / "models" / "sft", "sft", inputs=[cur])
    dpo = _job(ws / "models" / "dpo", "dpo", parents=[sft])
    rep = _job(ws / "runs" / "report", "eval", parents=[dpo])
    return {"ws": ws, "raw": raw, "cur": cur, "sft": sft, "dpo": dpo, "rep": rep}


def _ancestors(g, path):
    out, todo = [], [str(path)]
    while todo:
        p = todo.pop()
        for e in g.parents(p):
            out.append(e.parent)
            todo.append(e.parent)
    return out


def test_report_walks_back_to_the_raw_file_without_a_registry(chain):
    assert not (chain["ws"] / "runs.sqlite").exists()
    g = lineage(chain["rep"], chain["ws"])
    assert _ancestors(g, chain["rep"]) == [str(chain[k]) for k in ("dpo", "sft", "cur", "raw")]
    assert [g.nodes[str(chain[k])].kind for k in ("rep", "dpo", "sft", "cur", "raw")] == \
        ["eval", "dpo", "sft", "curated", "raw-file"]
    assert not any(n.stale for n in g.nodes.values()) and g.gaps == []


def test_down_lists_what_was_made_from_the_curated_run(chain):
    g = lineage(chain["cur"], chain["ws"], down=True)
    made = {e.child for e in g.edges if e.parent != str(chain["raw"])}
    assert made == {str(chain[k]) for k in ("sft", "dpo", "rep")}


def test_edited_raw_file_makes_everything_downstream_stale(chain):
    chain["raw"].write_text('{"text": "edited"}\n')
    g = lineage(chain["rep"], chain["ws"])
    assert {p for p, n in g.nodes.items() if n.stale} == {str(chain[k]) for k in ("cur", "sft", "dpo", "rep")}
    assert str(chain["raw"]) in g.nodes[str(chain["cur"])].stale_reasons[0]


def test_remixed_parent_flags_only_its_children(chain):
    _job(chain["sft"], "sft", inputs=[chain["cur"]], payload=b"retrained")  # new fingerprint, same folder
    g = lineage(chain["rep"], chain["ws"])
    assert {p for p, n in g.nodes.items() if n.stale} == {str(chain["dpo"]), str(chain["rep"])}
    assert "[STALE]" in render_text(g)


def test_missing_folder_shows_the_visible_part_and_the_gap(chain, capsys):
    shutil.rmtree(chain["sft"])
    g = lineage(chain["rep"], chain["ws"])
    assert g.gaps == [str(chain["sft"])]
    assert _ancestors(g, chain["rep"]) == [str(chain["dpo"]), str(chain["sft"])]
    assert main(["lineage", str(chain["rep"]), "--workspace", str(chain["ws"])]) == 0
    out = capsys.readouterr().out
    assert "GAP" in out and f"gap: {chain['sft']} is missing" in out


def test_moved_parent_is_found_by_fingerprint(chain):
    moved = chain["ws"] / "models" / "sft-moved"
    chain["sft"].rename(moved)
    g = lineage(chain["rep"], chain["ws"])
    assert str(moved) in _ancestors(g, chain["rep"]) and g.gaps == []


def test_cli_json_and_run_id(chain, capsys):
    from app.registry import RunRegistry

    with RunRegistry(chain["ws"]) as reg:
        rid = reg.create("eval", {}, chain["rep"], status="done")
    assert main(["lineage", str(rid), "--json", "--workspace", str(chain["ws"])]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["root"] == str(chain["rep"])
    assert {n["path"] for n in data["nodes"]} == {str(chain[k]) for k in ("rep", "dpo", "sft", "cur", "raw")}
    assert main(["lineage", "999", "--workspace", str(chain["ws"])]) == 2
    assert "no run with id 999" in capsys.readouterr().err
    with pytest.raises(WinnowError, match="no such folder"):
        lineage(chain["ws"] / "nope", chain["ws"])


def test_runs_lists_each_runs_parents_by_run_id(chain, capsys):
    from app.registry import RunRegistry

    with RunRegistry(chain["ws"]) as reg:
        ids = {k: reg.create(kind, {}, chain[k], status="done")
               for k, kind in (("cur", "curate"), ("sft", "train-sft"), ("dpo", "train-dpo"), ("rep", "eval"))}
    assert main(["runs", "--workspace", str(chain["ws"])]) == 0
    rows = {int(line.split()[0]): line for line in capsys.readouterr().out.splitlines()[1:]}
    assert f" {ids['dpo']} " in rows[ids["rep"]] and f" {ids['sft']} " in rows[ids["dpo"]]
    assert f" {ids['cur']} " in rows[ids["sft"]]
    assert "corpus.jsonl" not in rows[ids["cur"]]  # raw inputs are not parents
