"""Language ID step: bundled-model backends (CLD2, py3langid) and a local fastText lid model."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from curation.errors import WinnowError
from curation.steps import get_step

TEXTS = {
    "en": "The committee published its annual report on water quality in the river basin last week.",
    "de": "Der Ausschuss hat letzte Woche seinen Jahresbericht über die Wasserqualität im Flussgebiet veröffentlicht.",
    "fr": "Le comité a publié la semaine dernière son rapport annuel sur la qualité de l'eau dans le bassin.",
    "es": "El comité publicó la semana pasada su informe anual sobre la calidad del agua en la cuenca del río.",
}


def _batch() -> pl.DataFrame:
    texts = list(TEXTS.values()) + ["", None, "\x01\x02 " + TEXTS["en"] + " \x7f\x85"]
    return pl.DataFrame({"id": [f"d{i}" for i in range(len(texts))], "text": texts,
                         "order": list(range(len(texts)))})


@pytest.mark.parametrize("backend", ["cld2", "py3langid"])
def test_bundled_backends_identify_languages(backend: str) -> None:
    pytest.importorskip("pycld2" if backend == "cld2" else "py3langid")
    cls = get_step("language")
    step = cls(cls.Config(backend=backend))
    assert step.skip_reason() is None
    out = step.score(_batch())
    assert out.columns == ["id", "language", "language_score"]
    assert out.get_column("id").to_list() == _batch().get_column("id").to_list()
    langs = out.get_column("language").to_list()
    assert langs[:4] == ["en", "de", "fr", "es"]
    assert langs[4] == "un" and langs[5] == "un"  # empty and null text
    assert langs[6] == "en"  # control characters (which CLD2 rejects) are blanked first
    scores = out.get_column("language_score").to_list()
    assert all(s > 0.5 for s in scores[:4]) and scores[4] == 0.0
    assert step.describe()["package"].split("==")[0] in ("pycld2", "py3langid")


def test_py3langid_language_restriction() -> None:
    pytest.importorskip("py3langid")
    cls = get_step("language")
    step = cls(cls.Config(backend="py3langid", languages=["en", "de"]))
    langs = step.score(_batch()).get_column("language").to_list()
    assert set(langs[:4]) <= {"en", "de"} and langs[:2] == ["en", "de"]
    with pytest.raises(WinnowError, match="Unknown language code"):
        cls(cls.Config(backend="py3langid", languages=["xx-not"])).setup()


def test_fasttext_backend_uses_a_local_model(tmp_path: Path) -> None:
    import random

    from curation.classifiers.fasttext_model import train_supervised

    # a small lid-style model trained here (labels __label__<code>, like lid.176); thread=10 because
    # fastText 0.9.2 leaves most of its input matrix uninitialised with fewer threads (see fasttext_model)
    rng = random.Random(0)
    lines = []
    for code, text in TEXTS.items():
        words = text.lower().replace(".", "").split()
        lines += [f"__label__{code} " + " ".join(rng.choices(words, k=12)) for _ in range(150)]
    rng.shuffle(lines)
    train = tmp_path / "lid.txt"
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = tmp_path / "lid.bin"
    ft = train_supervised(str(train), dim=8, epoch=5, lr=0.1, minCount=1, thread=10, verbose=0)
    ft.save_model(str(model))
    cls = get_step("language")
    assert "lid.176" in (cls(cls.Config(backend="fasttext")).skip_reason() or "")
    assert "no language-ID model" in (cls(cls.Config(backend="fasttext", model=str(tmp_path / "no.bin")))
                                      .skip_reason() or "")
    step = cls(cls.Config(backend="fasttext", model=str(model)))
    assert step.skip_reason() is None
    batch = _batch().head(4)
    out = step.score(batch)
    # the step gives what fastText's own predict gives on the same (newline-free) texts
    labels, probs = ft.predict(batch.get_column("text").to_list(), k=1)
    assert out.get_column("language").to_list() == [lab[0].removeprefix("__label__") for lab in labels]
    assert out.get_column("language_score").to_list() == pytest.approx([float(p[0]) for p in probs], abs=1e-6)
    assert out.get_column("language").to_list() == ["en", "de", "fr", "es"]
    assert len(step.describe()["sha256"]) == 64


def test_language_config_rejects_unknown_backend() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        get_step("language").Config(backend="nope")
