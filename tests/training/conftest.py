"""Small fixtures for the training tests: chat/preference data and one tiny model built per session."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest


def train_config(model: Path, data: Path, out: Path, **kw: object):
    """A TrainConfig for a few steps of the tiny model on `data` (the SFT tests' defaults; `kw` overrides)."""
    from training.config import load_config

    base = {"model": str(model), "data": [str(data)], "out": str(out), "max_steps": 4, "batch_size": 4,
            "logging_steps": 1, "save_steps": 2, "max_length": 64}
    return load_config(None, {**base, **kw})


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def sft_records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(1, 40), rng.randint(1, 40)
        out.append({"messages": [{"role": "user", "content": f"What is {a} plus {b}?"},
                                 {"role": "assistant", "content": f"{a} plus {b} is {a + b}."}]})
    return out


def dpo_records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(1, 40), rng.randint(1, 40)
        out.append({"prompt": [{"role": "user", "content": f"What is {a} plus {b}?"}],
                    "chosen": [{"role": "assistant", "content": f"{a} plus {b} is {a + b}."}],
                    "rejected": [{"role": "assistant", "content": "No idea, work it out yourself."}]})
    return out


@pytest.fixture(scope="session")
def sft_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("sftdata") / "sft.jsonl", sft_records(64))


@pytest.fixture(scope="session")
def dpo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("dpodata") / "dpo.jsonl", dpo_records(48))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, sft_file: Path, dpo_file: Path) -> Path:
    from training.tiny import build_tiny_model

    return build_tiny_model([sft_file, dpo_file], tmp_path_factory.mktemp("tiny") / "model", vocab_size=400,
                            hidden=64, layers=1, heads=2)
