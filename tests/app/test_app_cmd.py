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
