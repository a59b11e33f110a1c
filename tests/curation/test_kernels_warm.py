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


def _in_fresh_process(code: str, **env: str) -> dict:
    """Run `code` in a new interpreter (nothing loaded yet, as in the workers' server); its last line is JSON."""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env})
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_warm_up_loads_every_kernel_a_batch_uses_without_starting_polars_threads() -> None:
    pytest.importorskip("numba")
    r = _in_fresh_process(_CHILD, WINNOW_KERNELS="numba")  # the numba kernels, also where C ones are built
    assert r["shingles"] > 300  # the batch did go through the kernels
    # one compiled version of each kernel after the warm-up, and the real batch needed no other
    assert r["loaded"] == {"signature_kernel": 1, "normalise_kernel": 1, "word_count_kernel": 1}
    assert r["used"] == r["loaded"]
    # Polars' compute pool (threads "polars-N") and its async runtime are not running yet
    assert not [t for t in r["after_warm"] if re.fullmatch(r"polars-\d+|tokio.*", t)], r["after_warm"]


_NGRAM_CHILD = r"""
import json, os, re
import curation.heuristics.ngram_kernels_warm  # GopherRepetition's preload in the workers' server
from curation.heuristics import ngram_kernels

names = ("top_counts", "dup_scan")
threads = [open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")]
loaded = {n: len(getattr(ngram_kernels, n).signatures) for n in names}
import polars as pl
from curation.steps import get_step

step = get_step("gopher_repetition")()
step.setup()
texts = [f"line {i % 7} repeats here and there. " * (i % 9 + 3) + f"doc {i} ends" for i in range(400)]
step.score(pl.DataFrame({"id": [str(i) for i in range(400)], "text": texts, "order": list(range(400))}))
used = {n: len(getattr(ngram_kernels, n).signatures) for n in names}
print(json.dumps({"threads": threads, "loaded": loaded, "used": used}))
"""


@pytest.mark.slow
def test_ngram_warm_up_loads_what_gopher_repetition_uses_without_polars_threads() -> None:
    pytest.importorskip("numba")
    r = _in_fresh_process(_NGRAM_CHILD)
    assert r["loaded"] == {"top_counts": 1, "dup_scan": 1} and r["used"] == r["loaded"]
    assert not [t for t in r["threads"] if re.fullmatch(r"polars-\d+|tokio.*", t)], r["threads"]
