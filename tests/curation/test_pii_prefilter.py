"""The PII scans that skip text: an RE2 pass says where each Presidio regex can start, and phonenumbers'
candidate pattern is searched only in runs of characters it can consume. Neither may lose a match."""

from __future__ import annotations

import logging
import random

import pytest

from curation.pii.engine import SEPARATOR, Batch, PiiEngine, TokenViews, anchored_finditer
from curation.pii.prefilter import candidate_starts
from curation.pii.synth import make_documents

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
from curation.pii import prefilter  # noqa: E402

needs_re2 = pytest.mark.skipif(prefilter.re2 is None, reason="google-re2 is not installed: nothing is prefiltered")

# characters Presidio's patterns read, with non-ASCII ones where Unicode matching differs from ASCII:
# Arabic-Indic and fullwidth digits (\d), Kelvin sign and long s (fold onto k and s), accented letters
ALPHABET = "ab12 -.:/@CDxz0934567\nſKéÄ\u0663\uff15\u00a0_(+)#wWhHtTpPsS"

# documents whose PII touches what the RE2 form reads differently from `regex`: non-ASCII digits and
# letters next to or inside a match, no-break spaces, IGNORECASE folds, matches at the very start and end
TRICKY = [
    "call +1 (212) 555-0187",
    "\u0661\u0662\u0663-\u0664\u0665\u0666-\u0667\u0668\u0669\u0660 is an Arabic-Indic phone number",
    "Tel.\u00a0030\u00a012345678 (Berlin); fax +49\u00a030\u00a098765432",
    "résumé at WWW.EXAMPLE.COM/é and ftp://ſite.example.org/x, http://Kelvin.example.com",
    "card:4111111111111111, card 4111-1111-1111-1111é and ٤١١١ ١١١١ ١١١١ ١١١١",
    "IBAN GB82WEST12345698765432é; DE89 3704 0044 0532 0130 00.",
    "ip 192.168.1.1é, 10.0.0.1, v6 fe80::1ff:fe23:4567:890a, mac 00:1a:2B:3c:4D:5e.",
    "SSN 078-05-1120, DL A1234567, passport 912803456, DEA AB1234563 and ITIN 912-70-1234",
    "mail ünï@exämple.com or ‘jane.roe@example.org’",
    "4111111111111111",
    # without its word boundaries the card pattern matches from the first 4 on; the real match starts inside
    # that match (at the second 4111), so a scan must try every position RE2 covers, not only its starts
    "ref_4111 4111 1111 1111 1111 ok",
]


def _texts() -> list[str]:
    docs, _ = make_documents(60, seed=11, size=800)
    rng = random.Random(5)
    noise = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60))) for _ in range(1500)]
    return TRICKY + docs + noise


@needs_re2
def test_re2_prefilter_finds_every_match_of_every_pattern() -> None:
    eng = PiiEngine()
    scanned = [(i, j) for i, j in enumerate(eng.recognizers.jobs) if eng._scanners[i] is not None]
    # the slow patterns of Presidio's set must be covered, or the speed-up has silently stopped applying
    assert {j.entity for _, j in scanned} >= {"URL", "US_DRIVER_LICENSE", "IP_ADDRESS", "CREDIT_CARD"}
    texts = _texts()
    batches = [SEPARATOR.join(texts[k:k + 200]) for k in range(0, len(texts), 200)] + texts[:400]
    for buf in batches:
        views = TokenViews(buf)
        for i, job in scanned:
            on_sub = eng._token_safe[i] and not job.iban_groups
            kind = {"URL": "dot", "EMAIL_ADDRESS": "at"}.get(job.entity, "any") if on_sub else None
            text = views.view(kind)[0] if on_sub else buf
            got = anchored_finditer(job.compiled, candidate_starts(eng._scanners[i], views.utf8(kind)), text)
            want = [m.span() for m in job.compiled.finditer(text) if m.end() > m.start()]
            assert [m.span() for m in got] == want, (job.entity, job.name, text[:80])


def test_phone_candidates_equal_a_search_of_every_document() -> None:
    from curation.pii.engine import _DIGIT, MIN_PHONE_DIGITS

    eng = PiiEngine(["PHONE_NUMBER"])
    texts = _texts()
    want = [(d, m.start(), m.end(), n) for d, t in enumerate(texts) for m in eng._phone_pattern.finditer(t)
            if (n := len(_DIGIT.findall(t, m.start(), m.end()))) >= MIN_PHONE_DIGITS]
    assert len(want) > 100
    assert list(eng._phone_candidates(texts, Batch(texts))) == want


def test_documents_the_prefilters_must_not_skip_equal_presidio(analyzer) -> None:
    eng = PiiEngine(use_context=False, fix=False)
    got = eng.analyze_batch(TRICKY)
    for text, spans in zip(TRICKY, got, strict=True):
        want = sorted((r.entity_type, r.start, r.end, r.score) for r in analyzer.analyze(text, language="en"))
        assert sorted(spans) == want, text
    found = {(s[0], t[s[1]:s[2]]) for t, sp in zip(TRICKY, got, strict=True) for s in sp}
    # what each tricky document is there for is really found (by Presidio and so by us)
    assert ("PHONE_NUMBER", "+1 (212) 555-0187") in found
    assert ("CREDIT_CARD", "4111111111111111") in found
    assert ("CREDIT_CARD", "4111 1111 1111 1111") in found
    assert ("IBAN_CODE", "GB82WEST12345698765432") in found
    assert any(e == "URL" and "EXAMPLE.COM" in v for e, v in found)


# -- start-up: RE2 forms cached on disk, the default recognizer set built once in the workers' server --------

@needs_re2
def test_re2_forms_are_read_from_the_cache_and_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch) -> None:
    from curation.pii import prefilter

    monkeypatch.setenv("WINNOW_CACHE_DIR", str(tmp_path))
    pats = [(j.regex, j.compiled.flags) for j in PiiEngine(["URL", "CREDIT_CARD"]).recognizers.jobs]
    fresh = [prefilter._translate(p, f & prefilter._PY_FLAGS) for p, f in pats]
    assert any(fresh)
    prefilter._forms.cache_clear()
    assert prefilter.re2_forms(pats) == fresh
    path = prefilter.cache_path()
    assert path.parent == tmp_path and path.is_file()

    def no_translation(*a):  # noqa: ANN002, ANN202
        raise AssertionError("translated again although the cache holds it")

    prefilter._forms.cache_clear()
    monkeypatch.setattr(prefilter, "_translate", no_translation)
    assert prefilter.re2_forms(pats) == fresh  # a new process reads the file
    monkeypatch.undo()
    monkeypatch.setenv("WINNOW_CACHE_DIR", str(tmp_path))
    for damaged in ("{not json", '{"26:x": 123}', "[1, 2]"):  # cut short, wrong value type, not a mapping
        path.write_text(damaged, encoding="utf-8")
        prefilter._forms.cache_clear()
        assert prefilter.re2_forms(pats) == fresh, damaged
    prefilter._forms.cache_clear()


def test_without_re2_every_pattern_is_scanned_whole_with_the_same_spans(monkeypatch) -> None:
    texts = _texts()[:300] + TRICKY
    with_prefilter = PiiEngine(use_context=False, fix=False)
    want = with_prefilter.analyze_batch(texts)
    monkeypatch.setattr(prefilter, "re2", None)
    prefilter.compile_re2.cache_clear()
    try:
        eng = PiiEngine(use_context=False, fix=False)
        assert all(sc is None for sc in eng._scanners)  # nothing prefiltered: the fallback really runs
        assert eng.analyze_batch(texts) == want
    finally:
        prefilter.compile_re2.cache_clear()


_WARM_CHILD = r"""
import json
import curation.pii.warm  # what the workers' server imports (PiiStep.preload)
from curation.pii.recognizers import _built
from curation.steps import get_step

misses = _built.cache_info().misses
get_step("pii")().setup()  # what a worker forked from the server does first
print(json.dumps({"before": misses, "after": _built.cache_info().misses}))
"""


@pytest.mark.slow
def test_the_workers_server_builds_the_default_recognizer_set_once() -> None:
    """The default `pii` step's setup, as a worker runs it after the server imported `curation.pii.warm`, builds
    no recognizer set of its own (a fresh process: nothing imported it before)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from curation.worker_server import worker_preload

    assert "curation.pii.warm" in worker_preload(["pii"])
    root = Path(__file__).resolve().parents[2]
    p = subprocess.run([sys.executable, "-c", _WARM_CHILD], capture_output=True, text=True, cwd=root, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["before"] >= 1 and r["after"] == r["before"]
