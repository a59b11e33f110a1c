"""Scratch folders that a killed process does not leave behind for good.

A process killed mid-task (a Ray worker lost to the memory monitor, a local worker stopped with SIGKILL) runs
no cleanup, and its scratch (a task's documents and signals, a copy of its inputs) would stay on the node's
disk. Each scratch folder holds an `.owner` file that its process keeps locked (`flock`) while it works; the
kernel drops the lock when the process dies, however it dies. Making a new scratch folder of a family removes
the folders of that family, made on this host by `scratch_dir` (the exact name shape), whose lock is free. A
lock, unlike a process number, means the same in every pid namespace sharing the folder (containers of one
pod), and is still held by a child the owner forked.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OWNER = ".owner"


def _host() -> str:
    """This machine's name as it goes into a folder name (other characters as `_`)."""
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _shape(family: str) -> re.Pattern[str]:
    """Exactly the names `scratch_dir` gives: family, 5-digit rank, host, pid, mkdtemp's 8 random characters."""
    return re.compile(re.escape(family) + r"\d{5}-" + re.escape(_host()) + r"-p\d{1,7}-[a-z0-9_]{8}")


@contextmanager
def scratch_dir(family: str, rank: int) -> Iterator[Path]:
    """A new folder `<family><rank>-<host>-p<pid>-XXXXXXXX` in the temporary folder, locked as this process's
    while the block runs and removed after it; first, the folders of `family` whose owner is gone go."""
    root = Path(tempfile.gettempdir())
    remove_orphans(root, family)
    path = Path(tempfile.mkdtemp(prefix=f"{family}{rank:05d}-{_host()}-p{os.getpid()}-", dir=root))
    # locked under another name, then renamed: another process's `remove_orphans` never finds `.owner` unlocked
    # in a folder whose process is alive (between an open and its flock it would have taken it for an orphan)
    fd = os.open(path / f"{OWNER}.new", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh file: nobody else holds it
        os.rename(path / f"{OWNER}.new", path / OWNER)  # the lock is the file's: it keeps it under its new name
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def remove_orphans(root: Path, family: str) -> list[Path]:
    """Remove the scratch folders of `family` under `root` (this host's, by their exact name shape) whose
    `.owner` lock no process holds; the ones removed. A folder without `.owner` (not yet locked, or not made by
    `scratch_dir`), a symbolic link, or one whose lock is held is left as it is."""
    shape = _shape(family)
    gone: list[Path] = []
    try:
        names = os.listdir(root)
    except OSError:
        return gone
    for name in names:
        d = root / name
        if not shape.fullmatch(name) or d.is_symlink():
            continue
        try:
            fd = os.open(d / OWNER, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # no owner file (or not ours to open): leave it
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its process (or a child of it) is alive
            os.close(fd)
            continue
        try:
            shutil.rmtree(d)
            gone.append(d)
        except OSError:
            pass
        finally:
            os.close(fd)
    return gone
