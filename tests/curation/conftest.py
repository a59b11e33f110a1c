"""Fixtures shared by the curation tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def analyzer():
    """Presidio's reference: AnalyzerEngine with the offline no-op NLP engine (pattern recognizers)."""
    import presidio_analyzer.predefined_recognizers.generic.email_recognizer as em
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    from curation.pii.recognizers import offline_tld_extractor

    class _OfflineTld:  # the reference must not try to download the public-suffix list either
        extract = staticmethod(lambda s: offline_tld_extractor()(s))

    saved = em.tldextract
    em.tldextract = _OfflineTld
    yield AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "noop"}]),
                         supported_languages=["en"])
    em.tldextract = saved
