"""Vectorised statistics behind datatrove's Gopher quality/repetition, C4 and FineWeb filters (see signals.py)."""
