"""Recipes: the shipped default loads; typos are errors that name the field."""

from pathlib import Path

import pytest

from curation.errors import WinnowError
from curation.recipe import load_recipe


def test_default_recipe_loads() -> None:
    r = load_recipe()
    assert r.signals and r.rules


@pytest.mark.parametrize("text,match", [
    ("signals: {length: {}}\nrulez: []\n", "rulez: unknown field"),
    ("signals: {lenght: {}}\n", "unknown signal step 'lenght'"),
    ("signals: {length: {}}\nrules: [{name: a, signal: length, column: n_words, minn: 3}]\n", "minn"),
    ("signals: {length: {}}\nrules: [{name: a, signal: other, column: n_words, min: 3}]\n", "does not compute"),
    ("signals: {length: {}}\nrules: [{name: a, signal: length, column: n_words}]\n", "exactly one condition"),
    ("[1, 2]\n", "mapping"),
    ("", "the recipe is empty"),
    ("# only a comment\n", "the recipe is empty"),
    ("signals: {length: {}}\nrules: [{name: a, signal: length, column: n_words, min: 50, max: 10}]\n",
     "min 50 is above max 10"),
])
def test_recipe_errors_name_the_problem(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "r.yaml"
    p.write_text(text)
    with pytest.raises(WinnowError, match=match):
        load_recipe(p)


def test_missing_recipe_file(tmp_path: Path) -> None:
    with pytest.raises(WinnowError, match="not found"):
        load_recipe(tmp_path / "none.yaml")


def test_set_overrides_fields_and_rules_by_name() -> None:
    from curation.recipe import apply_overrides, parse_recipe

    r = parse_recipe({"signals": {"length": {}},
                      "rules": [{"name": "length.min_words", "signal": "length", "column": "n_words", "min": 5}]})
    r2 = apply_overrides(r, ["batch_size=10", "rules.length.min_words.min=20"])
    assert r2.batch_size == 10 and r2.rules[0].min == 20
    assert apply_overrides(r, ["name=off"]).name == "off"  # not YAML 1.1's boolean
    with pytest.raises(WinnowError, match="no rule"):
        apply_overrides(r, ["rules.nope.min=1"])
    with pytest.raises(WinnowError, match="batch_sise: unknown field"):
        apply_overrides(r, ["batch_sise=3"])


def test_default_recipe_is_the_merge_of_the_fragments() -> None:
    from curation.recipes import merge_fragments

    r = load_recipe()
    assert r.model_dump(mode="json", exclude_none=True) == load_recipe.__globals__["parse_recipe"](
        merge_fragments()).model_dump(mode="json", exclude_none=True), \
        "regenerate: python -m curation.recipes > curation/default_recipe.yaml"
    assert r.rules[0].name == "language"


def test_a_shipped_recipe_loads_by_name_and_an_unknown_name_lists_them(tmp_path) -> None:
    from curation.recipe import load_recipe

    r = load_recipe("datatrove-compatible")
    assert r.rules and {x.signal for x in r.rules} >= {"gopher_quality", "c4_quality"}
    with pytest.raises(WinnowError, match=r"recipe file not found: .*nope.*shipped recipes by name: .*datatrove"):
        load_recipe(tmp_path / "nope")


def test_nested_settings_model_is_a_model_held_itself_not_inside_a_container() -> None:
    from pydantic import BaseModel

    from curation.recipe import nested_settings_model

    class Inner(BaseModel):
        x: int = 1

    assert nested_settings_model(Inner) is Inner
    assert nested_settings_model(Inner | None) is Inner
    assert nested_settings_model(list[Inner]) is None  # a container is replaced whole
    assert nested_settings_model(dict[str, Inner]) is None
    assert nested_settings_model(int) is None
