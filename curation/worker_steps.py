"""Imported in the workers' server (`worker_server.start_worker_server_for_steps`): the modules, and the heavy
modules, of the steps named in $WINNOW_WORKER_STEPS, so the workers it forks start with them loaded. A name
that is not a step, or a module that fails to import, is skipped: the recipe's validation reports the one, and
the worker imports the other itself."""

from __future__ import annotations

import importlib
import os

from curation.errors import WinnowError
from curation.worker_server import STEPS_ENV, worker_preload


def _import_steps(names: list[str]) -> None:
    for name in names:
        try:
            modules = worker_preload([name])
        except WinnowError:
            continue
        for m in modules:
            try:
                importlib.import_module(m)
            except Exception:  # noqa: BLE001, S112 - the worker imports it itself, and reports it there
                continue


_import_steps([n for n in os.environ.get(STEPS_ENV, "").split(",") if n])
