"""What can be imported, and at what start-up cost: numba, the compiled text kernels, and libraries loaded while
some of ITS optional dependencies look absent.

Several libraries a curate worker needs try optional imports they would never use there: thinc (under
spaCy) tries torch (~2.5 s of CPU per process here), Presidio's registry tries transformers and torch,
numba's array support imports SciPy's BLAS. `absent(*names)` makes `import name` raise ImportError while
the block runs, for names not yet imported, and forgets that afterwards: a later `import torch` works as
usual. What the library decided inside the block stays decided in this process (thinc keeps
`has_torch = False`, numba has no BLAS-backed `np.dot`), so use it only where that cannot matter.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def numba_available() -> bool:
    """Whether numba is installed (the kernels behind dedup, the n-gram statistics and the search index), without
    importing it (~0.5 s)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


KERNELS_ENV = "WINNOW_KERNELS"  # "numba": use the numba kernels even where the compiled ones are built


def c_kernels():  # noqa: ANN201 - the compiled module
    """The text kernels compiled from `curation/_ckernels.c` when the package was installed, or None (not built:
    no C compiler then; or $WINNOW_KERNELS=numba). They load in a millisecond, their numba twins in ~0.5 s."""
    if os.environ.get(KERNELS_ENV) == "numba":
        return None
    try:
        from curation import _ckernels
    except ImportError:
        return None
    return _ckernels


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


class _HfFileSystemCheck(type):
    def __instancecheck__(cls, obj: object) -> bool:
        mod = sys.modules.get("huggingface_hub.hf_file_system")  # no HfFileSystem exists until this is loaded
        return mod is not None and isinstance(obj, mod.HfFileSystem)


class HfFileSystemCheck(metaclass=_HfFileSystemCheck):
    """What `datatrove.io` gets for `huggingface_hub.HfFileSystem`: it only tests `isinstance` with it, and this
    answers exactly as the real class would, without importing it."""


class _LoaderWithoutHfFileSystem:
    """Runs `datatrove.io`'s module code while `from huggingface_hub import HfFileSystem` yields the check."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, is_package...: the file's own loader's
        return getattr(self.loader, name)

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        import huggingface_hub

        huggingface_hub.HfFileSystem = HfFileSystemCheck  # a module attribute wins over its lazy __getattr__
        try:
            self.loader.exec_module(module)
        finally:
            del huggingface_hub.HfFileSystem  # everyone else gets the real class, loaded when first asked for


class _DatatroveIoFinder:
    """`datatrove.io` imports `huggingface_hub.HfFileSystem` at module level, which loads the Hub client (~210
    modules, ~0.3 s of CPU) in every process that touches datatrove: the command, the workers' server, each
    Ray worker. It uses the class only in `isinstance` tests on an hf:// folder's file system, which cannot be
    one until the Hub client is loaded; so until then `HfFileSystemCheck` stands in for it there."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "datatrove.io" or "huggingface_hub.hf_file_system" in sys.modules:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _LoaderWithoutHfFileSystem(spec.loader)
        return spec


def load_datatrove_io_without_hub_client() -> None:
    """Install the finder above (once per process; `curation/__init__` does it)."""
    if not any(isinstance(f, _DatatroveIoFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _DatatroveIoFinder())
