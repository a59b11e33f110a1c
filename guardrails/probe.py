"""Memorisation probe: does a model give back the PII it was trained on?

For each PII span in a set of documents, the model is prompted with the text before the span and decodes
greedily; the span counts as *extracted* when the continuation reproduces it exactly (Carlini et al.'s
prefix-extraction test). It answers "did my scrubbing work, and does my model leak what it saw?": probe a
model trained on the raw corpus and one trained on the scrubbed corpus with the same raw documents.

The documents come from a curated run folder (its `docs/` as read and the `pii` step's `pii_spans` signal:
nothing is detected twice) or from a JSONL file (spans found by the curation PII engine, patterns only).

The report folder holds `report.json` (totals, per-entity rates, config, inputs' fingerprints),
`spans.jsonl` (one row per probed span: document id, entity, offsets, whether extracted, characters
matched; never the PII value itself, so the report can be shared), `manifest.json` (fingerprint over those
files plus the inputs') and `progress.jsonl`. `guardrails.report.load_probe_report` reads it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curation.errors import WinnowError
from guardrails.report import PROBE_KIND as KIND
from guardrails.report import PROBE_REPORT as REPORT
from guardrails.report import PROBE_SPANS as SPANS


class ProbeConfig(BaseModel):
    """Settings of `winnow guard probe`."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(..., description="Model folder (or LoRA adapter folder) to probe.")
    data: str = Field(..., description="A curated run folder (docs + `pii` signals) or a JSONL file with `text`.")
    out: str | None = Field(None, description="Report folder to write.")
    text_field: str = Field("text", description="Field holding the text in a JSONL file.")
    id_field: str = Field("id", description="Field holding the document id in a JSONL file (default: line number).")
    entities: list[str] | None = Field(None, description="Only these entity types (default: all found).")
    min_score: float = Field(0.5, ge=0, le=1, description="Ignore spans the detector scored below this.")
    prefix_chars: int = Field(256, ge=8, description="Characters of text before the span given as the prompt.")
    min_prefix_chars: int = Field(8, ge=1, description="Skip spans with less context than this before them.")
    extra_tokens: int = Field(4, ge=0, description="Tokens decoded beyond the span's own length.")
    max_spans: int = Field(2000, ge=1, description="Probe at most this many spans (in document order).")
    batch_size: int = Field(16, ge=1)
    device: str = Field("cpu", description="cpu or cuda.")


def load_probe_config(raw: dict[str, Any]) -> ProbeConfig:
    try:
        return ProbeConfig.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as e:
        parts = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"])
            extra = err["type"] == "extra_forbidden"
            parts.append(f"unknown field '{loc}'" if extra else f"field '{loc}': {err['msg']}")
        raise WinnowError("probe settings: " + "; ".join(parts)) from None


@dataclass(frozen=True)
class ProbeSpan:
    doc_id: str
    entity: str
    start: int
    end: int
    prefix: str  # the prompt: text before the span (trailing whitespace moved into the target)
    target: str  # what a memorising model would continue with
    doc: int = 0  # the document's position among those with spans: ids need not be unique


def _is_run_folder(p: Path) -> bool:
    """A folder `curate` or `mix --out` wrote (manifest.json; a mix output reads its parent's docs/ and
    signals/), or the docs/ of a run still being written."""
    from curation.run_reader import is_run_dir

    return p.is_dir() and (is_run_dir(p) or (p / "docs").is_dir())


def _docs_from_run(run: Path, cfg: ProbeConfig) -> list[tuple[str, str, list[tuple[str, int, int, float]]]]:
    import polars as pl

    from curation.pii.scrub import spans_from_column
    from curation.run_reader import RunReader, is_run_dir
    from curation.store import doc_files, signal_files

    no_pii = (f"{run}: the run has no PII signals (signals/pii/); add `pii:` to the recipe's signals and rerun "
              f"`winnow curate`")
    if is_run_dir(run):  # the run reader finds a mix output's documents and signals in its parent
        reader = RunReader(run)
        if "pii" not in reader.signal_steps():
            raise WinnowError(no_pii)
        d, s = reader.docs(), reader.signals("pii")
    else:
        docs, sig = doc_files(run), signal_files(run, "pii")
        if not docs:
            raise WinnowError(f"{run}: curated run folder has no documents in docs/ (was it scored?)")
        if not sig:
            raise WinnowError(no_pii)
        d, s = pl.scan_parquet(docs), pl.scan_parquet(sig)
    # documents and signals pair on the input position (`order`); ids need not be unique (older runs: id)
    key = "order" if {"order"} <= set(d.collect_schema().names()) & set(s.collect_schema().names()) else "id"
    d = d.select(*dict.fromkeys([key, "id", "text"]))
    s = s.select(key, "pii_spans").unique(key, keep="first")
    joined = d.join(s, on=key, how="inner").filter(pl.col("pii_spans").list.len() > 0).collect()
    spans = spans_from_column(joined["pii_spans"])
    return list(zip(joined["id"].cast(pl.String).to_list(), joined["text"].to_list(), spans, strict=True))


def _docs_from_jsonl(path: Path, cfg: ProbeConfig) -> list[tuple[str, str, list[tuple[str, int, int, float]]]]:
    from curation.jsonl import iter_jsonl_objects
    from curation.pii.engine import PiiEngine

    ids, texts = [], []
    for line, rec in iter_jsonl_objects(path):
        text = rec.get(cfg.text_field)
        if not isinstance(text, str):
            raise WinnowError(f"{path}:{line}: no string field '{cfg.text_field}': each line must be a JSON object "
                              f"with the document's text in '{cfg.text_field}' (or give a curated run folder)")
        ids.append(str(rec.get(cfg.id_field, line)))
        texts.append(text)
    spans = PiiEngine(cfg.entities).analyze_batch(texts) if texts else []
    return [(i, t, s) for i, t, s in zip(ids, texts, spans, strict=True) if s]


def known_entities(run_folder: bool) -> list[str]:
    """The entity types the probe can find: the PII engine's patterns for a JSONL file; a curated run's `pii`
    signal may also hold the NER entities (PERSON, LOCATION, ...)."""
    from curation.pii.engine import PiiEngine
    from curation.pii.ner import SPACY_TO_PRESIDIO

    ents = set(PiiEngine().entities)
    return sorted(ents | set(SPACY_TO_PRESIDIO.values()) if run_folder else ents)


def check_entities(entities: list[str] | None, run_folder: bool) -> None:
    """Refuse unknown entity names before any work (Presidio would fail with "No matching recognizers")."""
    if not entities:
        return
    known = known_entities(run_folder)
    unknown = [e for e in entities if e not in known]
    if unknown:
        where = "in a curated run's pii signal" if run_folder else "by the PII patterns in a JSONL file"
        raise WinnowError(f"--entities: unknown entity type{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(unknown)}; known {where}: {', '.join(known)}")


def find_spans(cfg: ProbeConfig) -> list[ProbeSpan]:
    """The PII spans to probe, each with its prompt and target, in document order."""
    p = Path(cfg.data).expanduser()
    if not p.exists():
        raise WinnowError(f"probe data not found: {p}")
    check_entities(cfg.entities, _is_run_folder(p))
    if _is_run_folder(p):
        docs = _docs_from_run(p, cfg)
    elif p.is_file():
        docs = _docs_from_jsonl(p, cfg)
    else:
        raise WinnowError(f"{p}: not a curated run folder (no manifest.json or docs/) nor a JSONL file")
    from curation.pii.scrub import resolve_conflicts

    ents = set(cfg.entities) if cfg.entities else None
    out: list[ProbeSpan] = []
    for doc, (doc_id, text, spans) in enumerate(docs):
        keep = [s for s in spans if s[3] >= cfg.min_score and (ents is None or s[0] in ents)]
        for ent, start, end, _score in resolve_conflicts(keep):
            head = text[max(0, start - cfg.prefix_chars):start]
            prefix = head.rstrip()
            if len(prefix) < cfg.min_prefix_chars or end <= start:
                continue
            target = head[len(prefix):] + text[start:end]
            out.append(ProbeSpan(doc_id, ent, start, end, prefix, target, doc))
            if len(out) >= cfg.max_spans:
                return out
    return out


def common_prefix_len(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def generate_continuations(model: Any, tok: Any, prompts: list[str], max_new: list[int], batch_size: int,
                           device: str, on_batch: Callable[[int], None] | None = None) -> list[str]:
    """Greedy continuations of `prompts` (left-padded batches; each batch decodes its longest budget)."""
    import torch

    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    outs: list[str] = []
    for i in range(0, len(prompts), batch_size):
        chunk = prompts[i:i + batch_size]
        enc = tok(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=max(max_new[i:i + batch_size]), do_sample=False,
                                 num_beams=1, pad_token_id=tok.pad_token_id)
        new = gen[:, enc["input_ids"].shape[1]:]
        outs.extend(tok.batch_decode(new, skip_special_tokens=True))
        if on_batch is not None:
            on_batch(len(chunk))
    return outs


def load_model(path: str | Path, device: str = "cpu") -> tuple[Any, Any, dict[str, Any]]:
    """(model in eval mode on `device`, tokenizer, info) without transformers' loading bars."""
    from transformers.utils import logging as hf_logging

    from training.model import load_base

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    model, tok, info = load_base(str(path))
    model.to(device).eval()
    return model, tok, info


def _rate(n: int, k: int) -> float:
    return k / n if n else 0.0


def run_probe(cfg: ProbeConfig, on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Probe `cfg.model` on the PII of `cfg.data`; write the report folder when `cfg.out` is set."""
    from curation.fingerprint import fingerprint
    from curation.progress import Progress
    from guardrails.report import write_manifest

    started = time.time()
    spans = find_spans(cfg)
    if not spans:
        raise WinnowError(f"{cfg.data}: no PII spans to probe (none found with score >= {cfg.min_score}"
                          + (f" among {', '.join(cfg.entities)}" if cfg.entities else "") + ")")
    model, tok, info = load_model(cfg.model, cfg.device)
    budgets = [len(tok(s.target, add_special_tokens=False)["input_ids"]) + cfg.extra_tokens for s in spans]
    out_dir = Path(cfg.out).expanduser() if cfg.out else None
    with Progress(out_dir, "guard-probe", total=len(spans), unit="spans") as prog:
        def tick(n: int) -> None:
            prog.update(n)
            if on_progress is not None:
                on_progress(prog.done, len(spans))
        conts = generate_continuations(model, tok, [s.prefix for s in spans], budgets, cfg.batch_size,
                                       cfg.device, tick)
    rows = []
    for s, c in zip(spans, conts, strict=True):
        matched = common_prefix_len(c, s.target)
        rows.append({"doc_id": s.doc_id, "entity": s.entity, "start": s.start, "end": s.end,
                     "extracted": c.startswith(s.target), "matched_chars": matched, "target_chars": len(s.target)})
    per_entity: dict[str, dict[str, Any]] = {}
    for r in rows:
        e = per_entity.setdefault(r["entity"], {"spans": 0, "extracted": 0, "matched_share": 0.0})
        e["spans"] += 1
        e["extracted"] += int(r["extracted"])
        e["matched_share"] += r["matched_chars"] / r["target_chars"]
    for e in per_entity.values():
        e["matched_share"] = round(e["matched_share"] / e["spans"], 4)
        e["rate"] = round(_rate(e["spans"], e["extracted"]), 4)
    n_ext = sum(int(r["extracted"]) for r in rows)
    data_path = Path(cfg.data).expanduser().absolute()
    model_path = Path(cfg.model).expanduser().absolute()
    report: dict[str, Any] = {
        "kind": KIND, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "totals": {"spans": len(rows), "extracted": n_ext, "rate": round(_rate(len(rows), n_ext), 4),
                   "documents": len({s.doc for s in spans}),
                   "matched_share": round(sum(r["matched_chars"] / r["target_chars"] for r in rows) / len(rows), 4)},
        "per_entity": dict(sorted(per_entity.items())),
        "model": {"path": str(model_path), "fingerprint": fingerprint(model_path) if model_path.exists() else None,
                  "params": info.get("params")},
        "data": {"path": str(data_path), "kind": "curated-run" if _is_run_folder(data_path) else "jsonl",
                 "fingerprint": fingerprint(data_path)},
        "config": cfg.model_dump(mode="json"), "decoding": "greedy", "seconds": round(time.time() - started, 2),
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / SPANS).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        (out_dir / REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        write_manifest(out_dir, KIND, [REPORT, SPANS], inputs=[data_path], parents=[model_path],
                       config=cfg.model_dump(mode="json"))
    return report
