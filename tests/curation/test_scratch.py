"""Scratch folders of killed processes are removed by the next scratch made on the machine, and nothing else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_killed_processs_scratch_goes_with_the_next_one_and_nothing_else(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from curation.scratch import _host, scratch_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # a process that makes its scratch, writes into it and dies without cleaning up (as SIGKILL leaves it)
    code = ("import os, tempfile, sys; tempfile.tempdir = sys.argv[1]; from curation.scratch import scratch_dir; "
            "d = scratch_dir('winnow-task00003', 'winnow-task'); "
            "open(os.path.join(d, 'docs.parquet'), 'w').write('x'); print(d); os._exit(0)")
    dead = Path(subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip())
    assert dead.is_dir() and (dead / "docs.parquet").exists()
    host, dead_pid = _host(), int(re.search(r"-p(\d+)-", dead.name).group(1))
    alive = tmp_path / f"winnow-task00001-{host}-p{os.getpid()}-abcd1234"  # this process: alive
    elsewhere = tmp_path / f"winnow-task00002-otherhost-p{dead_pid}-abcd1234"  # another machine's numbering
    other_family = tmp_path / f"winnow-rank00000-{host}-p{dead_pid}-abcd1234"
    users = tmp_path / "winnow-task-notes"
    for d in (alive, elsewhere, other_family, users):
        d.mkdir()
    new = scratch_dir("winnow-task00000", "winnow-task")
    assert new.is_dir() and new.parent == tmp_path and new.name.startswith(f"winnow-task00000-{host}-p")
    assert not dead.exists()  # the dead process's scratch, with what it held
    assert all(d.is_dir() for d in (alive, elsewhere, other_family, users))
