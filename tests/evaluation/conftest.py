"""Fixtures for evaluation tests: a tiny local model and a tiny benchmark store in the real schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def arc_rows(split: str, n: int) -> list[dict]:
    return [{"id": f"{split}{i}", "question": f"Which one is number {i} in {split}?",
             "choices": {"text": ["the cat", "the mat", f"number {i}", "water"], "label": ["A", "B", "C", "D"]},
             "answerKey": "ABCD"[i % 4]} for i in range(n)]


def mmlu_subjects() -> list[str]:
    import lm_eval

    d = Path(lm_eval.__file__).parent / "tasks" / "mmlu" / "default"
    return sorted(p.stem.removeprefix("mmlu_") for p in d.glob("mmlu_*.yaml"))


def write_store(root: Path, n: int = 4, mmlu: bool = True) -> Path:
    """ARC, HellaSwag, TruthfulQA (and MMLU: one test and one dev row per subject) in the hub schemas."""
    for folder in ("arc_easy", "arc_challenge"):
        for split in ("test", "validation", "train"):
            write_jsonl(root / folder / f"{split}.jsonl", arc_rows(split, n))
    write_jsonl(root / "hellaswag" / "validation.jsonl", [
        {"ind": i, "activity_label": "Roof shingle removal", "ctx_a": f"A man is sitting on a roof {i}. he",
         "ctx_b": "", "ctx": f"A man is sitting on a roof {i}. he",
         "endings": ["is using wrap.", "is ripping tiles off.", "is holding a cube.", "starts pulling up roofing."],
         "source_id": "", "split": "val", "split_type": "", "label": str(i % 4)} for i in range(n)])
    write_jsonl(root / "truthfulqa_mc" / "validation.jsonl", [
        {"question": f"What happens if you eat seeds {i}?",
         "mc1_targets": {"choices": ["Nothing happens", "You die", "You grow"], "labels": [1, 0, 0]},
         "mc2_targets": {"choices": ["Nothing happens", "They pass through", "You die", "You grow"],
                         "labels": [1, 1, 0, 0]}} for i in range(n)])
    if mmlu:
        for split in ("test", "dev"):
            write_jsonl(root / "mmlu" / f"{split}.jsonl", [
                {"question": f"In {s}, which {split} answer is right?", "subject": s,
                 "choices": ["0", "1", "2", "3"], "answer": (len(s) + (split == "dev")) % 4}
                for s in mmlu_subjects()])
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-layer Llama with a byte-level BPE, built by the training package's helper."""
    from training.tiny import build_tiny_model

    d = tmp_path_factory.mktemp("tiny")
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join(["Question: which one is the number? Answer: the cat sat on the mat.",
                                 "A man is sitting on a roof. he is ripping tiles off.",
                                 "Nothing happens when you eat seeds; they pass through."] * 20), encoding="utf-8")
    return build_tiny_model([corpus], d / "model", vocab_size=400, hidden=32, layers=1, heads=2,
                            max_positions=512)


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("store") / "benchmarks")
