"""Device settings: on a CPU with glibc, freed memory stays in the process (see training/device.py)."""

from __future__ import annotations

import ctypes
import json
import platform
from pathlib import Path

import pytest

from training.device import MMAP_THRESHOLD, TRIM_THRESHOLD, resolve_device, retain_freed_memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def test_cpu_is_chosen_without_a_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert resolve_device("auto") == ("cpu", {"use_cpu": True, "bf16": False, "fp16": False})


@glibc_only
def test_retained_memory_is_served_from_the_heap_and_kept_after_free() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = _MallInfo2
    assert retain_freed_memory() == {"mmap_threshold": MMAP_THRESHOLD, "trim_threshold": TRIM_THRESHOLD}
    size = 64 << 20  # above glibc's largest dynamic mmap threshold (32 MiB): by default it would be mmap'd
    before = libc.mallinfo2()
    block = libc.malloc(size)
    assert block
    during = libc.mallinfo2()
    assert during.hblkhd - before.hblkhd < size  # not a separate mapping
    libc.free(block)
    after = libc.mallinfo2()
    assert after.fordblks >= size  # still the process's, free for the next step, not handed back


@glibc_only
def test_training_records_the_allocator_and_can_turn_it_off(tiny_model: Path, sft_file: Path,
                                                            tmp_path: Path) -> None:
    from training.config import load_config
    from training.sft import run_sft

    base = {"model": str(tiny_model), "data": [str(sft_file)], "max_steps": 1, "batch_size": 4, "max_length": 64,
            "device": "cpu"}
    run_sft(load_config(None, {**base, "out": str(tmp_path / "on")}))
    man = json.loads((tmp_path / "on" / "manifest.json").read_text())
    assert man["allocator"] == {"mmap_threshold": MMAP_THRESHOLD, "trim_threshold": TRIM_THRESHOLD}
    run_sft(load_config(None, {**base, "out": str(tmp_path / "off"), "retain_cpu_memory": False}))
    assert json.loads((tmp_path / "off" / "manifest.json").read_text())["allocator"] is None
