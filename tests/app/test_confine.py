"""Paths typed into the app, passed in its URL or handed to a job are confined to the allowed folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui.confine import Allowed, confine_argv
from curation.errors import WinnowError


def test_relative_paths_resolve_in_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    allowed = Allowed.make(ws)
    assert allowed.resolve("runs/r1") == ws.resolve() / "runs" / "r1"
    with pytest.raises(WinnowError, match="outside the folders this app may open"):
        allowed.resolve("../elsewhere")
    with pytest.raises(WinnowError, match="outside"):
        allowed.resolve("/etc/passwd")


def test_symlink_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "escape").symlink_to("/etc")
    with pytest.raises(WinnowError, match="outside"):
        Allowed.make(ws).resolve("escape/passwd")


def test_allowed_folders_add_to_the_workspace(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    ws.mkdir()
    data.mkdir()
    allowed = Allowed.make(ws, [data])
    assert allowed.resolve(data / "c.jsonl") == data.resolve() / "c.jsonl"


def test_command_line_paths_made_absolute_in_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    allowed = Allowed.make(ws)
    w = str(ws.resolve())
    # curate's inputs and --out may be object-store URLs (str): checked, kept as typed (the job runs in the
    # workspace, so relative paths land there)
    assert confine_argv(["curate", "data/c.jsonl", "--out", "runs/r", "--set", "rules.x.min=3"], allowed) == [
        "curate", "data/c.jsonl", "--out", "runs/r", "--set", "rules.x.min=3"]
    assert confine_argv(["curate", "s3://bucket/c/", "--out", "s3://bucket/r"], allowed)[1] == "s3://bucket/c/"
    with pytest.raises(WinnowError, match="outside"):
        confine_argv(["curate", "file:///etc/passwd", "--out", "r"], allowed)
    with pytest.raises(WinnowError, match="outside"):
        confine_argv(["curate", "../../etc", "--out", "r"], allowed)
    # since `mix` runs on object stores too (59fbaff), its run folder and --out are typed like curate's: kept as
    # typed (relative ones land in the workspace, where the job runs), and an escape is still refused
    assert confine_argv(["mix", "runs/r", "--out=runs/r2"], allowed) == ["mix", "runs/r", "--out=runs/r2"]
    with pytest.raises(WinnowError, match="outside"):
        confine_argv(["mix", "runs/r", "--out=../../elsewhere/r2"], allowed)
    with pytest.raises(WinnowError, match="outside"):
        confine_argv(["mix", "/etc/r", "--out=runs/r2"], allowed)
    # a str option that may be a hub id stays as typed, but may not escape
    assert confine_argv(["eval", "run", "--model", "org/model", "--out", "e"], allowed)[3:] == [
        "org/model", "--out", f"{w}/e"]  # a path-typed option is made absolute in the workspace
    with pytest.raises(WinnowError, match="outside"):
        confine_argv(["eval", "run", "--model", "/etc/x", "--out", "e"], allowed)
    with pytest.raises(WinnowError, match="outside"):
        confine_argv(["curate", "/etc/passwd", "--out", "r"], allowed)
    with pytest.raises(WinnowError, match="unknown winnow command"):
        confine_argv(["rm", "-rf", "/"], allowed)
