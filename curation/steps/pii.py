"""PII signal step (`pii`): spans and counts from Presidio's recognizers run in batch (+ spaCy NER).

What is detected is what the recipe asks for, and nothing else: by default the structured identifiers
(`STRUCTURED`: email, phone, IP, credit card, IBAN, national ids, crypto wallets, URLs that carry
credentials). Names, places, dates and nationalities (`NER_ENTITIES`) are found only when the recipe lists
them in `entities` AND sets `ner: on`; installing spaCy or a pipeline never changes a run by itself. Those
spans must reach `ner_min_score` and are dropped when their text is on the `allow_list` (public figures,
places, product names: "Shakespeare", "the United States", "GitHub").

Columns: `pii_spans` (List[Struct{entity_type, start, end, score}], character offsets, end exclusive),
`pii_count` (all spans), `pii_chars` (text length), one `pii_<ENTITY>` count per entity type detected,
`pii_density_max` (the densest entity type's spans per 1,000 characters, texts shorter than 1,000
characters counted as 1,000, so one e-mail address in a short post is not "dense") and
`pii_density_entity` (that type). The `pii_scrub` transform reads `pii_spans` in `mix`, so kept documents
are scrubbed without detecting twice.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from curation.steps.base import SignalStep, StepConfig, register_step

SPAN_DTYPE = pl.List(pl.Struct({"entity_type": pl.String, "start": pl.Int64, "end": pl.Int64,
                                "score": pl.Float64}))


# Structured identifiers: a pattern plus (mostly) a checksum or context words finds them precisely, and
# scrubbing them never removes words a reader needs. URL_CREDENTIALS is ours (see `credential_urls`);
# Presidio's plain URL is not PII and is not scrubbed by default.
STRUCTURED = ["EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "CRYPTO", "US_SSN",
              "US_ITIN", "US_PASSPORT", "US_DRIVER_LICENSE", "US_BANK_NUMBER", "UK_NHS", "MAC_ADDRESS",
              "MEDICAL_LICENSE", "URL_CREDENTIALS"]
NER_ENTITIES = ["PERSON", "LOCATION", "NRP", "DATE_TIME"]
KNOWN = STRUCTURED + NER_ENTITIES + ["URL", "UUID"]  # URL and UUID: Presidio finds them; neither is PII by itself
URL_CREDENTIALS = "URL_CREDENTIALS"
DENSITY_MIN_CHARS = 1000
# scheme://user:password@host, or a query parameter that carries a secret
_CRED_URL = re.compile(
    r"\b[a-z][a-z0-9+.\-]{1,15}://(?:[^\s/?#@:]+:[^\s/?#@]+@[^\s]+"
    r"|[^\s?#]+\?[^\s#]*\b(?:password|passwd|pwd|token|access_token|api_key|apikey|secret|auth)=[^\s&#]+[^\s]*)",
    re.IGNORECASE)


def credential_urls(text: str) -> list[tuple[str, int, int, float]]:
    """URLs that carry a password (`user:pass@`) or a secret query parameter (`?token=...`)."""
    return [(URL_CREDENTIALS, m.start(), m.end(), 0.9) for m in _CRED_URL.finditer(text)]


class PiiConfig(StepConfig):
    entities: list[str] = Field(default_factory=lambda: list(STRUCTURED),
                                description="entity types to detect: structured identifiers by default; add "
                                            "PERSON/LOCATION/NRP/DATE_TIME (with ner: on) to scrub those too")
    ner: Literal["on", "off"] = Field("off", description="spaCy NER for PERSON/LOCATION/NRP/DATE_TIME; only "
                                                         "when the recipe says on (never switched on by an install)")
    ner_min_score: float = Field(0.85, ge=0.0, le=1.0,
                                 description="PERSON/LOCATION/NRP/DATE_TIME spans scoring below this are ignored")
    allow_list: list[str] = Field(default_factory=list,
                                  description="span texts never reported (case-insensitive, exact), e.g. public "
                                              "figures, places and product names")
    ner_model: str | None = Field(None, description="spaCy pipeline name or folder (default en_core_web_sm)")
    n_process: int = Field(1, ge=0, description="NER worker processes per curate worker (0: NER inside it; a "
                                                "fresh process runs spaCy ~1.4x faster, see curation/pii/ner.py)")
    ner_batch_size: int = Field(64, ge=1, description="spaCy nlp.pipe batch size")
    score_threshold: float = Field(0.0, ge=0.0, le=1.0, description="drop spans scoring below this")
    context: bool = Field(True, description="raise scores of spans preceded by the recognizer's context words")
    fix_overlaps: bool = Field(True, description="drop phones inside IPs/cards/dates.. and URLs inside emails")

    @field_validator("ner", mode="before")
    @classmethod
    def _ner_words(cls, v: Any) -> Any:
        if v == "auto":
            raise ValueError("`ner: auto` is gone (an install must not change what a run does): say on or off")
        return {True: "on", False: "off"}.get(v, v) if isinstance(v, bool) else v

    @field_validator("entities")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        v = list(dict.fromkeys(v))
        if not v:
            raise ValueError("entities is empty: list at least one entity type, or drop the pii signal")
        bad = [e for e in v if e not in KNOWN]
        if bad:
            raise ValueError(f"unknown entity type(s) {', '.join(bad)}; known: "
                             f"{', '.join(KNOWN)}")
        return v

    @model_validator(mode="after")
    def _ner_matches_entities(self) -> PiiConfig:
        wanted = [e for e in self.entities if e in NER_ENTITIES and e != "DATE_TIME"]
        if wanted and self.ner == "off":
            raise ValueError(f"entities {', '.join(wanted)} need NER: set `ner: on` (and install a spaCy pipeline)")
        if self.ner == "on" and not any(e in NER_ENTITIES for e in self.entities):
            raise ValueError("ner: on finds only PERSON/LOCATION/NRP/DATE_TIME: list them in entities")
        return self

    @property
    def pattern_entities(self) -> list[str]:
        """What Presidio's pattern recognizers look for: the wanted types plus the ones that tell a phone
        number from a date or a URL (`PHONE_BLOCKERS`: found, used to drop misread phones, not reported)."""
        wanted = [e for e in self.entities if e not in NER_ENTITIES[:3] and e != URL_CREDENTIALS]
        if "PHONE_NUMBER" in wanted and self.fix_overlaps:
            wanted += [e for e in ("DATE_TIME", "URL") if e not in wanted]
        return wanted


def spans_frame(ids: pl.Series, spans: list[list[tuple[str, int, int, float]]],
                entities: list[str], chars: pl.Series | None = None) -> pl.DataFrame:
    """`id`, `pii_spans`, `pii_count`, `pii_chars`, one count column per entity and the density columns,
    built column-wise."""
    n = len(spans)
    rows = [i for i, sp in enumerate(spans) for _ in sp]
    flat = pl.DataFrame({
        "row": pl.Series(rows, dtype=pl.Int64),
        "entity_type": pl.Series([s[0] for sp in spans for s in sp], dtype=pl.String),
        "start": pl.Series([s[1] for sp in spans for s in sp], dtype=pl.Int64),
        "end": pl.Series([s[2] for sp in spans for s in sp], dtype=pl.Int64),
        "score": pl.Series([float(s[3]) for sp in spans for s in sp], dtype=pl.Float64),
    })
    base = pl.DataFrame({"row": pl.Series(range(n), dtype=pl.Int64),
                         "pii_chars": (chars.cast(pl.Int64) if chars is not None
                                       else pl.Series([0] * n, dtype=pl.Int64))})
    nested = flat.group_by("row", maintain_order=True).agg(
        pii_spans=pl.struct("entity_type", "start", "end", "score"))
    ents = sorted(set(entities) | set(flat["entity_type"].unique().to_list()))
    counts = flat.group_by("row").agg(
        [(pl.col("entity_type") == e).sum().cast(pl.Int32).alias(f"pii_{e}") for e in ents])
    out = (base.join(nested, on="row", how="left").join(counts, on="row", how="left").sort("row")
           .with_columns(pl.col("pii_spans").fill_null(pl.lit([], dtype=SPAN_DTYPE)).cast(SPAN_DTYPE),
                         *[pl.col(f"pii_{e}").fill_null(0) for e in ents]))
    out = out.with_columns(pii_count=pl.col("pii_spans").list.len().cast(pl.Int32))
    per_k = pl.max_horizontal(pl.col("pii_chars"), pl.lit(DENSITY_MIN_CHARS)).cast(pl.Float64) / 1000.0
    if ents:
        dens = [pl.col(f"pii_{e}") / per_k for e in ents]
        out = out.with_columns(pii_density_max=pl.max_horizontal(dens).cast(pl.Float64))
        # the densest type (first in name order on a tie); null when the document has no span
        best = pl.lit(None, dtype=pl.String)
        for e, d in reversed(list(zip(ents, dens, strict=True))):
            best = pl.when((d == pl.col("pii_density_max")) & (pl.col(f"pii_{e}") > 0)).then(pl.lit(e)).otherwise(best)
        out = out.with_columns(pii_density_entity=best)
    else:
        out = out.with_columns(pii_density_max=pl.lit(0.0), pii_density_entity=pl.lit(None, dtype=pl.String))
    return out.select(pl.Series("id", ids), "pii_spans", "pii_count", "pii_chars", *[f"pii_{e}" for e in ents],
                      "pii_density_max", "pii_density_entity")


@register_step
class PiiStep(SignalStep):
    """Presidio's pattern recognizers in batch, plus spaCy NER when a pipeline is installed."""

    name = "pii"
    Config: ClassVar[type[StepConfig]] = PiiConfig
    preload = ("curation.pii.warm",)  # the default recognizer set, built once in the workers' server

    def output_columns(self) -> list[str] | None:
        """Fixed columns plus one count per entity asked for (see the module docstring)."""
        ents = sorted(self.config.entities)  # type: ignore[attr-defined]
        return ["pii_spans", "pii_count", "pii_chars", *[f"pii_{e}" for e in ents], "pii_density_max",
                "pii_density_entity"]

    def setup(self) -> None:
        from curation.pii.engine import PiiEngine

        c: PiiConfig = self.config  # type: ignore[assignment]
        ner = None
        if c.ner == "on":
            from curation.pii.ner import load_ner

            ner = load_ner("on", c.ner_model, n_process=c.n_process, batch_size=c.ner_batch_size,
                           entities=[e for e in c.entities if e in NER_ENTITIES])
        self.engine = PiiEngine(c.pattern_entities, use_context=c.context, fix=c.fix_overlaps,
                                score_threshold=c.score_threshold, ner=ner)
        self._allow = {a.strip().lower() for a in c.allow_list if a.strip()}

    def _keep(self, text: str, span: tuple[str, int, int, float]) -> bool:
        c: PiiConfig = self.config  # type: ignore[assignment]
        if span[0] not in c.entities:
            return False
        if span[0] in NER_ENTITIES and span[3] < c.ner_min_score:
            return False
        return not self._allow or text[span[1]:span[2]].strip().lower() not in self._allow

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        if not hasattr(self, "engine"):
            self.setup()
        c: PiiConfig = self.config  # type: ignore[assignment]
        texts = batch["text"].fill_null("").to_list()
        spans = self.engine.analyze_batch(texts) if c.pattern_entities or self.engine.ner is not None \
            else [[] for _ in texts]
        if URL_CREDENTIALS in c.entities:
            has = batch.select(pl.col("text").fill_null("").str.contains("://", literal=True))["text"].to_list()
            for i in (i for i, h in enumerate(has) if h):
                found = credential_urls(texts[i])
                if found:  # a credential URL replaces the plain URL/EMAIL spans inside it
                    spans[i] = sorted([s for s in spans[i] if not any(f[1] <= s[1] and s[2] <= f[2] for f in found)]
                                      + found, key=lambda x: (x[1], x[2], x[0]))
        spans = [[s for s in sp if self._keep(t, s)] if sp else sp for t, sp in zip(texts, spans, strict=True)]
        return spans_frame(batch["id"], spans, list(c.entities), batch["text"].fill_null("").str.len_chars())

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        eng = getattr(self, "engine", None)
        if eng is not None:
            from importlib.metadata import version

            d["presidio_analyzer"] = version("presidio-analyzer")
            d["recognizers"] = eng.recognizers.recognizer_names
            d["ner"] = eng.ner.describe() if eng.ner is not None else None
        else:
            from curation.pii.ner import find_model

            c: PiiConfig = self.config  # type: ignore[assignment]
            d["ner"] = None if c.ner == "off" else {"ner_model": find_model(c.ner_model)}
        d["entities"] = list(self.config.entities)  # type: ignore[attr-defined]
        return d
