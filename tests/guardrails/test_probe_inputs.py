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
