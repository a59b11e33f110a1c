"""The CLI's contract: version, help on every command, one-line errors with exit 2, runs listing."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main, root


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**__import__("os").environ, "WINNOW_NO_BAR": "1"})


def test_version() -> None:
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.startswith("winnow ")


def test_every_command_lists_its_options_with_help() -> None:
    import typer

    cmd = typer.main.get_command(root)
    names = set(cmd.commands)
    assert {"curate", "mix", "data", "model", "train", "eval", "guard", "pii", "classifier", "runs",
            "app", "demo"} <= names

    def walk(c, path):  # noqa: ANN001
        for p in c.params:
            if getattr(p, "param_type_name", "") == "option" and p.name not in ("help",):
                assert p.help, f"{' '.join(path)} --{p.name} has no help text"
        for name, sub in getattr(c, "commands", {}).items():
            walk(sub, [*path, name])

    walk(cmd, ["winnow"])


@pytest.mark.parametrize("args,needle", [
    (["nope"], "No such command"),
    (["runs", "--bogus"], "No such option"),
    (["curate", "/definitely/missing.jsonl", "--out", "x"], "input not found"),
])
def test_errors_are_one_line_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    out = _run(*args, "--workspace", str(tmp_path / "ws")) if args[0] != "nope" else _run(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr


def test_unwritable_workspace(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["runs", "--workspace", str(blocker / "ws")]) == 2


def test_runs_list_and_show(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"text": f"some words in document {i}"}) + "\n" for i in range(5)))
    assert main(["curate", str(corpus), "--out", str(tmp_path / "run"), "--workspace", str(ws)]) == 0
    out = _run("runs", "--workspace", str(ws), "--json")
    runs = json.loads(out.stdout)
    assert runs[0]["kind"] == "curate" and runs[0]["status"] == "done" and runs[0]["metrics"]["input"] == 5
    shown = _run("runs", "show", str(runs[0]["id"]), "--workspace", str(ws))
    assert json.loads(shown.stdout)["out_dir"] == str(tmp_path / "run")


def test_a_command_run_alone_is_the_same_command_as_in_the_whole_app() -> None:
    """`ALONE` commands run with only their module registered: each must exist there with the same options."""
    import typer

    from app.cli import ALONE, build_root

    whole = typer.main.get_command(root).commands
    for name, module in ALONE.items():
        alone = typer.main.get_command(build_root([module])).commands
        assert name in alone, name
        assert [p.name for p in alone[name].params] == [p.name for p in whole[name].params]
