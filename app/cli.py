"""The `winnow` command line: one Typer app; each area adds its commands from `app/commands/<area>.py`.

Errors the user can fix (WinnowError, a missing file, a bad option) print one line and exit 2;
`--debug` shows the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer

from curation.errors import WinnowError

try:  # typer >= 0.20 vendors click; older releases use the click package
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover
    from click import exceptions as click_exc

# Each module defines `register(root: typer.Typer) -> None`.
COMMAND_MODULES = ["groups", "curate", "dedup", "sample", "train", "eval", "models", "guard", "runs",
                   "app_cmd", "demo", "pii_cmd", "lineage", "budget", "ablate", "audit"]


# Commands that run with only their own module registered: `curate` starts its workers' server sooner when it
# does not first import every other area's commands (~0.1 s). `winnow --help` and every other command get all.
ALONE = {"curate": "curate", "mix": "curate"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("winnow")
    except PackageNotFoundError:
        return "0+unknown"


def _version_cb(value: bool) -> None:
    if value:
        typer.echo(f"winnow {_version()}")
        raise typer.Exit()


def _main(
    version_: bool = typer.Option(False, "--version", callback=_version_cb, is_eager=True,
                                  help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    if debug:
        os.environ["WINNOW_DEBUG"] = "1"


def build_root(modules: list[str] | None = None) -> typer.Typer:
    """The `winnow` app with the commands of `modules` (default: every area's)."""
    app = typer.Typer(
        name="winnow",
        help="Winnow: curate a corpus, train on it, evaluate and guard the model.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_main)
    for name in COMMAND_MODULES if modules is None else modules:
        importlib.import_module(f"app.commands.{name}").register(app)
    return app


def __getattr__(name: str) -> Any:
    """`root`, the whole app (the UI's forms and the demo read its commands), is built on first use."""
    if name == "root":
        globals()["root"] = app = build_root()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn user errors into one line and exit code 2."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("WINNOW_DEBUG") == "1"
    alone = ALONE.get(args[0]) if args else None
    cmd = typer.main.get_command(build_root([alone]) if alone else globals().get("root") or __getattr__("root"))
    try:
        return _run(cmd, args, debug)
    finally:
        if (executors := sys.modules.get("curation.executors")) is not None:
            executors.leave_ray()  # now: Ray's exit hook would wait 0.5 s first


def _run(cmd: Any, args: list[str], debug: bool) -> int:
    try:
        rv = cmd.main(args=args, prog_name="winnow", standalone_mode=False)
        # typer turns KeyboardInterrupt (Ctrl-C, or SIGTERM in a long job) into an exit code it *returns*
        # when not in standalone mode; it must reach the shell
        if type(rv) is int and rv != 0:
            if rv == 130:
                typer.echo("interrupted", err=True)
            return rv
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except click_exc.NoArgsIsHelpError as e:
        typer.echo(e.ctx.get_help() if e.ctx is not None else e.format_message())
        return 0
    except click_exc.ClickException as e:
        if debug:
            raise
        ctx = getattr(e, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        typer.echo(f"error: {e.format_message()}{where}", err=True)
        return 2
    except (WinnowError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
            PermissionError) as e:
        if debug:
            raise
        msg = str(e) if isinstance(e, WinnowError) else f"{e.strerror or e}: {e.filename}"
        typer.echo(f"error: {msg}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
