"""The contract every curation signal step follows.

Two kinds of step:

* `SignalStep` scores one batch of documents at a time, independently of the rest of the corpus
  (heuristics, classifiers, PII, language, decontamination). `score(batch)` gets a Polars frame with at
  least `id`, `text`, `order` and returns one row per input row: `id` plus the step's columns. The
  pipeline writes it to `signals/<name>/<rank>_<batch>.parquet`.
* `CorpusStep` needs the whole corpus (exact and near-duplicate removal). `score(batch)` computes the
  per-document part (hashes, MinHash signatures) that the pipeline writes to
  `signals/<name>.parts/<rank>_<batch>.parquet`; after every batch of every rank is scored, `finalize`
  reads those parts and writes the step's final signals to `signals/<name>/*.parquet` (one row per
  document: `id` plus columns such as `cluster_id`, `kept_id`, `similarity`).

Each step has a pydantic `Config` (extra="forbid") holding its parameters; a recipe's `signals:` section
maps a step name to such a config. Steps never drop documents: rules in the recipe decide, in `mix`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import BaseModel, ConfigDict

from curation.progress import Progress


class StepConfig(BaseModel):
    """Base for step parameters: unknown keys are an error that names them."""

    model_config = ConfigDict(extra="forbid")


class SignalStep(ABC):
    """Scores a batch of documents; one output row per input row."""

    name: ClassVar[str]
    Config: ClassVar[type[StepConfig]] = StepConfig
    # The final signal columns besides `id` (and `order`), so a recipe's rules are checked when it loads; a
    # step whose columns depend on its config overrides `output_columns`. Empty: not declared (checked on
    # the first scored batch instead). tests/curation/test_step_columns.py holds each step to its word.
    columns: ClassVar[tuple[str, ...]] = ()
    # Modules the step always imports when it scores (its heavy libraries): a local run's worker server
    # imports them once and forks every worker from it, instead of each worker importing them again.
    preload: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: StepConfig | None = None, *, context: dict[str, Any] | None = None) -> None:
        self.config = config if config is not None else self.Config()
        # context: run-wide facts a step may need (workspace, models dir, run dir); see pipeline.py
        self.context = context or {}

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load models or build tables once per worker before the first batch."""

    @abstractmethod
    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Return `id` plus this step's columns for every row of `batch` (same order)."""

    def output_columns(self) -> list[str] | None:
        """The columns this step writes to `signals/<name>/`, or None when it does not say."""
        return list(self.columns) or None

    def describe(self) -> dict[str, Any]:
        """What goes into the manifest about this step (model paths and checksums, versions...)."""
        return {"config": self.config.model_dump(mode="json")}

    def skip_reason(self) -> str | None:
        """Why this step cannot run here (e.g. a missing model), or None when it can."""
        return None


class CorpusStep(SignalStep):
    """A step that needs the whole corpus: per-batch parts first, then one `finalize` over all parts."""

    @abstractmethod
    def finalize(self, parts: list[Path], out_dir: Path, progress: Progress | None = None) -> None:
        """Read the per-batch parts and write final per-document signals into `out_dir` (Parquet)."""


_REGISTRY: dict[str, type[SignalStep]] = {}


def register_step(cls: type[SignalStep]) -> type[SignalStep]:
    """Class decorator: make a step available to recipes under `cls.name`."""
    _REGISTRY[cls.name] = cls
    return cls


def registered_steps() -> dict[str, type[SignalStep]]:
    _load_builtin_steps()
    return dict(_REGISTRY)


def get_step(name: str) -> type[SignalStep]:
    steps = registered_steps()
    if name not in steps:
        from curation.errors import WinnowError

        raise WinnowError(f"unknown signal step {name!r}; known steps: {', '.join(sorted(steps))}")
    return steps[name]


_BUILTIN_LOADED: list[bool] = []


def _load_builtin_steps() -> None:
    """Import the step modules so their @register_step decorators run; once a process (a recipe asks for
    its steps by name a hundred times)."""
    if _BUILTIN_LOADED:
        return
    import importlib
    import pkgutil

    import curation.steps as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name != "base":
            importlib.import_module(f"curation.steps.{mod.name}")
    _BUILTIN_LOADED.append(True)
