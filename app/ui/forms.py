"""Job forms built from what the CLI itself loads, so a new option or config field appears in both.

- `command_fields(words)`: the options and arguments of a `winnow` command (its click parameters, read
  from the Typer app at run time); `command_argv` turns the form's values back into a command line.
- `model_fields(Model)`: the fields of a pydantic config (training's `TrainConfig`); `model_values` parses
  the form into a dict the model validates, written as the YAML the command's `--config` loads.
No Streamlit here: the Jobs page draws the widgets.
"""

from __future__ import annotations

import shlex
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from curation.errors import WinnowError

SKIP_PARAMS = {"workspace", "help", "debug"}  # the app fixes the workspace


class MissingField(WinnowError):
    """A required field is still empty (the form says so quietly, it is not an error yet)."""


@dataclass
class Field:
    """One form field: a name, a label, a kind (text, int, float, bool, tribool, choice, list), its default."""

    name: str
    label: str
    kind: str
    default: Any = None
    required: bool = False
    choices: list[Any] | None = None
    help: str = ""
    flag: str | None = None  # the option's flag (None: a positional argument)
    off_flag: str | None = None  # --no-x of a --x/--no-x option
    multiple: bool = False
    param: Any = None  # the click parameter: its type checks a value as the CLI would (ranges: --workers >= 1)


def find_command(words: list[str]) -> Any | None:
    """The click command of `winnow WORDS`, or None when that command is not built."""
    import typer

    from app.cli import root

    cmd: Any = typer.main.get_command(root)
    for w in words:
        cmd = getattr(cmd, "commands", {}).get(w)
        if cmd is None:
            return None
    return cmd


def param_base_type(p: Any) -> tuple[Any, bool]:
    """(Python type, takes several) of a click/Typer parameter: `list[Path]` -> (Path, True)."""
    from pathlib import Path

    ann = getattr(getattr(p, "type_descriptor", None), "annotation", None)
    if ann is None:  # an older Typer: the click type itself
        ptype = getattr(p, "type", None)
        name = type(ptype).__name__
        ann = {"IntParamType": int, "FloatParamType": float, "BoolParamType": bool, "Path": Path,
               "Choice": str}.get(name, str)
        return ann, bool(getattr(p, "multiple", False)) or getattr(p, "nargs", 1) == -1
    many = False
    while typing.get_origin(ann) in (list, tuple, typing.Union, type(int | None)):
        args = [a for a in typing.get_args(ann) if a is not type(None) and a is not Ellipsis]
        if typing.get_origin(ann) in (list, tuple):
            many = True
        if not args:
            break
        ann = args[0]
    return ann, many or bool(getattr(p, "multiple", False)) or getattr(p, "nargs", 1) == -1


def command_fields(words: list[str]) -> list[Field]:
    """Form fields of `winnow WORDS` from its click parameters."""
    cmd = find_command(words)
    if cmd is None:
        raise WinnowError(f"`winnow {' '.join(words)}` is not built in this installation")
    out = []
    for p in cmd.params:
        if p.name in SKIP_PARAMS or getattr(p, "hidden", False):
            continue
        is_arg = getattr(p, "param_type_name", "") == "argument"
        base, many = param_base_type(p)
        choices = list(getattr(getattr(p, "type", None), "choices", None) or []) or None
        if typing.get_origin(base) is typing.Literal:
            choices = list(typing.get_args(base))
        if getattr(p, "is_flag", False):
            kind = "tribool" if p.secondary_opts and p.default is None else "bool"
        elif choices:
            kind = "choice"
        elif base is int:
            kind = "int"
        elif base is float:
            kind = "float"
        else:
            kind = "list" if many else "text"
        default = p.default if not callable(p.default) else None
        if many and isinstance(default, list | tuple) and not default:
            default = None
        flag = None if is_arg else max(p.opts, key=len)
        out.append(Field(name=p.name, label=p.name.replace("_", " ") + (" *" if p.required else ""), kind=kind,
                         default=default, required=bool(p.required),
                         choices=choices,
                         help=(getattr(p, "help", "") or ""), flag=flag,
                         off_flag=(p.secondary_opts[0] if getattr(p, "secondary_opts", None) else None),
                         multiple=many, param=p))
    return out


def _parse(f: Field, raw: Any) -> Any:
    """A widget value to a Python value (None: not given). Text boxes hold numbers and lists as typed."""
    if f.kind in ("bool", "tribool", "choice"):
        return None if raw in ("(default)", None) else raw
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        if f.kind == "int":
            return int(text)
        if f.kind == "float":
            return float(text)
    except ValueError:
        raise WinnowError(f"{f.name}: {text!r} is not a number") from None
    if f.kind == "list":
        return shlex.split(text)
    return text


MAX_INT = 2**63 - 1  # beyond it no count or size makes sense (and C libraries overflow)


def _check(f: Field, v: Any) -> None:
    """A number the CLI itself would refuse (its option's range, `min=1` of --workers), or one too large for
    any count, as one line before the job is started (the job would start and then fail)."""
    if f.kind not in ("int", "float") or v is None:
        return
    for x in v if isinstance(v, list) else [v]:
        if f.kind == "int" and abs(x) > MAX_INT:
            raise WinnowError(f"{f.name}: {x} is too large")
        if f.kind == "float" and x != x:  # NaN
            raise WinnowError(f"{f.name}: not a number")
        lo, hi = getattr(f.param, "min", None), getattr(f.param, "max", None)  # the option's min=/max=
        if lo is not None and x < lo:
            raise WinnowError(f"{f.name}: {x} is below {lo}, the least `{f.flag or f.name}` takes")
        if hi is not None and x > hi:
            raise WinnowError(f"{f.name}: {x} is above {hi}, the most `{f.flag or f.name}` takes")


def command_argv(words: list[str], fields: list[Field], values: dict[str, Any]) -> list[str]:
    """The command line for these form values; WinnowError names a missing required field or a number out of
    the option's range."""
    argv = list(words)
    for f in fields:
        v = _parse(f, values.get(f.name))
        _check(f, v)
        if v is None or (f.kind == "bool" and v == f.default):
            if f.required:
                raise MissingField(f"fill in: {f.name.replace('_', ' ')}")
            continue
        if f.flag is None:
            argv += [str(x) for x in (v if isinstance(v, list) else [v])]
        elif f.kind in ("bool", "tribool"):
            if v:
                argv.append(f.flag)
            elif f.off_flag:
                argv.append(f.off_flag)
        elif isinstance(v, list):
            for x in v:
                argv += [f.flag, str(x)]
        else:
            argv += [f.flag, str(v)]
    return argv


# -- pydantic configs -------------------------------------------------------------------------------------------
def model_fields(model: type[BaseModel], prefix: str = "") -> list[Field]:
    """Form fields of a pydantic config, nested models flattened as `lora.r`."""
    out = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        full = prefix + name
        origin = typing.get_origin(ann)
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += model_fields(ann, full + ".")
            continue
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if origin is typing.Literal:
            kind, choices = "choice", list(typing.get_args(ann))
        elif ann is bool:
            kind, choices = "bool", None
        elif args and all(a is bool for a in args):
            kind, choices = "tribool", None
        elif ann is int or (args and args[0] is int and len(args) == 1):
            kind, choices = "int", None
        elif ann is float or (args and args[0] is float and len(args) == 1):
            kind, choices = "float", None
        elif origin is list or any(typing.get_origin(a) is list for a in args):
            kind, choices = "list", None
        else:
            kind, choices = "text", None
        out.append(Field(name=full, label=full.replace("_", " ") + (" *" if info.is_required() else ""), kind=kind,
                         default=default, required=info.is_required(), choices=choices,
                         help=info.description or ""))
    return out


def model_values(fields: list[Field], values: dict[str, Any]) -> dict[str, Any]:
    """The form as the nested dict a config YAML holds (fields left blank keep the model's default)."""
    out: dict[str, Any] = {}
    for f in fields:
        v = _parse(f, values.get(f.name))
        if v is None:
            continue
        if f.kind == "list" and f.default is not None and isinstance(f.default, str) and len(v) == 1:
            v = v[0]  # a field that is a list or a string (lora.target_modules: "all-linear")
        node = out
        *parents, leaf = f.name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = v
    return out


def validate(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    missing = [f for f in model.model_fields if model.model_fields[f].is_required() and f not in data]
    if missing:
        raise MissingField("fill in: " + ", ".join(m.replace("_", " ") for m in missing))
    try:
        return model.model_validate(data)
    except ValidationError as e:
        parts = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"])
            parts.append(f"{loc}: {'unknown field' if err['type'] == 'extra_forbidden' else err['msg']}")
        raise WinnowError("; ".join(parts)) from None
