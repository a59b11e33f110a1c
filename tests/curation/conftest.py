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


@pytest.fixture(params=["compiled", "numba", "reference"])
def kernel_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which text kernel a test runs: the compiled one (curation/_ckernels.c), numba's (forced by $WINNOW_KERNELS
    where the compiled one is built) or the pure-Python reference; skipped where that path is not installed."""
    from curation.imports import KERNELS_ENV, c_kernels, numba_available

    if request.param == "compiled" and c_kernels() is None:
        pytest.skip("the compiled kernels were not built (no C compiler at install)")
    if request.param == "numba":
        if not numba_available():
            pytest.skip("numba not installed")
        monkeypatch.setenv(KERNELS_ENV, "numba")
    return request.param
