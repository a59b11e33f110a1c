"""PII: curation's PII engine (Presidio's pattern recognizers, batched) and its scrubber, as a scanner.

Patterns only unless the policy says `ner: true`: installing the `ner` extra never changes a verdict. The
default entities leave out URL, DATE_TIME and UUID (a prompt is full of links, dates and ids; Presidio
reads parts of e-mail addresses as URLs). Redaction is curation's `Scrubber`: `<ENTITY_TYPE>` placeholders,
or salted hashes (`mode: hash`), exactly as the `pii_scrub` recipe transform writes them.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, ClassVar, Literal

from pydantic import Field

from guardrails.base import Scanner, ScannerConfig, Span, Verdict, chunks

DEFAULT_ENTITIES = ["CREDIT_CARD", "CRYPTO", "EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS", "MAC_ADDRESS",
                    "MEDICAL_LICENSE", "PHONE_NUMBER", "UK_NHS", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "US_ITIN",
                    "US_PASSPORT", "US_SSN"]
NER_ENTITIES = ["PERSON", "LOCATION"]
WARM_UP = "Reach j.doe@example.org or +1 415 555 0132 from 10.0.0.1, card 4111 1111 1111 1111."


@functools.cache
def _engine(entities: tuple[str, ...], ner: bool, ner_model: str | None) -> Any:
    """One PII engine per configuration and process (the input and output rails and the leakage scanner
    share it: building one compiles every Presidio pattern)."""
    from curation.pii.engine import PiiEngine
    from curation.pii.ner import load_ner

    model = load_ner("on", ner_model, n_process=0, entities=NER_ENTITIES) if ner else None
    engine = PiiEngine(list(entities) or None, ner=model)
    engine.analyze(WARM_UP)  # phonenumbers and the validators load lazily: not inside the first time budget
    return engine


class PiiConfig(ScannerConfig):
    entities: list[str] | None = Field(None, description="Presidio entity types (default: DEFAULT_ENTITIES)")
    ner: bool = Field(False, description="also run spaCy NER (PERSON, LOCATION); needs the `ner` extra")
    ner_model: str | None = Field(None, description="spaCy pipeline name or folder for NER")
    min_score: float = Field(0.4, ge=0, le=1, description="ignore spans Presidio scores below this")
    mode: Literal["replace", "hash"] = Field("replace", description="redaction: <TYPE> or salted hash")
    salt: str | None = Field(None, description="salt for mode: hash (at least 16 bytes)")


class Pii(Scanner):
    """Finds personal data with curation's PII engine and redacts it with curation's scrubber."""

    name: ClassVar[str] = "pii"
    kind: ClassVar[str] = "both"
    Config: ClassVar[type[ScannerConfig]] = PiiConfig
    default_threshold: ClassVar[float] = 0.4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from curation.pii.scrub import Scrubber

        cfg: PiiConfig = self.config  # type: ignore[assignment]
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        entities = list(cfg.entities or DEFAULT_ENTITIES)
        self.engine = _engine(tuple(e for e in entities if e not in NER_ENTITIES), cfg.ner, cfg.ner_model)
        self.scrubber = Scrubber(cfg.mode, cfg.salt)
        self._wanted = set(entities) | (set(NER_ENTITIES) if cfg.ner else set())

    def find(self, text: str) -> list[tuple[str, int, int, float]]:
        """The PII spans (entity, start, end, score) of a text at or above `min_score`."""
        cfg: PiiConfig = self.config  # type: ignore[assignment]
        out = []
        for pos, piece in chunks(text):
            out.extend((e, pos + s, pos + t, sc) for e, s, t, sc in self.engine.analyze(piece)
                       if sc >= cfg.min_score and e in self._wanted)
            if self.expired():
                break
        return out

    def _scan(self, text: str, prompt: str | None) -> Verdict:
        found = self.find(text)
        if not found:
            return self.verdict(text, 0.0)
        spans = [Span(s, t, e, round(sc, 4), text[s:t]) for e, s, t, sc in found]
        kinds = sorted({e for e, *_ in found})
        return self.verdict(text, max(sc for *_, sc in found), sanitized=self.scrubber.scrub(text, found),
                            spans=spans, reasons=[f"{k}: {sum(1 for f in found if f[0] == k)}" for k in kinds])
