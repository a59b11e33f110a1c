"""Memorisation probe: a tiny model trained on planted PII gives it back; one trained on the scrubbed copy does not.

Both models are trained here with the project's own SFT runner (plain-text continued pretraining) on twelve
short records, each with an email address and an SSN; the probe then prompts with the text before each value.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from curation.errors import WinnowError
from curation.fingerprint import folder_fingerprint
from curation.pii.synth import pii_value

STEPS = 300


def _records() -> tuple[list[dict], list[str]]:
    rng = random.Random(0)
    recs, values = [], []
    for k in range(12):
        email, ssn = pii_value("EMAIL_ADDRESS", rng), pii_value("US_SSN", rng)
        values += [email, ssn]
        recs.append({"id": f"doc{k}", "text": f"Customer file {k} of the northern branch. The account holder can be "
                                              f"reached at {email} for billing. Their social security number is "
                                              f"{ssn} as recorded in {2000 + k}."})
    return recs, values


def _write(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Raw and scrubbed corpora and a model trained on each (same base, steps and seed)."""
    from curation.pii.engine import PiiEngine
    from curation.pii.scrub import Scrubber
    from training.config import load_config
    from training.sft import run_sft
    from training.tiny import build_tiny_model

    d = tmp_path_factory.mktemp("probe")
    recs, values = _records()
    texts = [r["text"] for r in recs]
    scrubbed = Scrubber("replace").scrub_batch(texts, PiiEngine().analyze_batch(texts))
    raw = _write(d / "raw.jsonl", recs)
    clean = _write(d / "scrubbed.jsonl", [{"id": r["id"], "text": t} for r, t in zip(recs, scrubbed, strict=True)])
    base = build_tiny_model([raw], d / "base", vocab_size=400, hidden=64, layers=1, heads=2)
    models = {}
    for name, data in (("raw", raw), ("scrubbed", clean)):
        cfg = load_config(None, {"model": str(base), "data": [str(data)], "out": str(d / f"model_{name}"),
                                 "max_steps": STEPS, "batch_size": 4, "max_length": 64, "learning_rate": 3e-3,
                                 "lr_scheduler": "constant", "logging_steps": 100, "save_steps": 10_000,
                                 "device": "cpu"})
        models[name] = run_sft(cfg).out_dir
    return {"dir": d, "raw": raw, "scrubbed": clean, "values": values, "models": models, "texts": scrubbed}


@pytest.mark.slow
def test_scrubbing_lowers_the_extraction_rate(trained: dict) -> None:
    from guardrails.probe import ProbeConfig, find_spans, run_probe

    cfg = ProbeConfig(model=str(trained["models"]["raw"]), data=str(trained["raw"]))
    spans = find_spans(cfg)
    # every planted value is probed, with the text before it as the prompt
    assert sorted(s.target.strip() for s in spans) == sorted(trained["values"])
    assert all(not s.prefix.endswith(" ") and len(s.prefix) > 8 for s in spans)
    assert not any("@" in t or "-" in t.split("number is")[-1][:6] for t in trained["texts"])  # scrub worked
    before = run_probe(cfg)
    after = run_probe(cfg.model_copy(update={"model": str(trained["models"]["scrubbed"])}))
    assert before["totals"]["spans"] == after["totals"]["spans"] == 24
    assert before["totals"]["extracted"] > 0
    assert after["totals"]["extracted"] < before["totals"]["extracted"]
    assert after["totals"]["matched_share"] < before["totals"]["matched_share"]
    assert set(before["per_entity"]) == {"EMAIL_ADDRESS", "US_SSN"}


@pytest.mark.slow
def test_probe_command_writes_a_registered_fingerprinted_report(trained: dict, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    from app.cli import main
    from app.registry import RunRegistry
    from curation.progress import read_progress
    from guardrails.report import load_probe_report

    out, ws = tmp_path / "report", tmp_path / "ws"
    rc = main(["guard", "probe", "--model", str(trained["models"]["raw"]), "--data", str(trained["raw"]),
               "--out", str(out), "--json", "--workspace", str(ws)])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    rep = load_probe_report(out)
    assert rep.spans == 24 and rep.extracted == printed["totals"]["extracted"] > 0
    assert sum(r["extracted"] for r in rep.rows()) == rep.extracted
    assert {r["entity"] for r in rep.table()} == {"EMAIL_ADDRESS", "US_SSN"}
    assert rep.fingerprint.startswith("xxh3-128:") and folder_fingerprint(out) == rep.fingerprint
    lineage = rep.manifest["lineage"]
    assert [p["path"] for p in lineage["parents"]] == [str(Path(trained["models"]["raw"]).absolute())]
    assert lineage["inputs"][0]["path"] == str(trained["raw"].absolute())
    # the report never holds the PII values themselves
    written = "".join(p.read_text() for p in out.iterdir() if p.is_file())
    assert not any(v in written for v in trained["values"])
    prog = read_progress(out)
    assert prog[-1]["stage"] == "guard-probe" and prog[-1]["done"] == 24 and prog[-1]["msg"] == "done"
    with RunRegistry(ws) as reg:
        run = reg.list(kind="guard-probe")[0]
    assert run.status == "done" and run.metrics["extracted"] == rep.extracted and run.out_dir == str(out.absolute())


def test_probe_reads_a_curated_runs_pii_signals(tmp_path: Path) -> None:
    """A curated run folder: documents as read (docs/) and the `pii` step's stored spans, not re-detected."""
    import polars as pl

    from curation.pii.engine import PiiEngine
    from curation.steps.pii import spans_frame
    from curation.store import write_parquet_atomic
    from guardrails.probe import ProbeConfig, find_spans

    recs, _ = _records()
    ids = pl.Series("id", [r["id"] for r in recs])
    texts = [r["text"] for r in recs]
    eng = PiiEngine()
    run = tmp_path / "run"
    write_parquet_atomic(pl.DataFrame({"id": ids, "text": texts}), run / "docs" / "00000_000000.parquet")
    sig = spans_frame(ids, eng.analyze_batch(texts), eng.entities)
    # keep only the SSN spans in the stored signal: the probe must use what the run stored
    sig = sig.with_columns(pl.col("pii_spans").list.eval(pl.element().filter(
        pl.element().struct.field("entity_type") == "US_SSN")))
    write_parquet_atomic(sig, run / "signals" / "pii" / "00000_000000.parquet")
    spans = find_spans(ProbeConfig(model="unused", data=str(run)))
    assert len(spans) == 12 and {s.entity for s in spans} == {"US_SSN"}
    assert {s.doc_id for s in spans} == set(ids.to_list())


def test_probe_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    from guardrails.probe import ProbeConfig, find_spans, load_probe_config, run_probe

    with pytest.raises(WinnowError, match="not found"):
        find_spans(ProbeConfig(model="m", data=str(tmp_path / "nope.jsonl")))
    no_pii = _write(tmp_path / "clean.jsonl", [{"text": "Nothing personal in this sentence at all."}])
    with pytest.raises(WinnowError, match="no PII spans"):
        run_probe(ProbeConfig(model="unused", data=str(no_pii)))
    (tmp_path / "run" / "docs").mkdir(parents=True)
    (tmp_path / "run" / "docs" / "x.parquet").write_bytes(b"")
    with pytest.raises(WinnowError, match="add `pii:`"):
        find_spans(ProbeConfig(model="m", data=str(tmp_path / "run")))
    with pytest.raises(WinnowError, match="unknown field 'max_span'"):
        load_probe_config({"model": "m", "data": "d", "max_span": 3})
