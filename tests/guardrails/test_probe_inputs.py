"""`guard probe`'s inputs: entity names checked up front, documents counted as given, the folders curate and
mix write. (No model is loaded here: the spans are found before one is.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from curation.errors import WinnowError


def _write(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return path


def _text(k: int) -> str:
    return f"Customer file {k} of the northern branch. Write to holder{k}@example.com for billing questions."


def test_unknown_entity_names_are_refused_naming_the_known_ones(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from guardrails.probe import ProbeConfig, find_spans

    data = _write(tmp_path / "d.jsonl", [{"id": "a", "text": _text(1)}])
    rc = main(["guard", "probe", "--model", str(tmp_path / "no-model"), "--data", str(data), "--entities", "FOO",
               "--workspace", str(tmp_path / "ws")])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown entity type FOO" in err and "EMAIL_ADDRESS" in err and "Traceback" not in err
    with pytest.raises(WinnowError, match="BAR, FOO"):
        find_spans(ProbeConfig(model="m", data=str(data), entities=["EMAIL_ADDRESS", "BAR", "FOO"]))
    spans = find_spans(ProbeConfig(model="m", data=str(data), entities=["EMAIL_ADDRESS"]))
    assert [(s.entity, s.target.strip()) for s in spans] == [("EMAIL_ADDRESS", "holder1@example.com")]


def _dup_records() -> list[dict]:
    # the first two documents share an id: they are still two documents
    # (numbers of different lengths: each address starts at another offset, so a span paired with the wrong
    # document would cut out the wrong characters)
    return [{"id": "dup" if k < 2 else f"d{k}", "text": _text(11 * k)} for k in range(4)]


def test_documents_with_a_shared_id_are_counted_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guardrails.report import load_probe_report
    from training.tiny import build_tiny_model

    data = _write(tmp_path / "d.jsonl", _dup_records()[:2])
    model = build_tiny_model([data], tmp_path / "tiny", vocab_size=300, hidden=32, layers=1, heads=2)
    out = tmp_path / "report"
    rc = main(["guard", "probe", "--model", str(model), "--data", str(data), "--out", str(out),
               "--workspace", str(tmp_path / "ws")])
    assert rc == 0 and "from 2 documents" in capsys.readouterr().out
    rep = load_probe_report(out)
    assert rep.report["totals"]["documents"] == 2 and rep.report["totals"]["spans"] == 2


def test_a_line_without_text_says_what_to_give(tmp_path: Path) -> None:
    from guardrails.probe import ProbeConfig, find_spans

    data = _write(tmp_path / "d.jsonl", [{"id": "a", "body": _text(1)}])
    with pytest.raises(WinnowError) as exc:
        find_spans(ProbeConfig(model="m", data=str(data)))
    msg = str(exc.value)
    assert f"{data}:1: no string field 'text'" in msg and "--text-field" not in msg and "curated run folder" in msg


def test_curate_and_mix_output_folders_are_read(tmp_path: Path) -> None:
    from guardrails.probe import ProbeConfig, find_spans

    src = _write(tmp_path / "docs.jsonl", _dup_records())
    recipe = tmp_path / "r.yaml"
    recipe.write_text("signals:\n  pii: {ner: \"off\"}\n", encoding="utf-8")
    ws = str(tmp_path / "ws")
    assert main(["curate", str(src), "--out", str(tmp_path / "run"), "--recipe", str(recipe), "--workspace", ws]) == 0
    assert main(["mix", str(tmp_path / "run"), "-o", str(tmp_path / "mixed"), "--workspace", ws]) == 0
    assert not (tmp_path / "mixed" / "docs").exists()  # a mix output reads its parent's documents in place
    emails = sorted(f"holder{11 * k}@example.com" for k in range(4))
    for folder in ("run", "mixed"):
        spans = find_spans(ProbeConfig(model="m", data=str(tmp_path / folder)))
        # each document's own address (the two 'dup' documents are paired with their own spans, not the first's)
        assert sorted(s.target.strip() for s in spans) == emails, folder
        assert len({s.doc for s in spans}) == 4
