"""Span-level precision, recall and F2 of the PII engine on presidio-research's dataset format.

Input: a JSON list of records `{"full_text": str, "spans": [{"entity_type", "start_position",
"end_position", "entity_value"?}, ...]}` (presidio-research's `InputSample` JSON; other keys ignored).

Match rule: a predicted span matches a gold span when both have the same Presidio entity type (after
`DATASET_TO_PRESIDIO`) and their character intersection-over-union is >= `iou` (0.5 by default). Matching
is one-to-one and greedy by IoU (highest first), so a gold span found twice counts once and the extra
prediction is a false positive. Per entity: precision = matched predictions / predictions, recall =
matched gold / gold (support), F2 = 5PR / (4P + R) (recall weighted, as Presidio recommends). A dataset
type that maps to no Presidio entity keeps its own name and scores recall 0 (we never predict it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curation.errors import WinnowError

# Dataset type -> Presidio entity. presidio-research's synthetic set (presidio_synth_dataset_v2) uses
# Faker-style names; addresses and places are Presidio's LOCATION, domain names its URL. TITLE, AGE and
# ZIP_CODE have no Presidio recognizer and stay unmapped (recall 0). Presidio names map to themselves.
DATASET_TO_PRESIDIO: dict[str, str] = {
    "PERSON": "PERSON", "PER": "PERSON", "FIRST_NAME": "PERSON", "LAST_NAME": "PERSON", "NAME": "PERSON",
    "STREET_ADDRESS": "LOCATION", "ADDRESS": "LOCATION", "GPE": "LOCATION", "LOC": "LOCATION",
    "LOCATION": "LOCATION", "CITY": "LOCATION", "COUNTRY": "LOCATION", "STATE": "LOCATION",
    "PHONE_NUMBER": "PHONE_NUMBER", "PHONE": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD", "CREDIT_CARD_NUMBER": "CREDIT_CARD",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS", "EMAIL": "EMAIL_ADDRESS",
    "IP_ADDRESS": "IP_ADDRESS", "DATE_TIME": "DATE_TIME", "DATE": "DATE_TIME", "BIRTHDAY": "DATE_TIME",
    "ORGANIZATION": "ORGANIZATION", "ORG": "ORGANIZATION", "NRP": "NRP", "NORP": "NRP",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE", "IBAN_CODE": "IBAN_CODE", "IBAN": "IBAN_CODE",
    "US_SSN": "US_SSN", "SSN": "US_SSN", "DOMAIN_NAME": "URL", "URL": "URL",
    "US_PASSPORT": "US_PASSPORT", "US_BANK_NUMBER": "US_BANK_NUMBER", "US_ITIN": "US_ITIN",
    "UK_NHS": "UK_NHS", "CRYPTO": "CRYPTO", "MEDICAL_LICENSE": "MEDICAL_LICENSE",
    "MAC_ADDRESS": "MAC_ADDRESS", "UUID": "UUID",
}

Gold = tuple[str, int, int]


def load_dataset(path: str | Path, limit: int | None = None) -> tuple[list[str], list[list[Gold]]]:
    """Texts and gold spans (dataset type, start, end) from a presidio-research JSON file."""
    p = Path(path)
    if not p.is_file():
        raise WinnowError(f"PII dataset not found: {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WinnowError(f"{p}: not valid JSON (line {e.lineno}): {e.msg}") from None
    if not isinstance(data, list):
        raise WinnowError(f"{p}: expected a JSON list of records with full_text and spans")
    texts: list[str] = []
    golds: list[list[Gold]] = []
    for i, rec in enumerate(data[:limit] if limit else data):
        if not isinstance(rec, dict) or not isinstance(rec.get("full_text"), str):
            raise WinnowError(f"{p}: record {i}: missing string field `full_text`")
        spans = rec.get("spans") or []
        if not isinstance(spans, list):
            raise WinnowError(f"{p}: record {i}: `spans` must be a list")
        gold = []
        for j, s in enumerate(spans):
            try:
                t, a, b = str(s["entity_type"]), int(s["start_position"]), int(s["end_position"])
            except (KeyError, TypeError, ValueError):
                raise WinnowError(f"{p}: record {i} span {j}: needs entity_type, start_position and "
                                  "end_position (integers)") from None
            if not 0 <= a < b <= len(rec["full_text"]):
                raise WinnowError(f"{p}: record {i} span {j}: positions {a}..{b} outside the text "
                                  f"(length {len(rec['full_text'])})")
            gold.append((t, a, b))
        texts.append(rec["full_text"])
        golds.append(gold)
    return texts, golds


def map_type(t: str, mapping: dict[str, str] | None = None) -> str:
    return (mapping or DATASET_TO_PRESIDIO).get(t, t)


def _iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def score_spans(golds: list[list[Gold]], preds: list[list[tuple[str, int, int, float]]], *,
                iou: float = 0.5, mapping: dict[str, str] | None = None,
                entities: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Per-entity precision, recall, F2 and support. Predicted types outside `entities` (when given)
    are ignored; gold types are mapped with `mapping` (default `DATASET_TO_PRESIDIO`)."""
    tp_pred: dict[str, int] = {}
    n_pred: dict[str, int] = {}
    tp_gold: dict[str, int] = {}
    n_gold: dict[str, int] = {}
    keep = set(entities) if entities else None
    for gold, pred in zip(golds, preds, strict=True):
        g = [(map_type(t, mapping), a, b) for t, a, b in gold]
        p = [(t, a, b) for t, a, b, _ in pred if keep is None or t in keep]
        for t, _, _ in g:
            n_gold[t] = n_gold.get(t, 0) + 1
        for t, _, _ in p:
            n_pred[t] = n_pred.get(t, 0) + 1
        pairs = []
        for gi, (gt, ga, gb) in enumerate(g):
            for pi, (pt, pa, pb) in enumerate(p):
                if gt == pt:
                    v = _iou((ga, gb), (pa, pb))
                    if v >= iou:
                        pairs.append((v, gi, pi))
        used_g: set[int] = set()
        used_p: set[int] = set()
        for _v, gi, pi in sorted(pairs, reverse=True):
            if gi in used_g or pi in used_p:
                continue
            used_g.add(gi)
            used_p.add(pi)
            t = g[gi][0]
            tp_gold[t] = tp_gold.get(t, 0) + 1
            tp_pred[t] = tp_pred.get(t, 0) + 1
    out: dict[str, dict[str, float]] = {}
    for t in sorted(set(n_gold) | set(n_pred)):
        prec = tp_pred.get(t, 0) / n_pred[t] if n_pred.get(t) else 0.0
        rec = tp_gold.get(t, 0) / n_gold[t] if n_gold.get(t) else 0.0
        f2 = 5 * prec * rec / (4 * prec + rec) if (prec + rec) > 0 else 0.0
        out[t] = {"precision": round(prec, 4), "recall": round(rec, 4), "f2": round(f2, 4),
                  "support": n_gold.get(t, 0)}
    return out


def evaluate_file(path: str | Path, engine: Any, *, limit: int | None = None, iou: float = 0.5,
                  batch_size: int = 2000) -> dict[str, dict[str, float]]:
    """Run `engine.analyze_batch` over a presidio-research file and score it."""
    texts, golds = load_dataset(path, limit)
    preds: list[list[tuple[str, int, int, float]]] = []
    for i in range(0, len(texts), batch_size):
        preds.extend(engine.analyze_batch(texts[i:i + batch_size]))
    return score_spans(golds, preds, iou=iou)


def format_table(metrics: dict[str, dict[str, float]]) -> str:
    lines = [f"{'entity':<20} {'precision':>9} {'recall':>7} {'f2':>7} {'support':>8}"]
    for t, m in metrics.items():
        lines.append(f"{t:<20} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f2']:>7.3f} {m['support']:>8}")
    return "\n".join(lines)
