"""Recipe fragments, one per area; `default_recipe.yaml` is their merge (see `merge_fragments`).

Whole recipes that ship by name (`NAMED`): `default` and `datatrove-compatible` (datatrove's four heuristic
filters with datatrove's definitions, thresholds and order: its decisions exactly). `named_recipe_path`
resolves a name; `load_named` loads one.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

# Fragments in the order their rules apply: cheap, decisive rules first, so `rule` (the first failing
# rule) names the most basic reason a document went.
FRAGMENTS = ["heuristics", "dedup", "models", "pii"]
FIRST_RULES = ["language"]  # language ID first: the heuristics assume English text


NAMED = {"default": "default_recipe.yaml", "datatrove-compatible": "recipes/datatrove_compatible.yaml"}


def named_recipe_path(name: str) -> Path | None:
    """The file of a recipe that ships by name (`datatrove-compatible`, also `datatrove_compatible`), or None."""
    rel = NAMED.get(name) or NAMED.get(name.replace("_", "-"))
    if rel is None:
        return None
    return Path(str(resources.files("curation").joinpath(rel)))


def load_named(name: str) -> Any:
    """A shipped recipe by name (a `curation.recipe.Recipe`); an unknown name is a WinnowError listing them."""
    from curation.errors import WinnowError
    from curation.recipe import load_recipe

    path = named_recipe_path(name)
    if path is None:
        raise WinnowError(f"no recipe named {name!r}; shipped recipes: {', '.join(NAMED)}")
    return load_recipe(path)


def load_fragment(name: str) -> dict[str, Any]:
    return yaml.safe_load(resources.files("curation.recipes").joinpath(f"{name}.yaml").read_text("utf-8"))


def merge_fragments(names: list[str] | None = None) -> dict[str, Any]:
    """One recipe dict from the fragments: signals, optional and transforms merged, rules concatenated."""
    out: dict[str, Any] = {"name": "default", "batch_size": 2000, "signals": {}, "optional": [], "rules": [],
                           "transforms": {}}
    for name in names or FRAGMENTS:
        frag = load_fragment(name)
        out["signals"].update(frag.get("signals") or {})
        out["optional"] += [o for o in frag.get("optional") or [] if o not in out["optional"]]
        out["rules"] += frag.get("rules") or []
        out["transforms"].update(frag.get("transforms") or {})
    first = [r for r in out["rules"] if r["name"] in FIRST_RULES]
    out["rules"] = first + [r for r in out["rules"] if r["name"] not in FIRST_RULES]
    return out

