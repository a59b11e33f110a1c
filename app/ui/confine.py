"""Which folders the app may open: the workspace and the folders given with `winnow app --allow DIR`.

Every path typed into the app, passed in its URL, or handed to a job it launches goes through
`Allowed.resolve`: relative paths resolve in the workspace (never in the server's folder), symlinks are
followed, and anything that lands outside the allowed folders is refused with one clear line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from curation.errors import WinnowError

ALLOW_ENV = "WINNOW_ALLOW"  # os.pathsep-joined extra folders, set by `winnow app --allow`
TOKEN_ENV = "WINNOW_APP_TOKEN"  # the access token `winnow app --allow-remote` prints and requires


@dataclass(frozen=True)
class Allowed:
    """The workspace plus extra allowed folders (all absolute, symlinks resolved)."""

    workspace: Path
    extra: tuple[Path, ...] = ()

    @classmethod
    def make(cls, workspace: str | Path, extra: Iterable[str | Path] = ()) -> Allowed:
        return cls(Path(workspace).expanduser().resolve(),
                   tuple(Path(e).expanduser().resolve() for e in extra if str(e).strip()))

    @classmethod
    def from_env(cls, workspace: str | Path) -> Allowed:
        raw = os.environ.get(ALLOW_ENV, "")
        return cls.make(workspace, [p for p in raw.split(os.pathsep) if p])

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.workspace, *self.extra)

    def contains(self, path: Path) -> bool:
        return any(path == r or path.is_relative_to(r) for r in self.roots)

    def resolve(self, raw: str | Path, what: str = "path") -> Path:
        """The absolute path of `raw` (relative: in the workspace); WinnowError when outside the allowed folders."""
        text = str(raw).strip()
        if not text:
            raise WinnowError(f"empty {what}")
        p = Path(text).expanduser()
        if not p.is_absolute():
            p = self.workspace / p
        real = p.resolve()
        if not self.contains(real):
            raise WinnowError(f"{what} {text} is outside the folders this app may open ({self.describe()}); "
                              "start the app with --allow DIR to add one")
        return real

    def describe(self) -> str:
        extra = f" and {', '.join(str(e) for e in self.extra)}" if self.extra else ""
        return f"workspace {self.workspace}{extra}"


def _click_command(argv: list[str]) -> tuple[object | None, int]:
    """The click command a winnow command line names, and how many words named it."""
    import typer

    from app.cli import root

    cmd: object = typer.main.get_command(root)
    used = 0
    for word in argv:
        sub = getattr(cmd, "commands", {}).get(word) if not word.startswith("-") else None
        if sub is None:
            break
        cmd, used = sub, used + 1
    return (cmd if used else None), used


def _is_path_param(param: object) -> bool:
    from app.ui.forms import param_base_type

    return param_base_type(param)[0] is Path


def confine_argv(argv: list[str], allowed: Allowed) -> list[str]:
    """Check every path of a winnow command line and make path options absolute inside the allowed folders.

    Options and arguments typed as paths are resolved (relative ones in the workspace) and refused when
    outside; any other value that looks like a path (has a `/` or starts with `~`) is refused when it
    leaves the allowed folders, but left as typed (it may be a hub model id such as `org/name`; the job runs
    in the workspace, so a relative path still lands there). Object-store URLs (s3://...) pass as typed;
    file:// URLs are local paths.
    """
    cmd, used = _click_command(argv)
    if cmd is None:
        raise WinnowError(f"unknown winnow command: {' '.join(argv[:2]) or '(empty)'}")
    params = getattr(cmd, "params", [])
    by_flag = {flag: p for p in params for flag in (*getattr(p, "opts", []), *getattr(p, "secondary_opts", []))
               if flag.startswith("-")}
    positional = [p for p in params if getattr(p, "param_type_name", "") == "argument"]
    out = list(argv[:used])
    i = used
    pos_path = bool(positional) and all(_is_path_param(p) for p in positional)

    def check(value: str, param: object | None) -> str:
        if value.lower().startswith("file://"):
            return str(allowed.resolve(value[len("file://"):]))
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value):
            return value  # an object-store URL (s3://, gs://, ...): not a file on this machine
        if param is not None and _is_path_param(param):
            return str(allowed.resolve(value))
        if "/" in value or value.startswith("~"):
            allowed.resolve(value)  # refuse an escape; keep what was typed (hub ids look like paths)
        return value

    while i < len(argv):
        tok = argv[i]
        if tok.startswith("-") and tok != "-":
            flag, eq, val = tok.partition("=")
            param = by_flag.get(flag)
            takes_value = param is not None and not getattr(param, "is_flag", False) and \
                not getattr(param, "count", False)
            if eq:
                out.append(f"{flag}={check(val, param)}")
            elif takes_value and i + 1 < len(argv):
                out += [tok, check(argv[i + 1], param)]
                i += 1
            else:
                out.append(tok)
        else:
            out.append(check(tok, positional[0] if pos_path else None))
        i += 1
    return out
