"""Import a library while some of ITS optional dependencies look absent, to skip their start-up cost.

Several libraries a curate worker needs try optional imports they would never use there: thinc (under
spaCy) tries torch (~2.5 s of CPU per process here), Presidio's registry tries transformers and torch,
numba's array support imports SciPy's BLAS. `absent(*names)` makes `import name` raise ImportError while
the block runs, for names not yet imported, and forgets that afterwards: a later `import torch` works as
usual. What the library decided inside the block stays decided in this process (thinc keeps
`has_torch = False`, numba has no BLAS-backed `np.dot`), so use it only where that cannot matter.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def absent(*names: str) -> Iterator[list[str]]:
    """While the block runs, `import n` raises ImportError for each n in `names` not already imported;
    yields the names actually hidden."""
    hidden = [n for n in names if n not in sys.modules]
    for n in hidden:
        sys.modules[n] = None  # type: ignore[assignment] - the import system's "not available" marker
    try:
        yield hidden
    finally:
        for n in hidden:
            if n in sys.modules and sys.modules[n] is None:
                del sys.modules[n]
