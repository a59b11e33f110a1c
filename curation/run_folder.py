"""A run folder owns itself: what Winnow writes there, the lock that keeps a second writer out, and the
checks that stop a command from touching anything it does not own.

Only the entries named in `OWNED` are ever removed (by `--overwrite`); a user's own files in the folder
stay. A folder that is neither empty nor a Winnow run is refused, and so is a folder that holds an input.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from curation.errors import WinnowError

# Every entry a curate or mix writes at the top of a run folder. Nothing else is removed by --overwrite.
OWNED_DIRS = ("docs", "signals", "state", "logs", "quarantine", "kept", "search", "dedup")  # search: mix's index
OWNED_FILES = ("run.json", "recipe.yaml", "removed.parquet", "manifest.json", "quarantine.jsonl",
               "skipped.jsonl", "progress.jsonl", "commit.json")
# an interrupted mix's temporary folders (and its search index's); the lock
OWNED_PREFIXES = (".mix-", ".index-", ".kept-old", ".search-old", ".winnow")
LOCK_NAME = ".winnow.lock"


# The fields every run.json that curate writes holds (a mix --out folder's copies them and adds "parent").
RUN_FIELDS = ("key", "inputs", "steps")


def is_run(path: Path) -> bool:
    """Whether `path` is a Winnow run folder, judged by its run.json's content: a user's own `run.json` (an
    experiment log, say) must not make their folder look like ours, or `--overwrite` would clear its docs/."""
    try:
        return is_run_info((path / "run.json").read_bytes())
    except OSError:  # missing, a folder, unreadable
        return False


def is_run_info(raw: bytes) -> bool:
    """Whether a run.json's bytes are one Winnow wrote (local folders and object stores alike)."""
    try:
        info = json.loads(raw.decode("utf-8"))
    except ValueError:  # not UTF-8 (UnicodeDecodeError is a ValueError) or not JSON
        return False
    return isinstance(info, dict) and all(k in info for k in RUN_FIELDS) and isinstance(info["key"], str) \
        and isinstance(info["inputs"], list) and isinstance(info["steps"], list)


def _owned(entry: Path) -> bool:
    n = entry.name
    return n in OWNED_DIRS or n in OWNED_FILES or n.startswith(OWNED_PREFIXES) or n.startswith(".") and \
        ".tmp" in n and any(n[1:].startswith(f) for f in OWNED_FILES)


def check_writable_dir(path: Path, what: str = "--out") -> None:
    """One clear line when `path` cannot be a folder we write: a file, or a place we cannot create."""
    if path.exists() and not path.is_dir():
        raise WinnowError(f"{what} {path} is a file, not a folder: give a folder path")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise WinnowError(f"{what} {path}: {probe} is a file, so the folder cannot be created")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise WinnowError(f"{what} {path}: {probe} is not writable")
    try:
        path.mkdir(parents=True, exist_ok=True)
        t = path / f".winnow-write-test-{os.getpid()}"
        t.write_bytes(b"")
        t.unlink()
    except OSError as e:
        reason = "read-only file system" if e.errno == errno.EROFS else (e.strerror or str(e))
        raise WinnowError(f"{what} {path}: cannot write there ({reason})") from None


def _under(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def check_inputs_outside(run_dir: Path, inputs: list[Path]) -> None:
    for p in inputs:
        if _under(Path(p), run_dir):
            raise WinnowError(f"input {p} lies inside the output folder {run_dir}: choose another --out "
                              "(a run folder is cleared and rewritten by Winnow)")
        if Path(p).is_dir() and _under(run_dir, Path(p)):
            raise WinnowError(f"the output folder {run_dir} lies inside the input folder {p}: its files would be "
                              "read as input; choose an --out outside it")


def prepare_run_dir(run_dir: Path, *, overwrite: bool, inputs: list[Path], create: bool = True) -> None:
    """Refuse what a run must not touch; with `overwrite`, remove only what Winnow wrote. With `create` false,
    only the refusals: nothing is made, so a check that fails after it leaves no empty folder behind."""
    check_inputs_outside(run_dir, inputs)
    refuse_foreign_out(run_dir, is_run, "a Winnow run")
    if not create:
        return
    check_writable_dir(run_dir)
    if overwrite:
        clear_owned(run_dir)


def manifest_kind(folder: Path) -> str | None:
    """The `kind` a Winnow command wrote in the folder's manifest.json (train-sft, eval, guard-bench, ...), else
    None: how a command recognises an output folder of its own made before the folder markers existed."""
    try:
        kind = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):  # missing, unreadable, not UTF-8 or JSON, not an object
        return None
    return kind if isinstance(kind, str) else None


def write_marker(folder: Path, name: str, command: str) -> None:
    """The marker a command writes in its output folder before anything else (`.winnow-train.json`, ...): the
    folder is its own from then on, even if the command is killed before its manifest."""
    (folder / name).write_text(json.dumps({"written_by": command, "created": time.time()}) + "\n", encoding="utf-8")


def held_entries(out: Path) -> list[str]:
    """The names of what a folder holds besides our lock and write probe (empty for a missing folder)."""
    if not out.is_dir():
        return []
    return sorted(e.name for e in out.iterdir() if e.name != LOCK_NAME and not e.name.startswith(".winnow-write-test-"))


def refuse_foreign_out(out: Path, ours: Callable[[Path], bool], what: str) -> None:
    """Refuse an --out that is a file, or a folder holding anything (a lock aside) that `ours` does not take
    for an earlier output of the same command: one line naming what it holds. Every command that writes a
    folder and may clear its own files in it (curate, train, eval run, guard bench) checks this first."""
    if out.exists() and not out.is_dir():
        raise WinnowError(f"--out {out} is a file, not a folder: give a folder path")
    if out.is_dir() and not ours(out):
        # another command's marker (.winnow-train.json, .winnow-eval.json) is content: only the lock and the
        # write probe are not
        held = held_entries(out)
        if held:
            shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
            raise WinnowError(f"--out {out} is not empty and is not {what} (it holds {shown}); "
                              "give an empty or new folder")


def clear_owned(run_dir: Path) -> list[str]:
    """Remove the entries Winnow wrote in a run folder (never the lock we hold, never anything else)."""
    removed = []
    for e in sorted(run_dir.iterdir()):
        if e.name == LOCK_NAME or not _owned(e):
            continue
        if e.is_dir() and not e.is_symlink():
            shutil.rmtree(e)
        else:
            e.unlink()
        removed.append(e.name)
    return removed


def _holder_is_dead(holder: str) -> bool:
    """Whether a lock file's holder was a process of this machine that has exited."""
    try:
        h = json.loads(holder)
        if h.get("host") != socket.gethostname():
            return False
        os.kill(int(h["pid"]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, KeyError, TypeError, AttributeError, PermissionError, OverflowError):
        return False
    return False


class RunLock:
    """An advisory lock on a run folder (flock on `.winnow.lock`, holding pid and host).

    The kernel drops a flock when its holder dies, so a lock left by a killed process is taken over at once;
    the pid and host in the file only name the holder in the message a second writer sees.
    """

    def __init__(self, run_dir: Path, what: str = "curate", shared: bool = False) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.what = what
        self.shared = shared
        self._fh: IO[str] | None = None

    def acquire(self, dead_holder_wait: float = 10.0) -> RunLock:
        """Take the lock, or raise naming its holder. A holder recorded on this machine that is no longer
        alive can still hold the flock for a moment through the processes it forked (they share the open
        file), which are exiting with it: wait up to `dead_holder_wait` seconds for them."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        deadline = time.monotonic() + dead_holder_wait
        while True:
            try:
                fcntl.flock(fh.fileno(), (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip()
                if _holder_is_dead(holder) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
            fh.close()
            try:
                h = json.loads(holder)
                who = f"{h.get('command', 'a winnow command')} (pid {h.get('pid')} on {h.get('host')}, " \
                      f"since {time.strftime('%H:%M:%S', time.localtime(h.get('since', 0)))})"
                if _holder_is_dead(holder):  # a reader, or a process the writer left behind, holds it now
                    who = f"another process (the last writer, {who}, has exited)"
            except (ValueError, AttributeError):
                who = "another winnow command"
            raise WinnowError(f"{self.path.parent} is in use by {who}; wait for it to finish or stop it") from None
        if not self.shared:
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": self.what,
                                 "since": time.time()}))
            fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            finally:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
