"""`winnow app`: the Streamlit command line it runs (serving it is covered by test_browser.py)."""

from __future__ import annotations

from pathlib import Path

from app.cli import main
from app.commands.app_cmd import streamlit_argv


def test_streamlit_argv_passes_the_workspace(tmp_path: Path) -> None:
    argv = streamlit_argv(tmp_path, 8600, headless=True, address="127.0.0.1")
    assert argv[1:4] == ["-m", "streamlit", "run"] and Path(argv[4]).name == "streamlit_app.py"
    assert Path(argv[4]).is_file()
    assert argv[argv.index("--server.port") + 1] == "8600"
    assert argv[argv.index("--server.headless") + 1] == "true"
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[-3:] == ["--", "--workspace", str(tmp_path)]


def test_app_help_lists_its_options(capsys) -> None:  # noqa: ANN001 - pytest fixture
    assert main(["app", "--help"]) == 0
    out = capsys.readouterr().out
    for opt in ("--workspace", "--port", "--headless / --no-headless", "--address"):
        assert opt in out


def test_streamlit_never_waits_on_the_email_prompt(tmp_path: Path) -> None:
    # a non-headless Streamlit asks for an e-mail address on first run: the server always runs headless
    argv = streamlit_argv(tmp_path, 8600, headless=False)
    assert argv[argv.index("--server.headless") + 1] == "true"
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"


def test_remote_address_needs_consent_and_a_token() -> None:
    import pytest

    from app.commands.app_cmd import check_address
    from curation.errors import WinnowError

    assert check_address("127.0.0.1", False) is None
    with pytest.raises(WinnowError, match="add --allow-remote"):
        check_address("0.0.0.0", False)
    t1, t2 = check_address("0.0.0.0", True), check_address("0.0.0.0", True)
    assert t1 and t2 and t1 != t2 and len(t1) >= 20  # a fresh, unguessable token each start


def test_remote_without_allow_remote_exits_2(capsys) -> None:  # noqa: ANN001 - pytest fixture
    assert main(["app", "--address", "0.0.0.0", "--headless"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
