"""Start-up: a curate worker imports only what its steps use. Presidio's recognizers load without the
package's NLP engines (spaCy, transformers, torch), and find the same spans as Presidio's own AnalyzerEngine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "spacy")

_CHILD = r"""
import json, sys
from curation.pii.engine import PiiEngine
from curation.pii.synth import make_documents

texts = [
    "Write to john.doe@example.com or jane_smith99@mail.company.co.uk before Friday.",
    "Call (212) 555-0187 or +44 20 7946 0958, or 415.555.2671 after 5pm.",
    "Valid card 4111 1111 1111 1111, invalid 4111 1111 1111 1112, amex 378282246310005.",
    "Servers 192.168.1.10 and 203.0.113.195; v6 2001:db8::8a2e:370:7334.",
    "Pay to IBAN DE89 3704 0044 0532 0130 00 or GB82WEST12345698765432.",
    "SSN 078-05-1120, ITIN 912-70-1234, see https://www.example.com/path?q=1 on 2024-01-31.",
    "Mac 00:1A:2B:3C:4D:5E, uuid 123e4567-e89b-12d3-a456-426614174000, wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT.",
] + make_documents(15, seed=5, size=1200)[0]
eng = PiiEngine(use_context=False, fix=False)
heavy = [m for m in ("torch", "transformers", "spacy", "presidio_analyzer") if m in sys.modules]
ours = [sorted(map(list, s)) for s in eng.analyze_batch(texts)]

# now Presidio's own engine, in the same process: the real package must load in full
import presidio_analyzer.predefined_recognizers.generic.email_recognizer as em
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider, NoOpNlpEngine
from curation.pii.recognizers import offline_tld_extractor

class _T:
    extract = staticmethod(lambda s: offline_tld_extractor()(s))

em.tldextract = _T
an = AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "noop"}]),
                    supported_languages=["en"])
ref = [sorted([r.entity_type, r.start, r.end, r.score] for r in an.analyze(t, language="en")) for t in texts]
print(json.dumps({"heavy": heavy, "ours": ours, "ref": ref, "n_spans": sum(map(len, ref)),
                  "real_nlp_engine": NlpEngineProvider.__module__}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WINNOW_NO_BAR": "1", **extra}
    return env


@pytest.mark.slow
def test_presidio_recognizers_load_light_and_find_the_same_spans() -> None:
    p = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=_env(), cwd=ROOT,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["heavy"] == [], f"building the pattern engine imported {r['heavy']}"
    assert r["n_spans"] > 40
    assert r["ours"] == r["ref"]
    assert r["real_nlp_engine"].startswith("presidio_analyzer.nlp_engine.")


@pytest.mark.slow
def test_curate_with_pattern_pii_and_minhash_imports_no_nlp_stack(tmp_path: Path) -> None:
    """The whole command, every process (CLI, forkserver, 2 workers): no torch, transformers or spaCy."""
    src = tmp_path / "ten.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": f"Mail me at user{i}@example.com about the "
                                       f"meeting number {i}, or call 212-555-01{i:02d} today."}) + "\n"
                           for i in range(10)), encoding="utf-8")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("signals:\n  pii: {ner: \"off\"}\n  minhash: {}\n"
                      "rules:\n  - {name: near, signal: minhash, column: duplicate, drop_if: true}\n"
                      "transforms:\n  pii_scrub: {mode: replace}\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "app.cli", "curate", str(src), "--out", str(tmp_path / "run"),
                        "--recipe", str(recipe), "--workers", "2", "--tasks", "2", "--workspace", str(tmp_path / "ws")],
                       capture_output=True, text=True, env=_env(PYTHONPROFILEIMPORTTIME="1"), cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    imported = set(re.findall(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", p.stderr))
    assert "curation.pii.engine" in imported and "curation.dedup.signatures" in imported  # the steps did run
    # (Presidio's `try: import torch` is logged as a microsecond entry when blocked: count real loads only,
    # which bring submodules with them)
    loaded = sorted({m.split(".")[0] for m in imported if m.split(".")[0] in HEAVY and "." in m})
    assert loaded == [], loaded
    # the scoring code is imported by the command and once by the worker server, which forks both workers
    # with it loaded (each worker importing it again would make 3)
    assert len(re.findall(r"\|\s+curation\.scoring$", p.stderr, flags=re.M)) == 2
    kept = (tmp_path / "run" / "kept")
    import polars as pl

    texts = pl.read_parquet(kept / "*.parquet")["text"].to_list()
    assert len(texts) == 10 and all("<EMAIL_ADDRESS>" in t for t in texts)


@pytest.mark.slow
def test_a_small_curate_runs_in_one_process_without_numba_or_spacy(tmp_path: Path) -> None:
    """Ten documents through heuristics and both dedups: one process (no executor workers), and neither
    numba nor spaCy is imported (the small batch takes the numpy path; the tokenizer rules come from the
    cache, filled here first so that the measured run reads it)."""
    src = tmp_path / "ten.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": f"Document {i} has a few plain words in it. "
                                       "It says the same thing twice. It says the same thing twice."}) + "\n"
                           for i in range(10)), encoding="utf-8")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("signals:\n  gopher_quality: {}\n  exact_dedup: {}\n  minhash: {}\n"
                      "rules:\n  - {name: near, signal: minhash, column: duplicate, drop_if: true}\n"
                      "  - {name: exact, signal: exact_dedup, column: duplicate, drop_if: true}\n", encoding="utf-8")
    env = _env(WINNOW_CACHE_DIR=str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "app.cli", "curate", str(src), "--recipe", str(recipe), "--workers", "2",
            "--workspace", str(tmp_path / "ws")]
    first = subprocess.run([*argv, "--out", str(tmp_path / "run1")], capture_output=True, text=True, env=env,
                           cwd=ROOT, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    p = subprocess.run([*argv, "--out", str(tmp_path / "run2")], capture_output=True, text=True,
                       env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    imported = set(re.findall(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", p.stderr))
    assert {"curation.heuristics.signals", "curation.dedup.signatures"} <= imported  # the steps did run
    assert not {m.split(".")[0] for m in imported} & {"numba", "spacy", "torch"}
    # every process that ran Python imported `site` once: only the command itself (and datatrove's
    # multiprocess Manager, forked, which imports nothing anew) ran
    assert len(re.findall(r"\|\s+site$", p.stderr, flags=re.M)) == 1
    m1 = json.loads((tmp_path / "run1" / "manifest.json").read_text())
    m2 = json.loads((tmp_path / "run2" / "manifest.json").read_text())
    assert m1["kept"] == m2["kept"] == 1 and m2["by_rule"] == {"near": 9}  # they differ only by a number
