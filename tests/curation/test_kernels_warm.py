"""The forkserver's warm-up of the dedup kernels: it must leave the workers nothing to compile or load, and
must not start Polars' thread pool in the process that forks the workers (a forked child would hang on it)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, os
import curation.dedup.kernels_warm  # what the forkserver imports before it forks the workers
from curation.dedup import kernels

def threads():
    return sorted(open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))

after_warm = threads()
loaded = {n: len(getattr(kernels, n).signatures) for n in ("signature_kernel", "normalise_kernel", "word_count_kernel")}
import polars as pl
from curation.dedup.signatures import normalised_bytes, signatures
from curation.text import word_counts

texts = pl.Series(["Plain ASCII words, enough of them for five-grams here.", "Ünïcode – “quoted” text too."] * 150)
sig, counts = signatures(texts)
normalised_bytes(texts)
word_counts(texts)
used = {n: len(getattr(kernels, n).signatures) for n in ("signature_kernel", "normalise_kernel", "word_count_kernel")}
print(json.dumps({"after_warm": after_warm, "loaded": loaded, "used": used, "shingles": int(counts.sum())}))
"""


@pytest.mark.slow
def test_warm_up_loads_every_kernel_a_batch_uses_without_starting_polars_threads() -> None:
    pytest.importorskip("numba")
    p = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["shingles"] > 300  # the batch did go through the kernels
    # one compiled version of each kernel after the warm-up, and the real batch needed no other
    assert r["loaded"] == {"signature_kernel": 1, "normalise_kernel": 1, "word_count_kernel": 1}
    assert r["used"] == r["loaded"]
    # Polars' compute pool (threads "polars-N") and its async runtime are not running yet
    assert not [t for t in r["after_warm"] if re.fullmatch(r"polars-\d+|tokio.*", t)], r["after_warm"]
