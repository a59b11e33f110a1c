"""Signal steps: each scores documents and writes `signals/<name>/*.parquet` keyed by `id`."""

from curation.steps.base import CorpusStep, SignalStep, StepConfig, get_step, register_step, registered_steps

__all__ = ["CorpusStep", "SignalStep", "StepConfig", "get_step", "register_step", "registered_steps"]
