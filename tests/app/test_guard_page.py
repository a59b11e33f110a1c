"""The Guardrails page with policy files a user may get wrong: bad YAML, a list, binary content."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from tests.app.apptest import open_page

BAD = "name: bad\ninput:\n  - scanner: injection\n   action: block\n"  # `action` indented one space less


def _app(ws: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page(ws, "Guardrails", monkeypatch, check=False)


def test_a_policy_with_bad_yaml_or_binary_content_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    (ws / "policies").mkdir(parents=True)
    (ws / "policies" / "bad.yaml").write_text(BAD, encoding="utf-8")
    (ws / "policies" / "list.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    (ws / "blob.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    try:
        yaml.safe_load(BAD)
    except yaml.YAMLError as e:  # where and what PyYAML itself reports
        line, col, problem = e.problem_mark.line + 1, e.problem_mark.column + 1, e.problem
    at = _app(ws, monkeypatch)
    at.selectbox(key="guard_policy").set_value("workspace: bad.yaml").run()
    assert not at.exception, [e.value for e in at.exception]
    # said as soon as the policy is picked, before any scan, as `winnow guard scan --policy` says it
    shown = [e.value for e in at.error]
    assert len(shown) == 1 and shown[0].startswith(f"{ws / 'policies' / 'bad.yaml'}:{line}:{col}: not valid YAML: "
                                                   f"{problem}"), shown
    at.selectbox(key="guard_policy").set_value("workspace: list.yaml").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [f"{ws / 'policies' / 'list.yaml'}: a policy is a mapping of fields, "
                                           "got list"]
    at.selectbox(key="guard_policy").set_value("a policy file...").run()
    at.text_input(key="guard_policy_file").set_value("blob.yaml").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and at.error[0].value.startswith(f"{(ws / 'blob.yaml').resolve()}:1: not valid "
                                                              "UTF-8"), [e.value for e in at.error]
