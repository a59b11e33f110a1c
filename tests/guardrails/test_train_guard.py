"""`guard train` never leaves a rejected or half-written model in place of the previous one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from app.cli import main
from curation.errors import WinnowError
from guardrails.train import train_guard_model
from tests.guardrails.training_data import injection_data, toxicity_data


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_rejected_model_leaves_the_previous_one_and_its_card(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = toxicity_data(tmp_path / "data")
    out, ws = tmp_path / "gt" / "tox.bin", str(tmp_path / "ws")
    small = ["--dim", "8", "--bucket", "5000", "--epoch", "2"]
    assert main(["guard", "train", "toxicity", "--data-dir", str(data), "--out", str(out), *small,
                 "--workspace", ws]) == 0
    card = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["sha256"] == _sha(out)
    before = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    capsys.readouterr()
    # an unquantized 64-dim model of 5,000 buckets is (5,000 + vocabulary) x 64 floats: over 1.28 MB, past the limit
    with pytest.raises(WinnowError, match="limit"):
        train_guard_model("toxicity", data, out, overrides={"dim": 64, "bucket": 5000, "epoch": 1, "quantize": False})
    after = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    assert after == before  # same model, same card, no temporary files left
    assert json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["sha256"] == _sha(out)


def test_a_model_named_like_its_card_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = injection_data(tmp_path / "data")
    gt = tmp_path / "gt"
    gt.mkdir()
    mine = {gt / "inj.json": '{"mine": 1}\n', gt / "notes.md": "# notes\n"}
    for p, text in mine.items():
        p.write_text(text, encoding="utf-8")
    for name in ("inj.json", "notes.md"):
        rc = main(["guard", "train", "injection", "--data-dir", str(data), "--out", str(gt / name),
                   "--workspace", str(tmp_path / "ws")])
        assert rc == 2 and "model card" in capsys.readouterr().err
    assert {p: p.read_text(encoding="utf-8") for p in mine} == mine and sorted(gt.iterdir()) == sorted(mine)
    # a model path of its own trains; its card lands beside it and matches it (not inj.npz: its card path
    # inj.json is the user's file above, which training must not overwrite)
    out = gt / "model.npz"
    assert main(["guard", "train", "injection", "--data-dir", str(data), "--out", str(out),
                 "--workspace", str(tmp_path / "ws")]) == 0
    assert json.loads((gt / "model.json").read_text(encoding="utf-8"))["sha256"] == _sha(out)
    assert sorted(p.name for p in gt.iterdir()) == ["inj.json", "model.json", "model.md", "model.npz", "notes.md"]


def test_the_user_files_at_the_card_paths_are_never_overwritten(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = injection_data(tmp_path / "data")
    ws = str(tmp_path / "ws")
    for name, text in (("train.json", '{"epochs": 3}\n'), ("train.md", "# my notes\n"), ("train.npz", "mine")):
        d = tmp_path / name.replace(".", "_")
        d.mkdir()
        (d / name).write_text(text, encoding="utf-8")
        rc = main(["guard", "train", "injection", "--data-dir", str(data), "--out", str(d / "train.npz"),
                   "--workspace", ws])
        err = capsys.readouterr().err
        assert rc == 2 and name in err and len(err.strip().splitlines()) == 1
        assert [p.name for p in d.iterdir()] == [name] and (d / name).read_text(encoding="utf-8") == text
    # a rerun onto its own earlier model and card replaces them
    d = tmp_path / "ours"
    args = ["guard", "train", "injection", "--data-dir", str(data), "--out", str(d / "train.npz"), "--workspace", ws]
    assert main(args) == 0
    (d / "train.md").write_text("stale\n", encoding="utf-8")
    assert main(args) == 0
    assert (d / "train.md").read_text(encoding="utf-8").startswith("# injection model card")
    assert json.loads((d / "train.json").read_text(encoding="utf-8"))["sha256"] == _sha(d / "train.npz")


def test_a_malformed_data_file_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guardrails.train import load_sources

    data = injection_data(tmp_path / "data")
    deepset = data / "prompts" / "deepset_prompt_injections_train.jsonl"
    good = deepset.read_text(encoding="utf-8")
    deepset.write_text(good + '{"text": "half a row", "label"\n', encoding="utf-8")
    n_line = good.count("\n") + 1
    rc = main(["guard", "train", "injection", "--data-dir", str(data), "--out", str(tmp_path / "m" / "inj.npz"),
               "--workspace", str(tmp_path / "ws")])
    err = capsys.readouterr().err
    assert rc == 2 and f"{deepset}:{n_line}: not valid JSON" in err and "Traceback" not in err
    assert not (tmp_path / "m" / "inj.npz").exists()
    deepset.write_text(good.replace('"text"', '"prompt_text"'), encoding="utf-8")
    with pytest.raises(WinnowError, match=r"deepset_prompt_injections_train\.jsonl: no column 'text'"):
        load_sources("injection", data)
    deepset.write_text("", encoding="utf-8")
    with pytest.raises(WinnowError, match=r"deepset_prompt_injections_train\.jsonl: the file is empty"):
        load_sources("injection", data)
    hh = data / "preference" / "hh_rlhf_harmless_base_test_dpo.jsonl"
    deepset.write_text(good, encoding="utf-8")
    hh.write_text('{"chosen": "x"}\n', encoding="utf-8")
    with pytest.raises(WinnowError, match=r"hh_rlhf_harmless_base_test_dpo\.jsonl: no column 'prompt'"):
        load_sources("injection", data)
