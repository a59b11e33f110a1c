"""mix re-applies rules only: a recipe that changes how a stored signal was computed is refused, not recorded."""

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from curation.mix import mix
from curation.pipeline import curate
from curation.recipe import Recipe, parse_recipe

RECIPE = {
    "batch_size": 8,
    "signals": {"length": {}, "minhash": {"threshold": 0.75}},
    "rules": [
        {"name": "too_short", "signal": "length", "column": "n_words", "min": 3},
        {"name": "near_duplicate", "signal": "minhash", "column": "duplicate", "drop_if": True,
         "kept_id_column": "kept_id"},
    ],
}


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps({"id": f"d{i}", "text": " ".join(f"w{(i * 7 + j) % 97}" for j in range(i % 20))})
                         + "\n" for i in range(40)))
    curate([p], tmp_path / "run", parse_recipe(RECIPE))
    return tmp_path / "run"


def test_changed_signal_setting_is_refused_by_name(run: Path, tmp_path: Path) -> None:
    recorded = (run / "recipe.yaml").read_text()
    changed = parse_recipe({**RECIPE, "signals": {"length": {}, "minhash": {"threshold": 0.95}}})
    with pytest.raises(WinnowError, match=r"signals\.minhash\.threshold.*winnow curate"):
        mix(run, changed, out_dir=tmp_path / "m")
    assert not (tmp_path / "m" / "manifest.json").exists()
    with pytest.raises(WinnowError, match=r"signals\.minhash\.threshold"):
        mix(run, changed)  # in place: the run's recipe stays the one its signals were computed with
    assert (run / "recipe.yaml").read_text() == recorded


def test_rules_only_change_is_applied(run: Path, tmp_path: Path) -> None:
    stricter = parse_recipe({**RECIPE, "rules": [RECIPE["rules"][0] | {"min": 10}, RECIPE["rules"][1]]})
    base = json.loads((run / "manifest.json").read_text())
    m = mix(run, stricter, out_dir=tmp_path / "m")
    assert m["by_rule"]["too_short"] > base["by_rule"].get("too_short", 0)
    assert m["recipe"]["rules"][0]["min"] == 10


def test_settings_left_out_or_at_their_default_mean_as_scored(run: Path, tmp_path: Path) -> None:
    """`{}` (or a setting not named) is "as scored", and naming a default value the run also used is no change:
    the demo's ablation mixes the default recipe (`minhash: {}`) over a run scored with other settings."""
    bare = parse_recipe({**RECIPE, "signals": {"length": {}, "minhash": {}}})
    assert mix(run, bare, out_dir=tmp_path / "m1")["input"] == 40
    from curation.steps import get_step

    default_bands = get_step("minhash").Config().model_dump()["bands"]
    explicit = parse_recipe({**RECIPE, "signals": {"length": {}, "minhash": {"threshold": 0.75,
                                                                             "bands": default_bands}}})
    assert mix(run, explicit, out_dir=tmp_path / "m2")["input"] == 40
    other = parse_recipe({**RECIPE, "signals": {"length": {}, "minhash": {"bands": default_bands // 2}}})
    with pytest.raises(WinnowError, match=r"signals\.minhash\.bands"):
        mix(run, other, out_dir=tmp_path / "m3")


def test_the_default_recipe_mixes_a_run_scored_with_decontaminate(tmp_path: Path) -> None:
    """The demo's shape: `curate --decontaminate BENCH` stores the benchmarks folder among the signal settings,
    and `ablate --scored` then mixes the default recipe (`decontamination: {}`) over that run."""
    from curation.recipe import apply_overrides, load_recipe
    from curation.samples.bench import write_bench
    from curation.samples.corpus import write_sample_corpus
    from curation.steps.decontamination import add_decontamination

    corpus = tmp_path / "corpus.jsonl"
    write_sample_corpus(corpus, 60, seed=0)
    write_bench(tmp_path / "bench", 20, seed=0)
    default = apply_overrides(load_recipe(None), ["signals.pii.ner=off"])
    curate([corpus], tmp_path / "run", add_decontamination(default, tmp_path / "bench"))
    m = mix(tmp_path / "run", default, out_dir=tmp_path / "m")
    assert m["input"] == 60 == m["kept"] + m["removed"] + m["quarantined"] + m.get("skipped", 0)


def test_a_refused_out_gets_no_lock_file(run: Path, tmp_path: Path) -> None:
    """mix --out into someone else's folder is refused before the folder is locked: no .winnow.lock is left."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.md").write_text("mine")
    with pytest.raises(WinnowError, match="is not empty and is not a mix of"):
        mix(run, parse_recipe(RECIPE), out_dir=theirs)
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.md"]


def test_the_mixed_recipe_records_the_settings_the_signals_were_computed_with(tmp_path: Path) -> None:
    """`minhash: {}` mixed over a run scored at threshold 0.95 is recorded with 0.95, not as {} (the default 0.75,
    which the signals were never computed with)."""
    import yaml

    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps({"id": f"d{i}", "text": f"words of document {i} " * 5}) + "\n" for i in range(20)))
    curate([p], tmp_path / "run", parse_recipe({**RECIPE, "signals": {"length": {}, "minhash": {"threshold": 0.95}}}))
    bare = parse_recipe({**RECIPE, "signals": {"length": {}, "minhash": {}}})
    m = mix(tmp_path / "run", bare, out_dir=tmp_path / "m")
    assert m["recipe"]["signals"]["minhash"]["threshold"] == 0.95
    assert yaml.safe_load((tmp_path / "m" / "recipe.yaml").read_text())["signals"]["minhash"]["threshold"] == 0.95


def _fineweb_run(tmp_path: Path, settings: dict) -> Path:
    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps({"id": f"d{i}", "text": f"Words of document {i} in a line.\nAnd a second line "
                                     f"here that ends well.\n{'long ' * (i % 7)}line"}) + "\n" for i in range(12)))
    signals = {"length": {}, "fineweb_quality": settings}
    curate([p], tmp_path / "run", parse_recipe({**RECIPE, "signals": signals, "rules": RECIPE["rules"][:1]}))
    return tmp_path / "run"


def _with_fineweb(settings: dict) -> Recipe:
    signals = {"length": {}, "fineweb_quality": settings}
    return parse_recipe({**RECIPE, "signals": signals, "rules": RECIPE["rules"][:1]})


def test_a_nested_setting_named_in_part_is_compared_as_the_step_reads_it(tmp_path: Path) -> None:
    """`c4: {min_words_per_line: 3}` is the default c4 with that one rule named (pydantic fills in the rest):
    mixing it over a run scored with the default c4 changes nothing, and was refused because the named part
    was compared with the whole default (every other c4 rule 'changed' to nothing)."""
    from curation.steps import get_step

    c4_default = get_step("fineweb_quality").Config().model_dump()["c4"]
    run = _fineweb_run(tmp_path, {})
    same = _with_fineweb({"c4": {"min_words_per_line": c4_default["min_words_per_line"]}})
    assert mix(run, same, out_dir=tmp_path / "m1")["input"] == 12
    changed = _with_fineweb({"c4": {"min_words_per_line": c4_default["min_words_per_line"] + 2}})
    with pytest.raises(WinnowError, match=r"\(signals\.fineweb_quality\.c4\.min_words_per_line\); mix"):
        mix(run, changed, out_dir=tmp_path / "m2")


def test_a_nested_setting_the_run_named_in_part_keeps_its_value_and_defaults(tmp_path: Path) -> None:
    """The run named one c4 rule (max_word_length 500); a recipe naming it and another rule at its default is
    the same setting, and one that leaves max_word_length out means the default 1000 there: a real change."""
    from curation.steps import get_step

    c4_default = get_step("fineweb_quality").Config().model_dump()["c4"]
    assert c4_default["max_word_length"] != 500
    run = _fineweb_run(tmp_path, {"c4": {"max_word_length": 500}})
    same = _with_fineweb({"c4": {"max_word_length": 500, "filter_policy": c4_default["filter_policy"]}})
    m = mix(run, same, out_dir=tmp_path / "m1")
    assert m["input"] == 12 and m["recipe"]["signals"]["fineweb_quality"] == {"c4": {"max_word_length": 500}}
    dropped = _with_fineweb({"c4": {"filter_policy": c4_default["filter_policy"]}})
    with pytest.raises(WinnowError, match=r"\(signals\.fineweb_quality\.c4\.max_word_length\); mix"):
        mix(run, dropped, out_dir=tmp_path / "m2")
    both = _with_fineweb({"c4": {"max_word_length": 500, "filter_policy": not c4_default["filter_policy"]}})
    with pytest.raises(WinnowError, match=r"\(signals\.fineweb_quality\.c4\.filter_policy\); mix"):
        mix(run, both, out_dir=tmp_path / "m3")
