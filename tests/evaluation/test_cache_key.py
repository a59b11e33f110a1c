"""The request cache and the fingerprint know a model by its files' content: a tokenizer rebuilt in the same
folder (the weights unchanged) is a different model, never served the old model's responses."""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.runner import EvalConfig, run_eval


def _corpus(path: Path, seed: int) -> Path:
    """Text with many distinct words, so either tokenizer fills the whole vocabulary (equal embedding sizes)."""
    import random

    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8))) for _ in range(400)]
    lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(400)]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _loglikelihoods(out: Path, rep: dict) -> list:
    rows = [json.loads(x) for x in (out / rep["files"]["samples"]["arc_easy"]).read_text().splitlines()]
    return [r["filtered_resps"] for r in sorted(rows, key=lambda r: r["doc_id"])]


def test_a_rebuilt_tokenizer_misses_the_cache(tiny_store: Path, tmp_path: Path) -> None:
    from training.tiny import build_tiny_model

    folder = tmp_path / "model"
    a, b = _corpus(tmp_path / "a.txt", 1), _corpus(tmp_path / "b.txt", 2)
    kw = dict(vocab_size=300, hidden=32, layers=1, heads=2, max_positions=512, seed=0)
    build_tiny_model([a], folder, **kw)
    cache = tmp_path / "cache"
    cfg = dict(data_dir=tiny_store, cache_dir=cache, benchmarks=["arc_easy"], device="cpu")
    first = run_eval(EvalConfig(model=str(folder), out=tmp_path / "r1", **cfg))
    tok_a = (folder / "tokenizer.json").read_bytes()
    build_tiny_model([b], folder, **kw)  # same folder, same seed and sizes: only the tokenizer differs
    assert (folder / "tokenizer.json").read_bytes() != tok_a
    second = run_eval(EvalConfig(model=str(folder), out=tmp_path / "r2", **cfg))
    fresh = run_eval(EvalConfig(model=str(folder), out=tmp_path / "r3", use_cache=False, **cfg))
    m1, m2 = first["fingerprint"]["model"], second["fingerprint"]["model"]
    assert m1["weights_sha256"] == m2["weights_sha256"]  # the weights alone cannot tell the two apart
    assert m1["model_files_sha256"] != m2["model_files_sha256"]
    assert _loglikelihoods(tmp_path / "r2", second) == _loglikelihoods(tmp_path / "r3", fresh)
    assert _loglikelihoods(tmp_path / "r2", second) != _loglikelihoods(tmp_path / "r1", first)
    assert len(list((cache / "requests").glob("*.db"))) == 2
