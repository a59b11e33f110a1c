"""`winnow budget`: kept tokens from the manifest or counted with the model's tokenizer; params; epochs."""

import json

import polars as pl
import pytest

from app.cli import main
from curation.budget import budget
from curation.errors import WinnowError

TEXTS = ["the cat sat on the mat", "a dog ran in the park today", "bits per byte on held out text"] * 20


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from training.tiny import build_tiny_model

    d = tmp_path_factory.mktemp("tiny")
    corpus = d / "c.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    return build_tiny_model([corpus], d / "model", vocab_size=300, hidden=32, layers=1, heads=2, seed=0)


def _run(tmp_path, tokens=None):
    run = tmp_path / "cur"
    (run / "kept").mkdir(parents=True)
    pl.DataFrame({"id": [str(i) for i in range(len(TEXTS))], "text": TEXTS}).write_parquet(run / "kept" / "a.parquet")
    (run / "manifest.json").write_text(json.dumps({"kept": len(TEXTS), "tokens": tokens}))
    return run


def test_counts_with_the_model_tokenizer_and_params(tmp_path, tiny):
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    tok = Tokenizer.from_file(str(tiny / "tokenizer.json"))
    expected_tokens = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in TEXTS)
    expected_params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(tiny).parameters())
    b = budget(_run(tmp_path), model=tiny)
    assert (b.kept_tokens, b.source, b.params) == (expected_tokens, "counted", expected_params)
    assert b.tokens_wanted == 20 * expected_params
    assert b.epochs == pytest.approx(20 * expected_params / expected_tokens)
    assert b.optimal_params == expected_tokens // 20


def test_manifest_counts_are_used_and_cli_prints_them(tmp_path, capsys):
    run = _run(tmp_path, tokens={"kept": 4000, "removed": 10, "tokenizer": None})
    assert main(["budget", str(run), "--params", "100"]) == 0
    out = capsys.readouterr().out
    assert "4,000" in out and "2,000" in out and "epochs implied:         0.5" in out  # 20*100 / 4000


def test_bad_input_is_one_clear_line(tmp_path, tiny, capsys):
    run = _run(tmp_path)
    assert main(["budget", str(run), "--params", "1e6"]) == 2
    assert "no token counts" in capsys.readouterr().err
    no_tok = tmp_path / "model-no-tok"
    no_tok.mkdir()
    (no_tok / "config.json").write_text((tiny / "config.json").read_text())
    with pytest.raises(WinnowError, match=r"model-no-tok: no tokenizer.json"):
        budget(run, model=no_tok)
    assert main(["budget", str(run), "--params", "lots"]) == 2
    assert "--params lots: not a number" in capsys.readouterr().err
