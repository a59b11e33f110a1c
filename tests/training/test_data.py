"""Format detection, validation with file:line errors, and normalisation to TRL's formats."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from curation.errors import WinnowError
from tests.training.conftest import write_jsonl
from training.data import detect_format, load_dpo, load_sft

HH_CHOSEN = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour and water."
HH_REJECTED = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I bake bread?\n\nAssistant: Go away."


@pytest.mark.parametrize("rec,fmt", [
    ({"messages": []}, "chat"),
    ({"instruction": "a", "input": "", "output": "b"}, "alpaca"),
    ({"conversations": []}, "sharegpt"),
    ({"text": "x"}, "text"),
    ({"prompt": "p", "chosen": "c", "rejected": "r"}, "preference"),
    ({"prompt": [], "chosen": [], "rejected": []}, "preference-chat"),
    ({"chosen": [], "rejected": []}, "preference-implicit"),
    ({"chosen": "x", "rejected": "y"}, "hh-rlhf"),
    ({"prompt": "p", "chosen": "c"}, "preference"),
    ({"instruction": "i"}, "alpaca"),
    ({"foo": 1}, None),
])
def test_detect_format(rec: dict, fmt: str | None) -> None:
    assert detect_format(rec) == fmt


def test_sft_formats_normalise_to_messages(tmp_path: Path) -> None:
    chat = write_jsonl(tmp_path / "chat.jsonl", [{"messages": [{"role": "user", "content": "q"},
                                                               {"role": "assistant", "content": "a"}]}])
    alpaca = write_jsonl(tmp_path / "alpaca.jsonl", [{"instruction": "Sum", "input": "1 2", "output": "3"},
                                                     {"instruction": "Hi", "input": "", "output": "Hello"}])
    share = write_jsonl(tmp_path / "share.jsonl", [{"conversations": [{"from": "human", "value": "q"},
                                                                      {"from": "gpt", "value": "a"}]}])
    records, infos = load_sft([chat, alpaca, share])
    assert [i.format for i in infos] == ["chat", "alpaca", "sharegpt"]
    assert [i.records for i in infos] == [1, 2, 1]
    assert records[1]["messages"] == [{"role": "user", "content": "Sum\n\n1 2"},
                                      {"role": "assistant", "content": "3"}]
    assert records[2]["messages"][0] == {"role": "user", "content": "Hi"}
    assert records[3]["messages"] == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert all(len(i.sha256) == 64 for i in infos)


def test_curated_folder_is_text(tmp_path: Path) -> None:
    kept = tmp_path / "curated" / "kept"
    kept.mkdir(parents=True)
    pl.DataFrame({"id": ["a", "b"], "text": ["first doc", "second doc"]}).write_parquet(kept / "00000.parquet")
    records, infos = load_sft([tmp_path / "curated"])
    assert records == [{"text": "first doc"}, {"text": "second doc"}]
    assert infos[0].format == "text" and infos[0].path.endswith("00000.parquet")


def test_bad_record_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "alpaca.jsonl"
    f.write_text(json.dumps({"instruction": "a", "output": "b"}) + "\n\n"
                 + json.dumps({"instruction": "c", "output": "d"}) + "\n"
                 + json.dumps({"instruction": "e"}) + "\n")
    with pytest.raises(WinnowError, match=r"alpaca\.jsonl:4: missing column 'output'"):
        load_sft([f])


def test_bad_json_and_roles(tmp_path: Path) -> None:
    f = tmp_path / "broken.jsonl"
    f.write_text('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n{oops\n')
    with pytest.raises(WinnowError, match=r"broken\.jsonl:2: not valid JSON"):
        load_sft([f])
    g = write_jsonl(tmp_path / "roles.jsonl", [{"messages": [{"role": "robot", "content": "x"}]}])
    with pytest.raises(WinnowError, match=r"roles\.jsonl:1: messages\[0\] has unknown role 'robot'"):
        load_sft([g])


def test_unknown_format_empty_file_and_missing(tmp_path: Path) -> None:
    with pytest.raises(WinnowError, match=r"x\.jsonl:1: unknown data format \(columns: a, b\)"):
        load_sft([write_jsonl(tmp_path / "x.jsonl", [{"a": 1, "b": 2}])])
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(WinnowError, match=r"empty\.jsonl: empty file"):
        load_sft([tmp_path / "empty.jsonl"])
    with pytest.raises(WinnowError, match="data not found"):
        load_sft([tmp_path / "nope.jsonl"])


def test_sft_rejects_preference_and_mixed_shapes(tmp_path: Path) -> None:
    pref = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "p", "chosen": "c", "rejected": "r"}])
    with pytest.raises(WinnowError, match="preference data, not SFT data"):
        load_sft([pref])
    chat = write_jsonl(tmp_path / "c.jsonl", [{"messages": [{"role": "assistant", "content": "a"}]}])
    text = write_jsonl(tmp_path / "t.jsonl", [{"text": "plain"}])
    with pytest.raises(WinnowError, match="cannot mix"):
        load_sft([chat, text])


def test_dpo_hh_rlhf_text_is_split_into_prompt_and_answers(tmp_path: Path) -> None:
    f = tmp_path / "hh.jsonl.gz"
    with gzip.open(f, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"chosen": HH_CHOSEN, "rejected": HH_REJECTED}) + "\n")
    records, infos = load_dpo([f])
    assert infos[0].format == "hh-rlhf"
    r = records[0]
    assert [m["role"] for m in r["prompt"]] == ["user", "assistant", "user"]
    assert r["prompt"][-1]["content"] == "How do I bake bread?"
    assert r["chosen"] == [{"role": "assistant", "content": "Mix flour and water."}]
    assert r["rejected"] == [{"role": "assistant", "content": "Go away."}]


def test_dpo_hh_prompt_form_and_plain_mix(tmp_path: Path) -> None:
    hh = write_jsonl(tmp_path / "hh.jsonl", [{"prompt": "\n\nHuman: Hi?\n\nAssistant:", "chosen": " Hello.",
                                              "rejected": " Bye."}])
    plain = write_jsonl(tmp_path / "plain.jsonl", [{"prompt": "2+2=", "chosen": "4", "rejected": "5"}])
    only_plain, _ = load_dpo([plain])
    assert only_plain == [{"prompt": "2+2=", "chosen": "4", "rejected": "5"}]
    both, _ = load_dpo([hh, plain])  # one conversational source makes every pair conversational
    assert both[0]["prompt"] == [{"role": "user", "content": "Hi?"}]
    assert both[0]["chosen"] == [{"role": "assistant", "content": "Hello."}]
    assert both[1]["prompt"] == [{"role": "user", "content": "2+2="}]


def test_dpo_bad_records(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a", "chosen": "b", "rejected": "c"},
                                           {"prompt": "a", "chosen": "b"}])
    with pytest.raises(WinnowError, match=r"p\.jsonl:2: missing column 'rejected'"):
        load_dpo([f])
    g = write_jsonl(tmp_path / "hh.jsonl", [{"chosen": "no markers here", "rejected": "x"}])
    with pytest.raises(WinnowError, match=r"hh\.jsonl:1: column 'chosen' is not in the"):
        load_dpo([g])
    h = write_jsonl(tmp_path / "sft.jsonl", [{"messages": [{"role": "assistant", "content": "a"}]}])
    with pytest.raises(WinnowError, match="not preference pairs"):
        load_dpo([h])


def test_a_folder_mixing_file_kinds_reads_every_file(tmp_path: Path) -> None:
    """a.jsonl, b.jsonl.gz and c.json in one folder: all 6 records are read and all 3 files are listed."""
    d = tmp_path / "mixed"
    d.mkdir()
    rec = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    write_jsonl(d / "a.jsonl", [rec])
    with gzip.open(d / "b.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("".join(json.dumps({"instruction": f"i{k}", "output": "o"}) + "\n" for k in range(3)))
    other = {"messages": [{"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]}
    (d / "c.json").write_text(json.dumps([rec, other]), encoding="utf-8")
    (d / "notes.txt").write_text("not data")
    records, infos = load_sft([d])
    assert [Path(i.path).name for i in infos] == ["a.jsonl", "b.jsonl.gz", "c.json"]
    assert [i.records for i in infos] == [1, 3, 2] and len(records) == 6
    assert records[1]["messages"][0] == {"role": "user", "content": "i0"}


def test_a_winnow_output_folder_reads_its_parquet_not_its_manifest(tmp_path: Path) -> None:
    """An `ablate` sample folder: sample.parquet beside manifest.json (the folder's record, not a dataset)."""
    import polars as pl

    d = tmp_path / "sample"
    d.mkdir()
    pl.DataFrame({"id": ["a", "b"], "text": ["first document", "second document"]}).write_parquet(d / "sample.parquet")
    (d / "manifest.json").write_text(json.dumps({"kind": "sample", "docs": 2}), encoding="utf-8")
    records, infos = load_sft([d])
    assert [Path(i.path).name for i in infos] == ["sample.parquet"] and len(records) == 2


def test_a_pair_whose_chosen_is_its_rejected_is_a_bad_record(tmp_path: Path) -> None:
    plain = write_jsonl(tmp_path / "same.jsonl", [{"prompt": "2+2=", "chosen": "4", "rejected": "5"},
                                                  {"prompt": "3+3=", "chosen": "6", "rejected": "6 "}])
    with pytest.raises(WinnowError, match=r"same\.jsonl:2: chosen and rejected are the same answer"):
        load_dpo([plain])
    msg = [{"role": "assistant", "content": "Hi."}]
    chat = write_jsonl(tmp_path / "chat.jsonl", [{"prompt": [{"role": "user", "content": "Hello?"}],
                                                  "chosen": msg, "rejected": msg}])
    with pytest.raises(WinnowError, match=r"chat\.jsonl:1: chosen and rejected are the same answer"):
        load_dpo([chat])
    hh = write_jsonl(tmp_path / "hh.jsonl", [{"chosen": HH_CHOSEN, "rejected": HH_REJECTED},
                                             {"chosen": HH_CHOSEN, "rejected": HH_CHOSEN}])
    with pytest.raises(WinnowError, match=r"hh\.jsonl:2: chosen and rejected are the same answer"):
        load_dpo([hh])


def test_a_folder_holding_the_same_records_in_two_files_is_refused(tmp_path: Path) -> None:
    """The same pairs as HH-RLHF text (gz) and as plain prompt/chosen/rejected: every pair would train twice."""
    d = tmp_path / "preference"
    d.mkdir()
    with gzip.open(d / "pairs.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"chosen": HH_CHOSEN, "rejected": HH_REJECTED}) + "\n")
    plain = load_dpo([write_jsonl(tmp_path / "one.jsonl", [{"chosen": HH_CHOSEN, "rejected": HH_REJECTED}])])[0][0]
    write_jsonl(d / "pairs_dpo.jsonl", [plain])
    with pytest.raises(WinnowError, match=r"pairs_dpo\.jsonl and pairs\.jsonl\.gz hold 1 of the same records"):
        load_dpo([d])
    assert len(load_dpo([d / "pairs_dpo.jsonl"])[0]) == 1  # the file given alone trains


def test_a_metadata_json_beside_the_data_is_not_read_as_data(tmp_path: Path) -> None:
    d = tmp_path / "hf_export"
    d.mkdir()
    rec = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    write_jsonl(d / "train.jsonl", [rec, rec])
    (d / "dataset_info.json").write_text(json.dumps({"features": {"messages": "list"}}), encoding="utf-8")
    records, infos = load_sft([d])
    assert [Path(i.path).name for i in infos] == ["train.jsonl"] and len(records) == 2


def test_json_lines_under_a_json_name_are_data(tmp_path: Path) -> None:
    """`datasets`' to_json writes JSON lines into a .json file: read it, in a folder or given alone."""
    d = tmp_path / "hf"
    d.mkdir()
    recs = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(3)]
    (d / "train.json").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    (d / "dataset_info.json").write_text(json.dumps({"features": {}}, indent=2), encoding="utf-8")
    records, infos = load_sft([d])
    assert [Path(i.path).name for i in infos] == ["train.json"] and len(records) == 3
    assert len(load_sft([d / "train.json"])[0]) == 3
