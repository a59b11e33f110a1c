"""The README holds exactly two commands, and CI runs the second verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    head = text.split("\n## ", 2)
    return re.findall(r"```(?:bash|sh)\n(.*?)```", "\n## ".join(head[:2]), flags=re.S)


def test_two_commands_and_ci_runs_the_second() -> None:
    blocks = _blocks()
    assert len(blocks) == 2, blocks
    setup, tests = (b.strip() for b in blocks)
    assert "python3 -m venv .venv" in setup and "winnow demo" in setup
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines(), "the README's test command must appear verbatim in .ci/run"
