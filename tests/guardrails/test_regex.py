"""Regex: named patterns block or redact what they match; allow mode inverts; a bad pattern names itself."""

import pytest

from curation.errors import WinnowError
from guardrails.policy import PolicyRunner, load_policy
from guardrails.scanners import get_scanner
from guardrails.scanners.regex import Regex

TICKET = {"name": "TICKET", "pattern": r"\bJIRA-\d{3,6}\b"}


def test_named_patterns_are_spans_and_redacted() -> None:
    s = Regex({"patterns": [TICKET, r"(?i)\binternal only\b"]})
    text = "See JIRA-4521 and JIRA-77 (too short); Internal Only."
    v = s.scan(text)
    assert not v.valid and v.score == 1.0
    assert [(sp.label, sp.text) for sp in v.spans] == [("TICKET", "JIRA-4521"), ("pattern_2", "Internal Only")]
    assert v.sanitized == "See [REDACTED:TICKET] and JIRA-77 (too short); [REDACTED:pattern_2]."
    assert s.scan("nothing to see, JIRA 4521").valid


def test_fullmatch_and_allow_mode() -> None:
    json_only = Regex({"patterns": [r"\{.*\}"], "mode": "allow", "match": "fullmatch"})
    assert json_only.scan('{"answer": 4}').valid
    v = json_only.scan('Sure! {"answer": 4}')
    assert not v.valid and v.reasons == ["no allowed pattern matches"] and v.sanitized == 'Sure! {"answer": 4}'
    blocked_whole = Regex({"patterns": [r"\d+"], "match": "fullmatch"})
    assert not blocked_whole.scan("12345").valid and blocked_whole.scan("order 12345").valid


def test_bad_config_names_the_problem() -> None:
    with pytest.raises(WinnowError, match="TICKET2"):
        Regex({"patterns": [{"name": "TICKET2", "pattern": "JIRA-(\\d+"}]})
    with pytest.raises(Exception, match="patern"):
        Regex({"patterns": [{"name": "X", "patern": "a"}]})
    assert get_scanner("regex") is Regex


def test_policy_redact_and_block(tmp_path) -> None:
    for action in ("redact", "block"):
        p = tmp_path / f"{action}.yaml"
        p.write_text(f"name: t\ninput:\n  - scanner: regex\n    action: {action}\n    config:\n      patterns:\n"
                     "        - {name: TICKET, pattern: 'JIRA-\\d{3,6}'}\n", encoding="utf-8")
        res = PolicyRunner(load_policy(p)).scan_input("fix JIRA-1234 today")
        if action == "redact":
            assert res.sanitized == "fix [REDACTED:TICKET] today" and res.blocked_by == []
        else:
            assert not res.valid and res.blocked_by == ["regex"]
