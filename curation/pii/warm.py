"""Imported once by the curate workers' server (`PiiStep.preload`): builds the default `pii` step's pattern
engine there (Presidio's recognizers, their compiled regexes, the RE2 scanners), so every worker forked from
the server starts with it built instead of spending ~1.5 s of CPU each on the same work."""

from __future__ import annotations

from curation.pii.engine import PiiEngine
from curation.steps.pii import PiiConfig

for _job in PiiEngine(PiiConfig().pattern_entities).recognizers.jobs:
    _job.compiled  # noqa: B018 - compiled here once, not in every worker
