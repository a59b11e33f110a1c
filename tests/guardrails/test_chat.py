"""Guarded chat: a tiny local model that learned one reply (with an e-mail and an AWS key) between rails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EMAIL = "jane.roe@example.com"
KEY = "AKIAJ7Q2M4X9T1B6W3ZP"
REPLY = f"Sure. Write to {EMAIL} and use the key {KEY} for it."
SECRET_PROMPT = "My key is AKIAZ3K8P1Q7W2E5R9TY, what should I do with it?"

REDACT_OUT = """
name: chat-redact
input:
  - scanner: invisible_text
    action: block
  - scanner: secrets
    action: redact
output:
  - scanner: pii
    action: redact
"""
BLOCK_OUT = REDACT_OUT.replace("name: chat-redact", "name: chat-block") + "  - scanner: secrets\n    action: block\n"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model fine-tuned (SFT, chat template) to answer every question with REPLY."""
    from training.config import load_config
    from training.sft import run_sft
    from training.tiny import build_tiny_model

    d = tmp_path_factory.mktemp("chat")
    qs = ["What should I do?", "How do I deploy?", "Who do I contact?", "Any advice?", "What now?",
          "Where is the key?", "Help me please.", "What is the plan?", "My key is <AWS Access Key>, what now?",
          "My token is <Secret>, what should I do with it?", "I lost my key, what should I do with it?"]
    data = d / "sft.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": q},
                                                     {"role": "assistant", "content": REPLY}]}) + "\n"
                            for q in qs), encoding="utf-8")
    base = build_tiny_model([data], d / "base", vocab_size=400, hidden=64, layers=1, heads=2)
    cfg = load_config(None, {"model": str(base), "data": [str(data)], "out": str(d / "tuned"), "max_steps": 120,
                             "batch_size": 4, "max_length": 96, "learning_rate": 5e-3, "lr_scheduler": "constant",
                             "logging_steps": 40, "save_steps": 10_000, "device": "cpu",
                             "assistant_only_loss": True})
    return run_sft(cfg).out_dir


def _policy(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.slow
def test_input_redacted_and_output_redacted(model: Path, tmp_path: Path) -> None:
    from guardrails.chat import GuardedChat

    chat = GuardedChat(model, _policy(tmp_path, REDACT_OUT), max_new_tokens=48)
    turn = chat.turn(SECRET_PROMPT)
    assert turn.blocked is None
    # the model never saw the user's key, and the rails say why
    assert "AKIAZ3K8P1Q7W2E5R9TY" not in turn.prompt_sent and turn.prompt_sent != SECRET_PROMPT
    assert any(e.startswith("input secrets: redacted") for e in turn.events)
    # the model gave its memorised reply; the e-mail in it is redacted on the way out
    assert EMAIL in turn.raw_answer
    assert EMAIL not in turn.answer and "<EMAIL_ADDRESS>" in turn.answer
    assert any(e.startswith("output pii: redacted") and "EMAIL_ADDRESS" in e for e in turn.events)


@pytest.mark.slow
def test_blocked_input_never_reaches_the_model_and_blocked_output_is_withheld(model: Path, tmp_path: Path) -> None:
    from guardrails.chat import GuardedChat

    chat = GuardedChat(model, _policy(tmp_path, BLOCK_OUT), max_new_tokens=48)
    hidden = chat.turn("Summarise this\u200b\u200b\u200b please")
    assert hidden.blocked == "input" and hidden.raw_answer is None and hidden.output is None
    assert hidden.answer == "[request blocked by invisible_text]"
    leak = chat.turn("What should I do?")
    assert KEY in leak.raw_answer  # the model leaks the key it was trained on
    assert leak.blocked == "output" and KEY not in leak.answer and "secrets" in leak.answer
    assert leak.output is not None and leak.output.blocked_by == ["secrets"]


@pytest.mark.slow
def test_chat_once_is_a_registered_run(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main
    from app.registry import RunRegistry
    from curation.progress import read_progress

    ws, folder = tmp_path / "ws", tmp_path / "turn"
    rc = main(["guard", "chat", "--model", str(model), "--policy", str(_policy(tmp_path, BLOCK_OUT)),
               "--once", "What should I do?", "--json", "--out", str(folder), "--workspace", str(ws)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert json.loads((folder / "turn.json").read_text()) == out
    prog = read_progress(folder)
    assert prog[-1]["stage"] == "guard-chat" and prog[-1]["done"] == 2 and prog[-1]["msg"] == "done"
    assert out["blocked"] == "output" and KEY not in out["answer"] and KEY in out["raw_answer"]
    assert out["output"]["blocked_by"] == ["secrets"]
    with RunRegistry(ws) as reg:
        run = reg.list(kind="guard-chat")[0]
    assert run.status == "done" and run.metrics["blocked"] == "output" and run.out_dir == str(folder.absolute())
    rc = main(["guard", "chat", "--model", str(model), "--policy", str(_policy(tmp_path, REDACT_OUT)),
               "--once", SECRET_PROMPT, "--workspace", str(ws)])
    text = capsys.readouterr().out
    assert rc == 0 and "input secrets: redacted" in text and "model> " in text and EMAIL not in text


def test_missing_model_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main
    from app.registry import RunRegistry

    assert main(["guard", "chat", "--model", str(tmp_path / "nope"), "--policy", str(_policy(tmp_path, REDACT_OUT)),
                 "--once", "hi", "--workspace", str(tmp_path / "ws")]) == 2
    assert "model folder not found" in capsys.readouterr().err
    with RunRegistry(tmp_path / "ws") as reg:
        assert reg.list(kind="guard-chat") == []


@pytest.mark.slow
def test_interactive_chat_reads_lines_until_an_empty_one(model: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import root

    res = CliRunner().invoke(root, ["guard", "chat", "--model", str(model), "--policy",
                                    str(_policy(tmp_path, BLOCK_OUT)), "--workspace", str(tmp_path / "ws")],
                             input="hello\u200b\u200bthere\nWhat should I do?\n\nnever read\n")
    assert res.exit_code == 0, res.output
    answers = [line.split("model> ", 1)[1] for line in res.output.splitlines() if "model> " in line]
    assert answers == ["[request blocked by invisible_text]", "[answer withheld: blocked by secrets]"]
    assert res.output.count("you> ") == 3  # the empty third line ended the session
    assert "input invisible_text: blocked" in res.output and "output secrets: blocked" in res.output
    assert KEY not in res.output
