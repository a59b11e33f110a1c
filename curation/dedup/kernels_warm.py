"""Imported by the forkserver (the dedup steps' `preload`) before it forks the scoring workers: loads the numba
kernels' machine code once there, so every worker starts with it instead of each loading it (~0.6 s a process)."""

from curation.dedup.signatures import warm_kernels

warm_kernels()
