"""The Jobs page's command forms check numbers against the CLI option's own range before a job starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui import forms
from tests.app.apptest import open_page


def _workers_min() -> int:
    """`--workers`'s least value as the curate command declares it (typer.Option(min=...))."""
    cmd = forms.find_command(["curate"])
    return next(p for p in cmd.params if p.name == "workers").min


@pytest.mark.parametrize("workers", ["-1", "0", "99999999999999999999"])
def test_curate_form_refuses_workers_out_of_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  workers: str) -> None:
    assert _workers_min() == 1
    at = open_page(tmp_path / "ws", "Jobs", monkeypatch, query={"job": "curate"}, check=False)
    at.text_input(key="job|curate|inputs").set_value("data/x.jsonl").run()
    at.text_input(key="job|curate|workers").set_value("2").run()
    assert any("--workers 2" in c.value for c in at.code) and not at.button(key="jobs_start").disabled
    at.text_input(key="job|curate|workers").set_value(workers).run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert len(shown) == 1 and shown[0].startswith(f"workers: {workers} is "), shown
    assert not any("--workers" in c.value for c in at.code)  # no command line to run
    assert at.button(key="jobs_start").disabled


def test_train_forms_show_only_their_trainers_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(tmp_path / "ws", "Jobs", monkeypatch, query={"job": "train sft"}, check=False)

    def keys(job: str) -> set[str]:
        prefix = f"job|{job}|"
        return {w.key[len(prefix):] for w in [*at.text_input, *at.selectbox, *at.checkbox]
                if isinstance(w.key, str) and w.key.startswith(prefix)}

    sft = keys("train sft")
    assert {"model", "data", "max_steps", "packing", "assistant_only_loss"} <= sft
    assert not {"beta", "loss_type", "chat_template"} & sft  # DPO's alone
    at.selectbox(key="jobs_form").set_value("train dpo").run()
    dpo = keys("train dpo")
    assert {"model", "data", "beta", "loss_type", "chat_template"} <= dpo
    assert not {"packing", "assistant_only_loss"} & dpo
