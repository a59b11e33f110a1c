"""A recipe file's raw fields: found by path or by a shipped recipe's name, and read as YAML, nothing more.

Light on purpose (no pydantic, no Polars): `winnow curate` reads the signal names from here to start its
workers' server before it validates the recipe (`curation.recipe` does that, from the same data).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from curation.errors import WinnowError
from curation.utf8 import decode_utf8


class _WordsLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when installed
    """YAML's safe loader, except that only true/false are booleans: YAML 1.1 also reads on/off/yes/no/y/n
    as booleans, so `ner: off` would arrive as False; here it stays the word "off" (a bool field still
    accepts "yes"/"off": pydantic parses those words)."""


_WordsLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_WordsLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))


def _read_utf8(p: Path) -> str:
    """A recipe file's text, or one line naming the file, line and byte that is not UTF-8 (or why it cannot be
    read), instead of a traceback."""
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise WinnowError(f"recipe file {p}: cannot be read ({e.strerror or e})") from None
    return decode_utf8(raw, p, "recipe")


def read_recipe_data(path: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """The fields of a recipe file (the default recipe when `path` is None, or a shipped recipe's name) and
    where they came from, for error messages."""
    if path is None:
        text = resources.files("curation").joinpath("default_recipe.yaml").read_text(encoding="utf-8")
        source = "default recipe"
    else:
        p = Path(path)
        if not p.is_file():
            from curation.recipes import NAMED, named_recipe_path

            named = named_recipe_path(str(path)) if p.suffix not in (".yaml", ".yml") else None
            if named is None:
                raise WinnowError(f"recipe file not found: {p} (shipped recipes by name: {', '.join(NAMED)})")
            p = named
        text = _read_utf8(p)
        source = str(p)
    try:
        data = yaml.load(text, Loader=_WordsLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise WinnowError(f"{source}: not valid YAML: {e}") from None
    if data is None:  # an empty file (or only comments) would run no signal and no rule and keep everything
        raise WinnowError(f"{source}: the recipe is empty; give its signals and rules (a recipe that keeps "
                          "everything says so: `rules: []`)")
    if not isinstance(data, dict):
        raise WinnowError(f"{source}: a recipe is a mapping of fields, got {type(data).__name__}")
    return data, source
