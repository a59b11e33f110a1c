"""Exact and MinHash near-duplicate detection internals.

`signatures`: text -> word n-gram shingles -> xxh32 -> datasketch-compatible MinHash signatures (a C kernel,
numba where it was not built, pure-numpy fallback). `lsh`: band hashes, candidate pairs, verification and
clustering. `similar`: one-off look-ups over a run's stored signatures with datasketch's LSH Forest.
"""
