"""Imported by the workers' server (GopherRepetition's `preload`) before it forks the scoring workers: loads the
n-gram kernels' machine code once there, so a worker does not load numba and the kernels itself (~0.6 s)."""

from curation.heuristics.ngram_kernels import warm_kernels

warm_kernels()
