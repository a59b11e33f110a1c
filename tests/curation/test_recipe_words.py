"""Recipe YAML: words that YAML 1.1 reads as booleans (on/off/yes/no) arrive as the words that were written."""

from __future__ import annotations

from pathlib import Path

from curation.recipe import load_recipe


def test_on_off_yes_no_stay_words(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text(
        "signals:\n"
        "  pii: {ner: off}\n"
        "  minhash: {verify: no}\n"
        "  language: {}\n"
        "rules:\n"
        "  - {name: lang, signal: language, column: language, keep_values: [en, no, on]}\n"
        "  - {name: near, signal: minhash, column: duplicate, drop_if: yes}\n",
        encoding="utf-8")
    r = load_recipe(p)
    assert r.signals["pii"]["ner"] == "off"
    assert r.step_config("pii").ner == "off"
    # a bool field still takes the word: pydantic reads "no" as False, "yes" as True
    assert r.step_config("minhash").verify is False
    assert r.rules[0].keep_values == ["en", "no", "on"]  # Norwegian stays "no"
    assert r.rules[1].drop_if is True


def test_true_false_still_booleans(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text("signals:\n  minhash: {verify: false}\n", encoding="utf-8")
    assert load_recipe(p).signals["minhash"]["verify"] is False
