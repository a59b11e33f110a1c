"""Built-in sample data written by Winnow itself: a web-like corpus with planted junk and its labels,
SFT and DPO pairs, and a small synthetic ARC-style benchmark (see each module's docstring)."""
