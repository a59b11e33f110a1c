"""A recipe: which signals to compute, and the rules that decide what is kept.

YAML loads into `Recipe` (extra="forbid": a typo is an error that names the field). Rules run in recipe
order; a document is removed by the first rule it fails (`rule`), and every rule it fails is listed
(`rules`). A rule whose column is null for a document does not fire on it.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curation.errors import WinnowError
from curation.recipe_file import read_recipe_data


def nested_settings_model(annotation: Any) -> type[BaseModel] | None:  # noqa: ANN401 - any type annotation
    """The settings model a config field holds itself (`C4QualityConfig`, also as `C4QualityConfig | None`),
    else None. A model inside a container (`list[M]`, `dict[str, M]`) does not count: the container is
    replaced whole by what a config gives, while a nested model keeps its defaults for the fields not given."""
    from typing import get_args, get_origin

    if get_origin(annotation) in (list, dict, set, tuple):
        return None
    for t in (annotation, *get_args(annotation)):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


class Rule(BaseModel):
    """One keep/drop rule over one signal column."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="rule name reported in removed.parquet")
    signal: str = Field(description="signal step whose output holds the column")
    column: str = Field(description="column of signals/<signal>/ the rule reads")
    min: float | None = Field(None, description="drop when value < min")
    max: float | None = Field(None, description="drop when value > max")
    drop_if: bool | None = Field(None, description="boolean column: drop when it equals this")
    keep_values: list[str] | None = Field(None, description="categorical column: drop when not among these")
    drop_values: list[str] | None = Field(None, description="categorical column: drop when among these")
    value_column: str | None = Field(None, description="number reported as `value` (default: column)")
    detail_column: str | None = Field(None, description="text reported as `detail`")
    kept_id_column: str | None = Field(None, description="id of the copy kept instead (duplicates)")

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        conds = [self.min is not None or self.max is not None, self.drop_if is not None,
                 self.keep_values is not None, self.drop_values is not None]
        if sum(conds) != 1:
            raise ValueError(f"rule {self.name!r} needs exactly one condition: min/max, drop_if, "
                             "keep_values or drop_values")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"rule {self.name!r}: min {self.min:g} is above max {self.max:g}, so it would remove "
                             "every document that has a value")
        return self


class Recipe(BaseModel):
    """Signals to compute and rules to apply; the default ships as `curation/default_recipe.yaml`."""

    model_config = ConfigDict(extra="forbid")

    name: str = "custom"
    batch_size: int = Field(2000, ge=1, description="documents scored per batch")
    signals: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                               description="step name -> its parameters")
    optional: list[str] = Field(default_factory=list,
                                description="signals skipped with a note (not an error) when they cannot run")
    rules: list[Rule] = Field(default_factory=list)
    transforms: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                  description="applied to kept text in mix (e.g. pii_scrub)")
    tokenizer: str | None = Field(None, description="local tokenizer.json for token counts in the manifest")
    search_index: Literal["auto", "always", "never"] = Field(
        "auto", description="write the app's full-text search index in mix (auto: runs of 300,000+ documents)")

    @model_validator(mode="after")
    def _check_refs(self) -> Recipe:
        from curation.steps import get_step

        for name, params in self.signals.items():
            cls = get_step(name)
            try:
                cls.Config(**(params or {}))
            except ValidationError as e:
                raise ValueError(f"signals.{name}: {_pretty(e)}") from None
        for opt in self.optional:
            if opt not in self.signals:
                raise ValueError(f"optional lists {opt!r}, which is not in signals")
        seen: set[str] = set()
        declared: dict[str, list[str] | None] = {}
        for r in self.rules:
            if r.signal not in self.signals:
                raise ValueError(f"rule {r.name!r} reads signal {r.signal!r}, which the recipe does not compute")
            if r.name in seen:
                raise ValueError(f"two rules are named {r.name!r}")
            seen.add(r.name)
            if r.signal not in declared:
                declared[r.signal] = get_step(r.signal)(self.step_config(r.signal)).output_columns()
            cols = declared[r.signal]
            if cols is None:  # a step that does not declare its columns: checked on the first scored batch
                continue
            for what in ("column", "value_column", "detail_column", "kept_id_column"):
                c = getattr(r, what)
                if c is not None and c not in cols:
                    close = difflib.get_close_matches(c, cols, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else f" (its columns: {', '.join(cols)})"
                    raise ValueError(f"rule {r.name!r}: signal {r.signal!r} has no column {c!r}{hint}")
        if self.transforms:
            from curation.transforms import get_transform

            for tname, params in self.transforms.items():
                fn = get_transform(tname)
                model = getattr(fn, "Config", None)  # a transform may declare its parameters as a pydantic model
                if model is not None:
                    try:
                        model(**(params or {}))
                    except ValidationError as e:
                        raise ValueError(f"transforms.{tname}: {_pretty(e)}") from None
        return self

    def rule_columns(self) -> dict[str, set[str]]:
        """Signal step -> the columns its rules read (checked against the first scored batch)."""
        out: dict[str, set[str]] = {}
        for r in self.rules:
            out.setdefault(r.signal, set()).update(
                c for c in (r.column, r.value_column, r.detail_column, r.kept_id_column) if c)
        return out

    def step_config(self, name: str) -> Any:
        from curation.steps import get_step

        return get_step(name).Config(**(self.signals.get(name) or {}))

    def to_yaml(self) -> str:
        return yaml.dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False,
                         Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def _pretty(e: ValidationError, data: dict[str, Any] | None = None) -> str:
    """Pydantic's errors in one line, with rules named by their name (`rules[c4_quality.min_sentences].min`),
    not by their position in the list."""
    rules = (data or {}).get("rules") if isinstance(data, dict) else None
    parts = []
    for err in e.errors():
        loc_parts = [str(x) for x in err["loc"]]
        if len(loc_parts) >= 2 and loc_parts[0] == "rules" and isinstance(err["loc"][1], int) \
                and isinstance(rules, list) and err["loc"][1] < len(rules) and isinstance(rules[err["loc"][1]], dict):
            name = rules[err["loc"][1]].get("name")
            loc_parts[:2] = [f"rules[{name if name else '#' + str(err['loc'][1] + 1)}]"]
        loc = ".".join(loc_parts)
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_recipe(data: dict[str, Any], source: str = "<recipe>") -> Recipe:
    try:
        return Recipe(**data)
    except ValidationError as e:
        raise WinnowError(f"{source}: {_pretty(e, data)}") from None


def load_recipe(path: str | Path | None = None) -> Recipe:
    """Load a recipe file, or the default recipe that ships with the package when `path` is None."""
    data, source = read_recipe_data(path)
    return parse_recipe(data, source)


def apply_overrides(recipe: Recipe, overrides: list[str]) -> Recipe:
    """Apply `--set KEY=VALUE` flags, then validate again.

    KEY is a dotted path into the recipe (`batch_size`, `signals.minhash.num_perm`) or `rules.NAME.FIELD`
    to change one rule by name (`rules.length.min_words.min=20`); VALUE is parsed as YAML (`20`, `true`,
    `[en, fr]`).
    """
    if not overrides:
        return recipe
    data = recipe.model_dump(mode="json", exclude_none=True)
    rule_names = [r["name"] for r in data.get("rules", [])]
    for item in overrides:
        if "=" not in item:
            raise WinnowError(f"--set {item!r}: expected KEY=VALUE")
        key, raw = item.split("=", 1)
        # YAML 1.1 reads on/off/yes/no as booleans; on a command line they are words (ner=off)
        value = raw if raw.strip().lower() in {"on", "off", "yes", "no", "y", "n"} else yaml.safe_load(raw)
        if key.startswith("rules."):
            rest = key[len("rules."):]
            name = next((n for n in sorted(rule_names, key=len, reverse=True) if rest.startswith(n + ".")), None)
            if name is None and rest in rule_names:
                fields = ", ".join(f for f in Rule.model_fields if f not in ("name", "signal"))
                raise WinnowError(f"--set {key}={raw}: name the field of rule {rest!r} to change, as "
                                  f"rules.{rest}.FIELD=VALUE (fields: {fields})")
            if name is None:
                raise WinnowError(f"--set {key}: no rule of that name (rules: {', '.join(rule_names)})")
            field = rest[len(name) + 1:]
            data["rules"][rule_names.index(name)][field] = value
            continue
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise WinnowError(f"--set {key}: {part!r} is not a mapping")
        node[parts[-1]] = value
    return parse_recipe(data, "--set")
