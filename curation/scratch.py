"""Scratch folders named after the process that owns them.

A process killed mid-task (a Ray worker lost to the memory monitor, a local worker stopped with SIGKILL) runs
no cleanup, and its scratch (a task's documents and signals, a copy of its inputs) would stay on the node's
disk for good. The next scratch of the same family made on that machine removes those whose process is gone.
The name holds the host too: a temporary folder shared with another machine or container (another process
numbering) is never judged by this one's processes.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

_OWNER = re.compile(r"-p(\d+)-[^-]*$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def scratch_dir(name: str, family: str) -> Path:
    """A new folder `<name>-<host>-p<pid>-XXXX` in the temporary folder, after removing the folders of `family`
    there made on this host by a process that is no longer alive."""
    root = Path(tempfile.gettempdir())
    remove_orphans(root, family)
    return Path(tempfile.mkdtemp(prefix=f"{name}-{_host()}-p{os.getpid()}-", dir=root))


def remove_orphans(root: Path, family: str) -> list[Path]:
    """Remove the scratch folders of `family` under `root` made on this host by a process that is gone; the
    ones removed."""
    gone = []
    for d in root.glob(f"{family}*-{_host()}-p*-*"):
        m = _OWNER.search(d.name)
        if m is None or not d.is_dir() or _alive(int(m.group(1))):
            continue
        shutil.rmtree(d, ignore_errors=True)
        gone.append(d)
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to judge
        return True
    return True
