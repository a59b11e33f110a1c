"""Pii: curation's engine finds the values, curation's scrubber redacts them; NER only when asked."""

import hashlib

import pytest

from curation.errors import WinnowError
from guardrails.scanners.pii import Pii


@pytest.fixture(scope="module")
def pii() -> Pii:
    return Pii()


def test_finds_and_redacts_with_placeholders(pii: Pii) -> None:
    text = "Mail jane.roe@example.com or call +1 415 555 0132; card 4111 1111 1111 1111."
    v = pii.scan(text)
    assert not v.valid
    assert {s.label for s in v.spans} == {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"}
    assert v.sanitized == "Mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>; card <CREDIT_CARD>."
    assert [s.text for s in v.spans if s.label == "EMAIL_ADDRESS"] == ["jane.roe@example.com"]


def test_hash_mode_uses_the_salt() -> None:
    salt = "a-salt-of-16-bytes-or-more"
    v = Pii({"mode": "hash", "salt": salt}).scan("write to jane.roe@example.com")
    digest = hashlib.sha256(b"jane.roe@example.com" + salt.encode()).hexdigest()
    assert v.sanitized == f"write to {digest}"


def test_no_pii_and_default_exclusions_pass(pii: Pii) -> None:
    # URLs and dates are left out by default (a prompt is full of them)
    for text in ["What is the capital of France?", "See https://example.com/a on 2024-05-01", ""]:
        v = pii.scan(text)
        assert v.valid and v.spans == [] and v.sanitized == text


def test_entities_are_configurable_and_checked() -> None:
    only_cards = Pii({"entities": ["CREDIT_CARD"]})
    assert only_cards.scan("mail a@example.com").valid
    assert not only_cards.scan("card 4111 1111 1111 1111").valid
    with pytest.raises(WinnowError):
        Pii({"mode": "hash", "salt": "short"})
