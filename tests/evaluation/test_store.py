"""The benchmark store: import with checksums, list, hub conversion, offline pull, task YAML generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app.cli import main
from curation.errors import WinnowError
from evaluation import store
from evaluation.tasks import PRESETS, build_taskset, mmlu_subjects, parse_benchmarks
from tests.evaluation.conftest import write_jsonl, write_store


def test_import_list_and_checksums(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_store(tmp_path / "src", n=3, mmlu=False)
    ws = tmp_path / "ws"
    assert main(["data", "import", str(src), "--workspace", str(ws)]) == 0
    dest = ws / "benchmarks"
    ck = json.loads((dest / "arc_easy" / "checksums.json").read_text())
    assert ck["files"]["test.jsonl"]["rows"] == 3
    assert ck["files"]["test.jsonl"]["sha256"] == store.sha256_file(src / "arc_easy" / "test.jsonl")
    assert store.verify_folder(dest / "arc_easy") == []
    (dest / "arc_easy" / "test.jsonl").write_text("{}\n")
    assert store.verify_folder(dest / "arc_easy") == ["test.jsonl"]
    capsys.readouterr()
    assert main(["data", "list", "--workspace", str(ws), "--json"]) == 0
    rows = {r["folder"]: r for r in json.loads(capsys.readouterr().out)["folders"]}
    assert rows["hellaswag"]["present"] and rows["hellaswag"]["splits"] == {"validation": 3}
    assert not rows["mmlu"]["present"]
    assert main(["data", "list", "--workspace", str(ws)]) == 0
    assert "winnow data pull mmlu" in capsys.readouterr().out


def test_import_rejects_bad_lines(tmp_path: Path) -> None:
    bad = tmp_path / "src" / "arc_easy"
    write_jsonl(bad / "test.jsonl", [{"id": "x"}])
    with open(bad / "test.jsonl", "a") as fh:
        fh.write("{broken\n")
    with pytest.raises(WinnowError, match=r"test.jsonl:2: not valid JSON"):
        store.import_dir(tmp_path / "src", tmp_path / "store")
    with pytest.raises(WinnowError, match="no benchmark folders"):
        store.import_dir(tmp_path, tmp_path / "store2")


def test_hub_dataset_conversion(tmp_path: Path) -> None:
    import datasets

    ds = datasets.Dataset.from_dict({
        "id": ["q1", "q2"], "question": ["Why?", "How?"],
        "choices": [{"text": ["a", "b"], "label": ["A", "B"]}, {"text": ["c", "d"], "label": ["A", "B"]}],
        "answerKey": ["A", "B"]})
    path = tmp_path / "arc_easy" / "test.jsonl"
    assert store.dataset_to_jsonl(ds, path) == 2
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert rows[1] == {"id": "q2", "question": "How?", "choices": {"text": ["c", "d"], "label": ["A", "B"]},
                       "answerKey": "B"}
    # and lm-eval's json loader reads it back with the same schema
    back = datasets.load_dataset("json", data_files={"test": str(path)}, split="test")
    assert back[0]["choices"]["label"] == ["A", "B"]


def test_pull_offline_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["data", "pull", "arc_easy", "--workspace", str(tmp_path / "ws")]) == 2
    assert "offline" in capsys.readouterr().err
    with pytest.raises(WinnowError, match="unknown benchmark folder"):
        store.check_pull(["arc_hard"])


def test_task_yaml_includes_builtin_and_overrides_data(tmp_path: Path) -> None:
    src = write_store(tmp_path / "s", n=2)
    ts = build_taskset(["hellaswag", "arc_challenge", "mmlu"], src, tmp_path / "inc", tmp_path / "cache",
                       num_fewshot={"hellaswag": 10})
    hs = yaml.safe_load((tmp_path / "inc" / "hellaswag.yaml").read_text())
    assert hs["include"].endswith("lm_eval/tasks/hellaswag/hellaswag.yaml")
    assert hs["dataset_path"] == "json" and hs["dataset_name"] is None and hs["training_split"] is None
    assert hs["num_fewshot"] == 10
    assert set(hs["dataset_kwargs"]["data_files"]) == {"validation"}
    arc = yaml.safe_load((tmp_path / "inc" / "arc_challenge.yaml").read_text())
    assert arc["task"] == "arc_challenge" and arc["training_split"] == "train"
    subjects = mmlu_subjects()
    assert len(subjects) == 57 and len(list((tmp_path / "inc").glob("mmlu_*.yaml"))) == 57
    anat = yaml.safe_load((tmp_path / "inc" / "mmlu_anatomy.yaml").read_text())
    rows = [json.loads(x) for x in Path(anat["dataset_kwargs"]["data_files"]["test"]).read_text().splitlines()]
    assert rows and all(r["subject"] == "anatomy" for r in rows)
    assert (tmp_path / "inc" / "_mmlu.yaml").exists()
    assert ts.tasks == ["hellaswag", "arc_challenge", "mmlu"]
    assert set(ts.data_files) >= {"mmlu/test.jsonl", "mmlu/dev.jsonl", "hellaswag/validation.jsonl"}
    # the config hash ignores where the data lives but not what changes the prompt
    ts2 = build_taskset(["hellaswag"], write_store(tmp_path / "s2", n=2, mmlu=False), tmp_path / "inc2",
                        tmp_path / "cache", num_fewshot={"hellaswag": 10})
    ts3 = build_taskset(["hellaswag"], src, tmp_path / "inc3", tmp_path / "cache")
    assert ts2.config_hashes["hellaswag"] == ts.config_hashes["hellaswag"] != ts3.config_hashes["hellaswag"]
    assert PRESETS["leaderboard-v1"]["arc_challenge"] == (25, "acc_norm")
    with pytest.raises(WinnowError, match="unknown benchmark"):
        parse_benchmarks("arc_easy,boolq")


def test_perplexity_file_checks(tmp_path: Path) -> None:
    src = write_store(tmp_path / "s", n=2, mmlu=False)
    bad = tmp_path / "held.jsonl"
    bad.write_text('{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(WinnowError, match=r"held.jsonl:2: missing string field 'text'"):
        build_taskset(["arc_easy"], src, tmp_path / "inc", tmp_path / "c", perplexity=bad)
    with pytest.raises(WinnowError, match="no such file"):
        build_taskset(["arc_easy"], src, tmp_path / "inc", tmp_path / "c", perplexity=tmp_path / "none.txt")
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(WinnowError, match=r"latin1.jsonl:2: not valid UTF-8"):
        build_taskset(["arc_easy"], src, tmp_path / "inc", tmp_path / "c", perplexity=latin1)
    array = tmp_path / "array.jsonl"
    array.write_text('["not", "an", "object"]\n')
    with pytest.raises(WinnowError, match=r"array.jsonl:1: expected a JSON object"):
        build_taskset(["arc_easy"], src, tmp_path / "inc", tmp_path / "c", perplexity=array)


def _rewrite_same_size(path: Path, change) -> None:
    """Rewrite a JSONL file row by row with `change(row)`, asserting its byte size is kept (an in-place edit)."""
    before = path.stat().st_size
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    path.write_text("".join(json.dumps(change(r)) + "\n" for r in rows), encoding="utf-8")
    assert path.stat().st_size == before


def test_same_size_edit_changes_fingerprint_and_mmlu_split(tmp_path: Path) -> None:
    """An edit that keeps a file's byte size (answer keys rotated) must change the recorded data checksum and
    the MMLU per-subject files lm-eval reads: a stale checksums.json entry is not trusted on size alone."""
    data = tmp_path / "store"
    store.import_dir(write_store(tmp_path / "s", n=4), data)  # writes checksums.json per folder
    cache = tmp_path / "cache"

    def derived(ts_dir: Path, split: str) -> dict[str, int]:
        cfg = yaml.safe_load((ts_dir / "mmlu_anatomy.yaml").read_text())
        return {r["question"]: r["answer"] for r in map(json.loads, Path(
            cfg["dataset_kwargs"]["data_files"][split]).read_text().splitlines())}

    ts1 = build_taskset(["arc_easy", "mmlu"], data, tmp_path / "i1", cache)
    test_before, dev_before = derived(tmp_path / "i1", "test"), derived(tmp_path / "i1", "dev")
    rot = {"A": "B", "B": "C", "C": "D", "D": "A"}
    _rewrite_same_size(data / "arc_easy" / "test.jsonl", lambda r: {**r, "answerKey": rot[r["answerKey"]]})
    _rewrite_same_size(data / "mmlu" / "test.jsonl", lambda r: {**r, "answer": (r["answer"] + 1) % 4})
    ts2 = build_taskset(["arc_easy", "mmlu"], data, tmp_path / "i2", cache)
    arc_sha = store.sha256_file(data / "arc_easy" / "test.jsonl")
    assert ts2.data_files["arc_easy/test.jsonl"] == arc_sha != ts1.data_files["arc_easy/test.jsonl"]
    assert ts2.data_files["mmlu/test.jsonl"] != ts1.data_files["mmlu/test.jsonl"]
    assert derived(tmp_path / "i2", "test") == {q: (a + 1) % 4 for q, a in test_before.items()}
    # an edit of dev alone also gets a new split (the cache was named by the test file's hash only)
    _rewrite_same_size(data / "mmlu" / "dev.jsonl", lambda r: {**r, "answer": (r["answer"] + 1) % 4})
    ts3 = build_taskset(["mmlu"], data, tmp_path / "i3", cache)
    assert ts3.data_files["mmlu/dev.jsonl"] != ts2.data_files["mmlu/dev.jsonl"]
    assert derived(tmp_path / "i3", "dev") == {q: (a + 1) % 4 for q, a in dev_before.items()}
