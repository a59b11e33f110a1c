"""curation/_ckernels.c: the compiled dedup kernels give exactly what the numba kernels and the
reference definitions give (signatures: datasketch's, through the pure-Python path; normalised words:
`dedup_words`; word counts: the regex `\\S+`), reject arguments that do not fit instead of reading past a
buffer, and let the workers' server start without numba."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curation.dedup.signatures import _LOWER, _WORD, _reference_signatures, kernel_ready_texts, permutations
from curation.text import dedup_words, utf8_buffers
from tests.curation.test_text import _texts as unicode_texts

ck = pytest.importorskip("curation._ckernels", reason="the C kernels were not built (no C compiler)")
ROOT = Path(__file__).resolve().parents[2]

WORDS = ["alpha", "Beta", "GAMMA", "d3lta", "snake_case", "x" * 23, "Ünïcödé", "café", "ﬁne", "12", "e\u0301"]
SEPS = [" ", ", ", "\t", "\n", "  --  ", ". ", "\u00a0", "\u2014", "!?", "\u3000"]


def _random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = ["", " ", "one", "two words"]
    for _ in range(n):
        k = rng.randrange(0, 30)
        out.append("".join(rng.choice(WORDS) + rng.choice(SEPS) for _ in range(k)))
    return out


def _c_signatures(texts: list[str], ngram: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    data, offs = utf8_buffers(kernel_ready_texts(pl.Series(texts, dtype=pl.Utf8)))
    sig = np.empty((len(texts), len(a)), np.uint32)
    counts = np.zeros(len(texts), np.uint32)
    ck.signature_kernel(data, offs, _WORD, _LOWER, ngram, a, b, sig, counts)
    return sig, counts


@pytest.mark.parametrize("ngram", [1, 3, 5])
def test_signatures_equal_the_reference_path(ngram: int) -> None:
    texts = _random_texts(400, seed=ngram)
    a, b = permutations(64, seed=7)
    sig, counts = _c_signatures(texts, ngram, a, b)
    ref_sig, ref_counts = _reference_signatures(texts, ngram, a, b)  # per-document Python + xxhash
    assert np.array_equal(counts, ref_counts)
    assert np.array_equal(sig, ref_sig)


def test_signatures_equal_the_numba_kernel_on_a_slice_of_a_big_buffer() -> None:
    kernels = pytest.importorskip("curation.dedup.kernels")
    data, offs = utf8_buffers(kernel_ready_texts(pl.Series(_random_texts(3000, seed=11))))
    offs = offs[1000:]  # documents 1000 on: offsets that do not start at 0
    texts = range(len(offs) - 1)
    a, b = permutations(128, seed=1)
    got = [np.empty((len(texts), 128), np.uint32), np.zeros(len(texts), np.uint32)]
    want = [np.empty((len(texts), 128), np.uint32), np.zeros(len(texts), np.uint32)]
    ck.signature_kernel(data, offs, _WORD, _LOWER, 5, a, b, *got)
    kernels.signature_kernel(data, offs, _WORD, _LOWER, 5, a, b, *want)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_normalised_words_are_dedup_words() -> None:
    texts = _random_texts(500, seed=3)
    data, offs = utf8_buffers(kernel_ready_texts(pl.Series(texts, dtype=pl.Utf8)))
    out = np.empty(max(1, int(offs[-1] - offs[0])), np.uint8)
    out_offs = np.zeros(len(texts) + 1, np.int64)
    ck.normalise_kernel(data, offs, _WORD, _LOWER, out, out_offs)
    got = [bytes(out[out_offs[i]:out_offs[i + 1]]).decode() for i in range(len(texts))]
    assert got == [" ".join(dedup_words(t)) for t in texts]


def test_word_counts_equal_the_regex_on_random_unicode() -> None:
    texts = pl.Series(unicode_texts(5000, seed=5))
    data, offs = utf8_buffers(texts)
    out = np.zeros(len(texts), np.uint32)
    ck.word_count_kernel(data, offs, out)
    assert out.tolist() == texts.str.count_matches(r"\S+").to_list()


def test_arguments_that_do_not_fit_are_errors_not_reads_past_a_buffer() -> None:
    data = np.frombuffer(b"some words here", np.uint8)
    offs = np.array([0, 15], np.int64)
    a, b = permutations(8)
    sig, counts = np.empty((1, 8), np.uint32), np.zeros(1, np.uint32)
    with pytest.raises(ValueError, match="inconsistent"):  # offsets past the end of the data
        ck.signature_kernel(data, np.array([0, 99], np.int64), _WORD, _LOWER, 5, a, b, sig, counts)
    with pytest.raises(ValueError, match="inconsistent"):  # a signature array of the wrong shape
        ck.signature_kernel(data, offs, _WORD, _LOWER, 5, a, b, np.empty((1, 4), np.uint32), counts)
    with pytest.raises(ValueError, match="decrease"):
        ck.word_count_kernel(data, np.array([0, 9, 3], np.int64), np.zeros(2, np.uint32))
    with pytest.raises(TypeError, match="items of 8 bytes"):  # 32-bit offsets
        ck.word_count_kernel(data, offs.astype(np.int32), np.zeros(1, np.uint32))
    read_only = np.zeros(1, np.uint32)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):  # an output that cannot be written
        ck.word_count_kernel(data, offs, read_only)


def test_the_workers_server_warm_up_loads_no_numba() -> None:
    """What the forkserver imports before it forks the dedup workers: with the C kernels, no numba (~0.4 s)."""
    code = ("import json, sys\nimport curation.dedup.kernels_warm\n"
            "from curation.dedup.signatures import _kernels\n"
            "print(json.dumps({'numba': 'numba' in sys.modules, 'kernels': _kernels().__name__}))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout.strip().splitlines()[-1]) == {"numba": False, "kernels": "curation._ckernels"}


def test_float_or_object_arrays_are_refused_not_read_as_integers() -> None:
    data = np.frombuffer(b"some words here", np.uint8)
    with pytest.raises(TypeError, match="integer items of 8 bytes"):
        ck.word_count_kernel(data, np.array([0.0, 15.0]), np.zeros(1, np.uint32))
    with pytest.raises(TypeError, match="integer items of 4 bytes"):
        ck.word_count_kernel(data, np.array([0, 15], np.int64), np.zeros(1, np.float32))
