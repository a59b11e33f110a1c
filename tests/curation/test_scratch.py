"""A killed process's scratch folder is removed by the next one made on the machine, and nothing else is."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# a process that makes a scratch folder, writes into it and dies without cleaning up (as SIGKILL leaves it)
DIES = ("import os, sys, tempfile; tempfile.tempdir = sys.argv[1]; from curation.scratch import scratch_dir; "
        "cm = scratch_dir('winnow-task', 3); d = cm.__enter__(); "
        "open(os.path.join(d, 'docs.parquet'), 'w').write('x'); print(d, flush=True); os._exit(0)")
# one that does the same and stays alive, holding its folder, until its stdin closes
HOLDS = DIES.replace("os._exit(0)", "sys.stdin.read()")


def test_a_killed_processs_scratch_goes_with_the_next_one_and_nothing_else(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from curation.scratch import _host, scratch_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    holder = subprocess.Popen([sys.executable, "-c", HOLDS, str(tmp_path)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        held = Path(holder.stdout.readline().strip())
        dead = Path(subprocess.run([sys.executable, "-c", DIES, str(tmp_path)], cwd=ROOT, capture_output=True,
                                   text=True, check=True).stdout.strip())
        assert dead.is_dir() and (dead / "docs.parquet").exists() and held.is_dir()
        host = _host()
        # a live owner judged by its lock, not by the number in the name: this one names a process that is gone
        # (as a process of another pid namespace would look), and its lock is held by the holder
        renamed = tmp_path / held.name.replace(f"-p{holder.pid}-", "-p4000000-")
        held.rename(renamed)
        keep = [renamed]
        for name in (f"winnow-task-notes-{host}-p4000001-abcdefgh",  # not the exact shape scratch_dir makes
                     f"winnow-tasks00001-{host}-p4000001-abcdefgh",
                     "winnow-task00002-otherhost-p4000001-abcdefgh",  # another machine's
                     f"winnow-task00002-{host}-p99999999999999999999-abcdefgh",  # a number no process has
                     f"winnow-task00003-{host}-p4000001-nolock12"):  # no .owner file: not one of ours
            (tmp_path / name).mkdir()
            if not name.endswith("nolock12"):  # an unlocked owner file: only the name's shape protects these
                (tmp_path / name / ".owner").write_text("")
            keep.append(tmp_path / name)
        (tmp_path / f"winnow-task00004-{host}-p4000001-symlink1").symlink_to(dead, target_is_directory=True)
        keep.append(tmp_path / f"winnow-task00004-{host}-p4000001-symlink1")
        with scratch_dir("winnow-task", 0) as new:
            assert new.is_dir() and new.parent == tmp_path and new.name.startswith(f"winnow-task00000-{host}-p")
            assert not dead.exists() and not dead.is_symlink()  # the dead process's scratch, with what it held
            assert all(d.is_dir() for d in keep[:-1]) and keep[-1].is_symlink()
        assert not new.exists()  # and the block's own folder goes when it ends
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with scratch_dir("winnow-task", 0):  # the holder has exited: its folder is an orphan now
        assert not renamed.exists()


def test_a_live_scratch_folders_owner_file_is_always_locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the block runs, `.owner` is there and held (no other name is left beside it), so another process's
    cleanup can never take the folder for an orphan."""
    import fcntl
    import os

    from curation.scratch import remove_orphans, scratch_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    import curation.scratch as scratch

    real_flock, swept = fcntl.flock, []

    def cleanup_first(fd: int, op: int) -> None:
        """Another process's cleanup runs in the gap before the new folder's first lock is taken."""
        if not swept:
            swept.append(True)
            monkeypatch.setattr(scratch.fcntl, "flock", real_flock)
            swept.append(remove_orphans(tmp_path, "winnow-task"))
        real_flock(fd, op)

    monkeypatch.setattr(scratch.fcntl, "flock", cleanup_first)
    with scratch_dir("winnow-task", 1) as d:
        assert swept == [True, []] and d.is_dir()  # the sweep left the live folder alone
        assert [p.name for p in d.iterdir()] == [".owner"]
        fd = os.open(d / ".owner", os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        assert remove_orphans(tmp_path, "winnow-task") == [] and d.is_dir()
