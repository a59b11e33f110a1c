"""mix re-applies rules only: a recipe that changes how a stored signal was computed is refused, not recorded."""

import json
from pathlib import Path

import pytest

from curation.errors import WinnowError
from curation.mix import mix
from curation.pipeline import curate
from curation.recipe import parse_recipe

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
