"""PII signal step (`pii`): spans and counts from Presidio's recognizers run in batch (+ spaCy NER).

Columns: `pii_spans` (List[Struct{entity_type, start, end, score}], character offsets, end exclusive),
`pii_count` (all spans) and one `pii_<ENTITY>` count per entity type the engine detects (for example
`pii_EMAIL_ADDRESS`, `pii_PHONE_NUMBER`, `pii_PERSON` with NER). The `pii_scrub` transform reads
`pii_spans` in `mix`, so kept documents are scrubbed without detecting twice.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import Field

from curation.steps.base import SignalStep, StepConfig, register_step

SPAN_DTYPE = pl.List(pl.Struct({"entity_type": pl.String, "start": pl.Int64, "end": pl.Int64,
                                "score": pl.Float64}))


class PiiConfig(StepConfig):
    entities: list[str] | None = Field(None, description="Presidio entity types to detect (default: all)")
    ner: Literal["auto", "on", "off"] = Field("auto", description="spaCy NER for PERSON/LOCATION/NRP/DATE_TIME")
    ner_model: str | None = Field(None, description="spaCy pipeline name or folder (default en_core_web_sm)")
    n_process: int = Field(1, ge=0, description="NER worker processes per curate worker (0: NER inside it; a "
                                                "fresh process runs spaCy ~1.4x faster, see curation/pii/ner.py)")
    ner_batch_size: int = Field(64, ge=1, description="spaCy nlp.pipe batch size")
    score_threshold: float = Field(0.0, ge=0.0, le=1.0, description="drop spans scoring below this")
    context: bool = Field(True, description="raise scores of spans preceded by the recognizer's context words")
    fix_overlaps: bool = Field(True, description="drop phones inside IPs/cards/dates.. and URLs inside emails")


def spans_frame(ids: pl.Series, spans: list[list[tuple[str, int, int, float]]],
                entities: list[str]) -> pl.DataFrame:
    """`id`, `pii_spans`, `pii_count` and one count column per entity, built column-wise."""
    n = len(spans)
    rows = [i for i, sp in enumerate(spans) for _ in sp]
    flat = pl.DataFrame({
        "row": pl.Series(rows, dtype=pl.Int64),
        "entity_type": pl.Series([s[0] for sp in spans for s in sp], dtype=pl.String),
        "start": pl.Series([s[1] for sp in spans for s in sp], dtype=pl.Int64),
        "end": pl.Series([s[2] for sp in spans for s in sp], dtype=pl.Int64),
        "score": pl.Series([float(s[3]) for sp in spans for s in sp], dtype=pl.Float64),
    })
    base = pl.DataFrame({"row": pl.Series(range(n), dtype=pl.Int64)})
    nested = flat.group_by("row", maintain_order=True).agg(
        pii_spans=pl.struct("entity_type", "start", "end", "score"))
    ents = sorted(set(entities) | set(flat["entity_type"].unique().to_list()))
    counts = flat.group_by("row").agg(
        [(pl.col("entity_type") == e).sum().cast(pl.Int32).alias(f"pii_{e}") for e in ents])
    out = (base.join(nested, on="row", how="left").join(counts, on="row", how="left").sort("row")
           .with_columns(pl.col("pii_spans").fill_null(pl.lit([], dtype=SPAN_DTYPE)).cast(SPAN_DTYPE),
                         *[pl.col(f"pii_{e}").fill_null(0) for e in ents]))
    out = out.with_columns(pii_count=pl.col("pii_spans").list.len().cast(pl.Int32))
    return out.select(pl.Series("id", ids), "pii_spans", "pii_count", *[f"pii_{e}" for e in ents])


@register_step
class PiiStep(SignalStep):
    """Presidio's pattern recognizers in batch, plus spaCy NER when a pipeline is installed."""

    name = "pii"
    Config: ClassVar[type[StepConfig]] = PiiConfig

    def setup(self) -> None:
        from curation.pii.engine import PiiEngine
        from curation.pii.ner import load_ner

        c: PiiConfig = self.config  # type: ignore[assignment]
        ner = load_ner(c.ner, c.ner_model, n_process=c.n_process, batch_size=c.ner_batch_size,
                       entities=c.entities)
        self.engine = PiiEngine(c.entities, use_context=c.context, fix=c.fix_overlaps,
                                score_threshold=c.score_threshold, ner=ner)

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        if not hasattr(self, "engine"):
            self.setup()
        texts = batch["text"].fill_null("").to_list()
        spans = self.engine.analyze_batch(texts)
        return spans_frame(batch["id"], spans, self.engine.entities)

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
        return d
