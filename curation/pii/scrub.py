"""Scrub PII spans out of text with Presidio `AnonymizerEngine` semantics, and the `pii_scrub` transform.

Overlapping spans are resolved by Presidio's own code (`AnonymizerEngine`'s conflict handling: merge
intersecting spans of one type, drop spans contained in another, then trim remaining intersections by
score), and the surviving spans are spliced in one pass per text. Two modes:

* `replace`: each span becomes `<ENTITY_TYPE>` (Presidio's default `replace` operator);
* `hash`: each span becomes the hex SHA-256 (or SHA-512) of its text with the recipe's salt appended,
  exactly as Presidio's `hash` operator computes it (salt of at least 16 bytes; a fixed salt makes the
  same value hash the same across documents, so joins on scrubbed ids still work).

Tests check the output equals `AnonymizerEngine.anonymize` on the same spans.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import polars as pl

from curation.errors import WinnowError
from curation.transforms import register_transform

MODES = ("replace", "hash")
Span = tuple[str, int, int, float]


class Scrubber:
    """Replaces spans in texts; one instance per (mode, salt, hash_type)."""

    def __init__(self, mode: str = "replace", salt: str | None = None, hash_type: str = "sha256") -> None:
        if mode not in MODES:
            raise WinnowError(f"pii_scrub: mode must be one of {', '.join(MODES)}, got {mode!r}")
        if mode == "hash":
            if not salt or len(salt.encode()) < 16:
                raise WinnowError("pii_scrub: hash mode needs a `salt` of at least 16 bytes in the recipe "
                                  "(Presidio's hash operator requires it)")
            if hash_type not in ("sha256", "sha512"):
                raise WinnowError(f"pii_scrub: hash_type must be sha256 or sha512, got {hash_type!r}")
        self.mode = mode
        self.salt = (salt or "").encode()
        self.hasher = getattr(hashlib, hash_type)
        self._anon_engine: Any = None

    @property
    def _anon(self) -> Any:
        """Presidio's AnonymizerEngine, loaded on first need: importing it pulls in presidio_analyzer,
        transformers and torch (seconds), and documents without overlapping spans never need it."""
        if self._anon_engine is None:
            from presidio_anonymizer import AnonymizerEngine

            self._anon_engine = AnonymizerEngine()
        return self._anon_engine

    def resolve(self, spans: list[Span]) -> list[Span]:
        """The spans AnonymizerEngine would operate on, after its own conflict resolution."""
        return resolve_conflicts(spans)

    def _replacement(self, entity: str, value: str) -> str:
        if self.mode == "replace":
            return f"<{entity}>"
        return self.hasher(value.encode() + self.salt).hexdigest()

    def scrub(self, text: str, spans: list[Span]) -> str:
        if not spans:
            return text
        parts = []
        pos = 0
        # Presidio applies operators from the end backwards; after conflict resolution spans do not
        # overlap, except that a trimmed span may start where another ends, so a forward splice is equal.
        for ent, s, e, _sc in self.resolve(spans):
            if s < pos:  # overlapping leftovers (should not happen after resolution); Presidio order wins
                return self._anonymize_reference(text, spans)
            parts.append(text[pos:s])
            parts.append(self._replacement(ent, text[s:e]))
            pos = e
        parts.append(text[pos:])
        return "".join(parts)

    def scrub_batch(self, texts: list[str], spans: list[list[Span]]) -> list[str]:
        return [self.scrub(t, sp) if sp else t for t, sp in zip(texts, spans, strict=True)]

    def _anonymize_reference(self, text: str, spans: list[Span]) -> str:
        from presidio_anonymizer.entities import RecognizerResult

        res = [RecognizerResult(e, s, t, sc) for e, s, t, sc in spans]
        return self._anon.anonymize(text, res, operators=self.operators(spans)).text

    def operators(self, spans: list[Span]) -> dict[str, Any]:
        """The AnonymizerEngine operator config equivalent to this scrubber (used by tests and fallback)."""
        from presidio_anonymizer.entities import OperatorConfig

        if self.mode == "hash":
            return {"DEFAULT": OperatorConfig("hash", {"hash_type": self.hasher().name, "salt": self.salt})}
        return {e: OperatorConfig("replace", {"new_value": f"<{e}>"}) for e in {s[0] for s in spans}}


def _intersection(a: Span, b: Span) -> int:
    if a[2] < b[1] or b[2] < a[1]:
        return 0
    return min(a[2], b[2]) - max(a[1], b[1])


def resolve_conflicts(spans: list[Span]) -> list[Span]:
    """Presidio AnonymizerEngine's conflict resolution (MERGE_SIMILAR_OR_CONTAINED), on tuples.

    A port of `_merge_same_entity_type_intersections` then `_remove_contained_results` (presidio-anonymizer
    2.2), tested equal to Presidio's own on random span sets (tests/curation/test_pii.py). Ported because
    importing presidio_anonymizer pulls in presidio_analyzer, transformers and torch: seconds of start-up
    that `winnow mix` would pay for a few documents with overlapping spans.
    """
    ordered = sorted(spans, key=lambda x: (x[1], x[2]))
    if all(a[2] <= b[1] for a, b in zip(ordered, ordered[1:], strict=False)):
        return [sp for sp in ordered if sp[2] > sp[1]]  # nothing overlaps: nothing to resolve
    # 1. merge intersecting spans of the same type (union of spans, highest score, last position)
    by_type: dict[str, list[tuple[int, list]]] = {}
    for pos, sp in enumerate(spans):
        by_type.setdefault(sp[0], []).append((pos, list(sp)))
    merged: list[tuple[int, list]] = []
    for items in by_type.values():
        items.sort(key=lambda it: (it[1][1], it[1][2]))
        pos, cur = items[0]
        for npos, nxt in items[1:]:
            if _intersection(tuple(cur), tuple(nxt)) == 0:
                merged.append((pos, cur))
                pos, cur = npos, nxt
                continue
            cur[1], cur[2], cur[3] = min(cur[1], nxt[1]), max(cur[2], nxt[2]), max(cur[3], nxt[3])
            pos = max(pos, npos)
        merged.append((pos, cur))
    merged.sort(key=lambda it: it[0])
    res = [tuple(c) for _, c in merged]
    # 2. drop spans contained in another; of equal spans keep the highest score (the last on a tie)
    order = sorted(range(len(res)), key=lambda i: (res[i][1], -res[i][2]))
    dropped: set[int] = set()
    largest_end: int | None = None
    g = 0
    while g < len(order):
        first = res[order[g]]
        h = g
        while h < len(order) and res[order[h]][1] == first[1] and res[order[h]][2] == first[2]:
            h += 1
        group = order[g:h]
        if largest_end is not None and largest_end >= first[2]:
            dropped.update(group)
        else:
            survivor = max(group, key=lambda i: (res[i][3], i))
            dropped.update(i for i in group if i != survivor)
        if largest_end is None or first[2] > largest_end:
            largest_end = first[2]
        g = h
    kept = [r for i, r in enumerate(res) if i not in dropped]
    return sorted(kept, key=lambda x: (x[1], x[2]))


def spans_from_column(col: pl.Series) -> list[list[Span]]:
    """The `spans` signal column (List[Struct{entity_type,start,end,score}]) as Python tuples."""
    out: list[list[Span]] = []
    for row in col.to_list():
        out.append([(d["entity_type"], int(d["start"]), int(d["end"]), float(d["score"])) for d in row or []])
    return out


def _read_spans(run_dir: Path, ids: pl.Series, signal: str, batch: str | None = None) -> pl.Series:
    folder = run_dir / "signals" / signal
    same_batch = folder / f"{batch}.parquet" if batch else None
    # mix hands one batch at a time: its spans are in the signal file of the same name (no scan of all files)
    files = [same_batch] if same_batch is not None and same_batch.is_file() else sorted(folder.glob("*.parquet"))
    if not files:
        raise WinnowError(f"pii_scrub needs the `{signal}` signal: no files in {run_dir / 'signals' / signal}; "
                          f"add `{signal}:` to the recipe's signals")
    want = pl.DataFrame({"id": ids})
    sig = (pl.scan_parquet(files).select("id", "pii_spans").join(want.lazy(), on="id", how="semi")
           .unique("id", keep="first").collect())
    joined = want.join(sig, on="id", how="left", maintain_order="left")
    return joined["pii_spans"]


@register_transform("pii_scrub")
def pii_scrub(kept: pl.DataFrame, params: dict[str, Any], run_dir: Path) -> pl.Series:
    """Recipe transform: scrub kept documents with the spans the `pii` step stored (no re-detection).

    params: `mode` (replace|hash), `salt` (hash mode), `hash_type` (sha256|sha512), `entities` (only these
    types; default all), `min_score` (ignore spans scoring below it, default 0), `signal` (default `pii`).
    When `kept` already carries a `pii_spans` column it is used as is.
    """
    unknown = set(params) - {"mode", "salt", "hash_type", "entities", "min_score", "signal"}
    if unknown:
        raise WinnowError(f"transforms.pii_scrub: unknown field(s) {', '.join(sorted(unknown))}")
    scrubber = Scrubber(params.get("mode", "replace"), params.get("salt"), params.get("hash_type", "sha256"))
    batch = kept["_batch"][0] if "_batch" in kept.columns and kept.height else None
    col = kept["pii_spans"] if "pii_spans" in kept.columns else _read_spans(
        Path(run_dir), kept["id"], params.get("signal", "pii"), batch)
    text = kept["text"].cast(pl.String).alias("text")
    # only documents with spans go through Python (most web documents have none)
    idx = (col.list.len().fill_null(0) > 0).arg_true()
    if idx.len() == 0:
        return text
    spans = spans_from_column(col.gather(idx))
    ents = set(params["entities"]) if params.get("entities") else None
    min_score = float(params.get("min_score", 0.0))
    spans = [[s for s in sp if (ents is None or s[0] in ents) and s[3] >= min_score] for sp in spans]
    scrubbed = scrubber.scrub_batch(text.gather(idx).to_list(), spans)
    return text.clone().scatter(idx, pl.Series(scrubbed, dtype=pl.String))
