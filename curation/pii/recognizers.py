"""Presidio's own English recognizers, built offline, as the batch engine's source of patterns and checks.

We take the same recognizer set `AnalyzerEngine` loads for English (its registry's predefined recognizers),
so the regexes (`PATTERNS`), checksum validators (`validate_result`/`invalidate_result`, e.g. Luhn for
cards, mod-97 for IBAN) and context words (`CONTEXT`) are Presidio's, not copies that drift. Two pieces of
Presidio reach for the network or are slow per document, and are replaced with equivalents:

* `EmailRecognizer.validate_result` calls `tldextract.extract`, which downloads the public-suffix list on
  first use; we validate with a `TLDExtract` that reads only the snapshot bundled with tldextract.
* `PhoneRecognizer` runs `phonenumbers.PhoneNumberMatcher` over the whole text once per region; the engine
  runs it only on candidate windows (see `engine.py`), with the recognizer's own regions and leniency.

Start-up: `import presidio_analyzer` runs the package `__init__`, whose registry imports the NLP engines
(spaCy, transformers, torch) and the Hugging Face recognizer (which tries transformers and torch): ~6 s per
process on this machine, for code a pattern-only worker never calls. `presidio_import_scope` builds the
recognizers with `presidio_analyzer.nlp_engine` replaced by an empty placeholder and those optional
libraries reported as absent; afterwards it removes the placeholder and every Presidio module imported
under it from `sys.modules`, so a later `import presidio_analyzer` (an `AnalyzerEngine`, the anonymizer)
gets the real, complete package. When the real package is already imported it is simply used.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# optional imports Presidio tries at import time (NLP engines, NER recognizers) that pattern recognizers never use
_OPTIONAL_HEAVY = ("torch", "transformers", "spacy", "stanza", "gliner")
_NLP_ENGINE = "presidio_analyzer.nlp_engine"


@dataclass
class PatternJob:
    """One regex of one Presidio pattern recognizer, compiled with that recognizer's flags when first used
    (`regex` compiles in Python: ~0.25 s for Presidio's set, and a small batch needs few of them)."""

    recognizer: Any
    entity: str
    name: str
    regex: str
    score: float
    flags: int
    iban_groups: bool = False  # IbanRecognizer's own analyze: trim the match to the last valid group
    _compiled: Any = field(default=None, repr=False)

    @property
    def compiled(self) -> Any:
        if self._compiled is None:
            import regex

            self._compiled = regex.compile(self.regex, flags=self.flags)
        return self._compiled


@dataclass
class RecognizerSet:
    """The recognizers the engine runs: pattern jobs, the phone recognizer and each entity's context words."""

    jobs: list[PatternJob]
    phone: Any | None
    context: dict[str, list[str]] = field(default_factory=dict)
    recognizer_names: list[str] = field(default_factory=list)

    @property
    def entities(self) -> list[str]:
        ents = {j.entity for j in self.jobs}
        if self.phone is not None:
            ents.add("PHONE_NUMBER")
        return sorted(ents)


@lru_cache(maxsize=1)
def offline_tld_extractor() -> Any:
    """A tldextract instance that never fetches the suffix list (uses the bundled snapshot)."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def email_is_valid(text: str) -> bool:
    """`EmailRecognizer.validate_result` with an offline suffix list: the domain has a known public suffix."""
    return offline_tld_extractor()(text).fqdn != ""


class _Placeholder(types.ModuleType):
    """Stands in for `presidio_analyzer.nlp_engine` while recognizers load: any name is an empty class
    (used in annotations and isinstance checks that pattern recognizers never reach)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = type(name, (), {"__module__": self.__name__})
        setattr(self, name, value)
        return value


@contextmanager
def presidio_import_scope() -> Iterator[None]:
    """Import Presidio's recognizers without its NLP engines (see the module docstring)."""
    if "presidio_analyzer" in sys.modules:
        yield
        return
    from curation.imports import absent

    before = set(sys.modules)
    placeholder = _Placeholder(_NLP_ENGINE)
    placeholder.__path__ = []  # a package: `from presidio_analyzer.nlp_engine.x import y` fails cleanly
    sys.modules[_NLP_ENGINE] = placeholder
    try:
        with absent(*_OPTIONAL_HEAVY):
            yield
    finally:
        for name in set(sys.modules) - before:
            if name == "presidio_analyzer" or name.startswith("presidio_analyzer."):
                del sys.modules[name]
        sys.modules.pop(_NLP_ENGINE, None)


def presidio_recognizers(language: str = "en", entities: list[str] | None = None) -> list[Any]:
    """The predefined recognizers `AnalyzerEngine` uses for `language` (pattern ones and the phone one)."""
    from presidio_analyzer import RecognizerRegistry

    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language])
    recs = registry.get_recognizers(language=language, all_fields=entities is None,
                                    entities=entities)
    return [r for r in recs if type(r).__name__ not in ("SpacyRecognizer", "StanzaRecognizer",
                                                         "TransformersRecognizer")]


def build_recognizer_set(language: str = "en", entities: list[str] | None = None) -> RecognizerSet:
    """Compile every pattern of every Presidio pattern recognizer for `language` into batch jobs; built once
    per process and set of entities (read-only once built; a worker forked after `curation.pii.warm` has run
    finds the default set built)."""
    return _built(language, tuple(entities) if entities is not None else None)


@lru_cache(maxsize=8)
def _built(language: str, entities: tuple[str, ...] | None) -> RecognizerSet:
    with presidio_import_scope():
        from presidio_analyzer import PatternRecognizer
        from presidio_analyzer.predefined_recognizers import IbanRecognizer, PhoneRecognizer

        recs = presidio_recognizers(language, list(entities) if entities is not None else None)
    jobs: list[PatternJob] = []
    phone = None
    context: dict[str, list[str]] = {}
    names: list[str] = []
    for rec in recs:
        names.append(type(rec).__name__)
        ent = rec.supported_entities[0]
        if rec.context:
            context[ent] = [w.lower() for w in rec.context]
        if isinstance(rec, PhoneRecognizer):
            phone = rec
            continue
        if not isinstance(rec, PatternRecognizer):
            continue
        flags = rec.global_regex_flags
        for p in rec.patterns:
            jobs.append(PatternJob(recognizer=rec, entity=ent, name=p.name, regex=p.regex, score=p.score,
                                   flags=flags, iban_groups=isinstance(rec, IbanRecognizer)))
    return RecognizerSet(jobs=jobs, phone=phone, context=context, recognizer_names=names)
