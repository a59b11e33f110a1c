"""Score a frame with the heuristic steps and apply a recipe's rules in memory (tests, benchmark).

`mix` applies rules to stored signals; this is the same rule semantics (value < min, value > max,
value == drop_if; a null value never fires) without a run folder, so the benchmark and the tests can
compare keep/drop decisions with datatrove document by document.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import polars as pl

from curation.recipe import Recipe, Rule, parse_recipe

STEP_ORDER = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


def heuristics_recipe() -> Recipe:
    """The shipped `datatrove-compatible` recipe (`curation/recipes/datatrove_compatible.yaml`: datatrove's
    definitions, default thresholds and chain order; the default recipe's heuristics differ on purpose)."""
    import yaml

    text = resources.files("curation").joinpath("recipes/datatrove_compatible.yaml").read_text(encoding="utf-8")
    return parse_recipe(yaml.safe_load(text), "curation/recipes/datatrove_compatible.yaml")


def score_all(batch: pl.DataFrame, recipe: Recipe) -> dict[str, pl.DataFrame]:
    """Each heuristic step of the recipe on `batch` (`id`, `text`), in datatrove's chain order."""
    from curation.steps import get_step

    out = {}
    for name in STEP_ORDER:
        if name in recipe.signals:
            step = get_step(name)(recipe.step_config(name))
            step.setup()
            out[name] = step.score(batch)
    return out


def rule_fires(rule: Rule, frame: pl.DataFrame) -> np.ndarray:
    """Boolean per row: does this rule drop the document?"""
    x = frame[rule.column]
    fires = pl.Series(np.zeros(len(x), dtype=bool))
    if rule.drop_if is not None:
        fires = x == rule.drop_if
    else:
        if rule.min is not None:
            fires = fires | (x < rule.min)
        if rule.max is not None:
            fires = fires | (x > rule.max)
    return fires.fill_null(False).to_numpy().astype(bool)


def decisions(signals: dict[str, pl.DataFrame], recipe: Recipe) -> dict[str, np.ndarray]:
    """Per step: True where the document passes all of that step's rules; plus "all" (no rule fires)."""
    n = next(iter(signals.values())).height
    out = {name: np.ones(n, dtype=bool) for name in signals}
    for r in recipe.rules:
        if r.signal in signals:
            out[r.signal] &= ~rule_fires(r, signals[r.signal])
    out["all"] = np.logical_and.reduce([out[k] for k in signals]) if signals else np.ones(n, dtype=bool)
    return out


def first_failing(signals: dict[str, pl.DataFrame], recipe: Recipe, row: int,
                  signal: str | None = None) -> tuple[str, float | None] | None:
    """(rule name, value) of the first rule that drops document `row` (optionally of one step only)."""
    for r in recipe.rules:
        if r.signal not in signals or (signal is not None and r.signal != signal):
            continue
        frame = signals[r.signal]
        if rule_fires(r, frame[row:row + 1])[0]:
            v = frame[r.column][row]
            return r.name, (float(v) if v is not None else None)
    return None
