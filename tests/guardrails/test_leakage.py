"""Leakage: PII echoed from the prompt, passages of a protected corpus, canaries (also disguised)."""

from pathlib import Path

import pytest

from guardrails.scanners.leakage import Leakage

SALARIES = ("Confidential salary table for the engineering department. Alice Martin, staff engineer, earns "
            "182,000 euros a year plus a retention bonus of 20,000 euros paid in March.")


@pytest.fixture(scope="module")
def leak(tmp_path_factory: pytest.TempPathFactory) -> Leakage:
    d = tmp_path_factory.mktemp("protected")
    (d / "salaries.txt").write_text(SALARIES, encoding="utf-8")
    (d / "contracts.jsonl").write_text('{"text": "The supplier shall deliver forty pallets of copper wire to the '
                                       'Rotterdam warehouse every second Tuesday."}\n', encoding="utf-8")
    return Leakage({"protected": [str(d)], "canaries": ["CANARY-7f3a9c"]})


def test_pii_from_the_prompt_repeated(leak: Leakage) -> None:
    prompt = "My email is jane.roe@example.com, write me a note."
    v = leak.scan("Sure, Jane (jane.roe@example.com): hello!", prompt)
    assert not v.valid and v.spans[0].label == "EMAIL_ADDRESS"
    assert v.sanitized == "Sure, Jane (<EMAIL_ADDRESS>): hello!"
    assert leak.scan("Sure, here is your note: hello!", prompt).valid


def test_protected_passages(leak: Leakage) -> None:
    v = leak.scan("As requested: Alice Martin, staff engineer, earns 182,000 euros a year plus a retention bonus.")
    assert not v.valid and "salaries.txt" in v.reasons[0]
    v = leak.scan("they deliver forty pallets of copper wire to the Rotterdam warehouse every second Tuesday")
    assert not v.valid and "contracts.jsonl:1" in v.reasons[0]
    assert leak.scan("Alice is a staff engineer in Rotterdam.").valid


def test_canary_plain_and_disguised(leak: Leakage) -> None:
    assert not leak.scan("the code is CANARY-7f3a9c").valid
    assert not leak.scan(" ".join("canary-7f3a9c")).valid
    assert leak.scan("no canary here").valid


def test_missing_corpus_is_an_error(tmp_path: Path) -> None:
    from curation.errors import WinnowError

    with pytest.raises(WinnowError, match="not found"):
        Leakage({"protected": [str(tmp_path / "nope")], "pii_echo": False})
