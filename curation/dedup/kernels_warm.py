"""Imported by the forkserver (the dedup steps' `preload`) before it forks the scoring workers: loads the kernels
once there (the compiled ones: ~1 ms; numba's machine code: ~0.45 s), so no worker loads them itself."""

from curation.dedup.signatures import warm_kernels

warm_kernels()
