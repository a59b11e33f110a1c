"""Launch a `winnow` command as a background job the app can follow (DESIGN.md principle 7).

The registry row is created first (queued) and its id passed in env `WINNOW_RUN_ID`, so the CLI's
`registered_run` fills in that same row. The job runs in its own session (a page reload, or the app
stopping, does not kill it); stdout/stderr go to `<workspace>/runs/<id>.log`. A watcher thread settles
the row when the process ends without doing so itself (it failed before `registered_run`, or the command
does not record runs), and the registry's reaper marks the row interrupted if the app itself
is gone before the job started recording.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from app.registry import Run, RunRegistry
from app.ui.confine import TOKEN_ENV, Allowed, confine_argv
from curation.errors import WinnowError
from curation.progress import read_progress

# Commands whose registry kind is not simply their words joined by "-".
_KINDS = {("curate",): "curate", ("mix",): "mix", ("eval", "run"): "eval", ("data", "sample"): "sample",
          ("data", "pull"): "data-pull"}
_GROUPS = {"data", "model", "train", "eval", "guard", "pii", "classifier"}
_OUT_FLAGS = ("--out", "-o")
_JOBS: dict[int, subprocess.Popen] = {}  # jobs this process started, by run id (for stop)


def command_kind(argv: list[str]) -> str:
    """Registry kind of a winnow command line (`train sft` -> `train-sft`, `curate` -> `curate`)."""
    words = [a for a in argv if not a.startswith("-")]
    if not words:
        raise WinnowError("empty winnow command line")
    key = tuple(words[:2]) if words[0] in _GROUPS and len(words) > 1 else (words[0],)
    return _KINDS.get(key, "-".join(key))


def command_out_dir(argv: list[str], cwd: Path) -> Path | None:
    """The `--out` folder of a command line, absolute (relative paths resolve against the job's cwd)."""
    for i, a in enumerate(argv):
        for flag in _OUT_FLAGS:
            if a == flag and i + 1 < len(argv):
                return (cwd / argv[i + 1]).absolute()
            if a.startswith(flag + "="):
                return (cwd / a.split("=", 1)[1]).absolute()
    return None


def log_path(workspace: Path, run_id: int) -> Path:
    return Path(workspace) / "runs" / f"{run_id}.log"


def _settle(workspace: Path, run_id: int, proc: subprocess.Popen, log: Path) -> None:
    """Wait for the job; record its end when the command itself did not."""
    rc = proc.wait()
    _JOBS.pop(run_id, None)
    with RunRegistry(workspace) as reg:
        run = reg.get(run_id)
        if run is None or run.status in ("done", "failed", "interrupted"):
            return
        if rc == 0:
            reg.finish(run_id)
        else:
            reg.fail(run_id, f"exit code {rc}: {last_error_line(log)}",
                     status="interrupted" if rc in (130, -signal.SIGINT, -signal.SIGTERM) else "failed")


def last_error_line(log: Path) -> str:
    """The most telling line of a job log: the last `error:` line, else the last non-empty line."""
    try:
        lines = [ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    errs = [ln for ln in lines if ln.startswith("error:") or "Error" in ln.split(":", 1)[0]]
    return (errs or lines or ["no output"])[-1][:500]


def start_job(workspace: str | Path, argv: list[str], *, cwd: str | Path | None = None,
              env: dict[str, str] | None = None, kind: str | None = None,
              config: dict[str, Any] | None = None) -> tuple[int, subprocess.Popen, Path]:
    """Queue a registry row and start `winnow ARGV` in its own session, output to `<ws>/runs/<id>.log`.

    The one registered-subprocess runner: the app's launcher (which watches the job from a thread) and
    the demo (which waits for each step) both start jobs through it. The CLI's `registered_run` claims the
    row through env WINNOW_RUN_ID. Relative paths resolve in `cwd`, by default the workspace.
    """
    ws = Path(workspace).absolute()
    work = Path(cwd).absolute() if cwd else ws
    argv = [str(a) for a in argv]
    if argv and argv[0] == "winnow":
        argv = argv[1:]
    kind = kind or command_kind(argv)
    out_dir = command_out_dir(argv, work)
    with RunRegistry(ws) as reg:
        run_id = reg.create(kind, {"argv": argv, "cwd": str(work), **(config or {})}, out_dir, status="queued")
        log = log_path(ws, run_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}  # the app's token stays in the app
        child_env = {**base, **(env or {}), "WINNOW_RUN_ID": str(run_id), "WINNOW_WORKSPACE": str(ws),
                     "WINNOW_NO_BAR": "1", "PYTHONUNBUFFERED": "1"}
        with open(log, "ab") as fh:
            try:
                proc = subprocess.Popen([sys.executable, "-m", "app.cli", *argv], cwd=work, env=child_env,
                                        stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            except OSError as e:
                reg.fail(run_id, f"could not start: {e}")
                raise WinnowError(f"could not start winnow {' '.join(argv)}: {e}") from None
        # Running from now on. The row holds this (the starter's) pid until the CLI's registered_run claims it
        # with its own: were it the child's, the registry's reaper would mark the row interrupted in the
        # instant between the child's exit and the starter recording how it ended.
        reg.start(run_id, pid=os.getpid())
    _JOBS[run_id] = proc
    return run_id, proc, log


def launch(workspace: str | Path, argv: list[str], *, cwd: str | Path | None = None,
           env: dict[str, str] | None = None, allowed: Allowed | None = None) -> int:
    """Start `winnow ARGV` in the background; return its registry run id at once.

    With `allowed` (the app), every path of the command line must lie in the allowed folders, and path
    options are made absolute there (relative ones resolve in the workspace).
    """
    argv = [str(a) for a in argv]
    if argv and argv[0] == "winnow":
        argv = argv[1:]
    if allowed is not None:
        argv = confine_argv(argv, allowed)
    ws = Path(workspace).absolute()
    run_id, proc, log = start_job(ws, argv, cwd=cwd, env=env, config={"launched_from": "app"})
    threading.Thread(target=_settle, args=(ws, run_id, proc, log), daemon=True,
                     name=f"winnow-job-{run_id}").start()
    return run_id


def run_job(workspace: str | Path, argv: list[str], *, kind: str | None = None,
            config: dict[str, Any] | None = None, env: dict[str, str] | None = None,
            cwd: str | Path | None = None) -> tuple[Run, int]:
    """Run `winnow ARGV` to its end as a registered job (the demo's steps); return its row and exit code.

    Unlike the app's jobs, relative paths resolve where the caller runs (default `cwd`: the current folder),
    as they would in a shell."""
    ws = Path(workspace).absolute()
    run_id, proc, log = start_job(ws, argv, env=env, kind=kind, config=config, cwd=cwd or Path.cwd())

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # the job runs in its own session: Ctrl-C or SIGTERM to the caller (the demo) must reach it too
    old = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() else None
    try:
        proc.wait()
    except KeyboardInterrupt:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            proc.kill()
        _settle(ws, run_id, proc, log)
        raise
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    _settle(ws, run_id, proc, log)
    with RunRegistry(ws) as reg:
        run = reg.get(run_id)
    assert run is not None
    return run, proc.returncode


def relaunch(workspace: str | Path, run: Run, allowed: Allowed | None = None) -> int:
    """Start the same command again (a killed curation resumes in its output folder)."""
    argv = run.config.get("argv")
    if not argv:
        raise WinnowError(f"run {run.id} was not launched from the app; rerun its command from a shell")
    return launch(workspace, argv, cwd=run.config.get("cwd"), allowed=allowed)


def stop(run: Run) -> bool:
    """Interrupt a running job (SIGINT to its process group, like Ctrl-C); False when it is not running."""
    proc = _JOBS.get(run.id)
    pid = proc.pid if proc is not None and proc.poll() is None else run.pid
    if run.status != "running" or not pid or pid == os.getpid():
        return False
    try:
        os.killpg(os.getpgid(pid), signal.SIGINT)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def progress_line(out_dir: str | Path | None) -> str | None:
    """One line about where a job stands, from the last record of its progress.jsonl."""
    if not out_dir:
        return None
    recs = read_progress(out_dir)
    if not recs:
        return None
    return format_progress(recs[-1])


def format_progress(rec: dict[str, Any]) -> str:
    done, total, unit = rec.get("done", 0), rec.get("total"), rec.get("unit", "")
    amount = f"{done:,}/{total:,} {unit} ({100 * done / total:.0f}%)" if total else f"{done:,} {unit}"
    msg = rec.get("msg")
    return f"{rec.get('stage', '?')}: {amount}" + (f" - {msg}" if msg and msg != "start" else "")


def log_tail(workspace: str | Path, run_id: int, lines: int = 40) -> str | None:
    path = log_path(Path(workspace), run_id)
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])
