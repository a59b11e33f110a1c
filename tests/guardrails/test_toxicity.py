"""Toxicity: the shipped model (also curation's default), a user word list, evasions read back."""

from pathlib import Path

import polars as pl
import pytest

import curation
from curation.errors import WinnowError
from curation.steps import get_step
from guardrails.scanners.toxicity import Toxicity
from tests.guardrails.training_data import toxicity_data


@pytest.fixture(scope="module")
def tox() -> Toxicity:
    return Toxicity()


def test_insults_flagged_and_ordinary_text_passes(tox: Toxicity) -> None:
    assert not tox.scan("you are a worthless fucking idiot").valid
    assert not tox.scan("y o u   a r e   a   w o r t h l e s s   f u c k i n g   i d i o t").valid
    for t in ["Please summarise this article about solar panels.", "I love sunny days in the park."]:
        assert tox.scan(t).valid, t


def test_word_list_matches_on_normalised_forms(tmp_path: Path) -> None:
    wl = tmp_path / "words.txt"
    wl.write_text("# mine\nbanana split\nnincompoop\n", encoding="utf-8")
    s = Toxicity({"wordlist": str(wl)})
    v = s.scan("what a n1nc0mp00p")
    assert not v.valid and "nincompoop" in v.reasons[-1]
    assert not s.scan("one BANANA   split please").valid
    assert s.scan("a banana and a split").valid


def test_missing_model_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(WinnowError, match="winnow guard train toxicity"):
        Toxicity({"model": str(tmp_path / "none.bin")})


def test_curation_step_falls_back_to_the_shipped_model(tmp_path: Path, tox: Toxicity) -> None:
    # curation ships its own word-level model (faster on documents); the scanner keeps the char n-gram one
    cls = get_step("toxicity")
    step = cls(cls.Config(), context={"models_dir": tmp_path})  # an empty workspace
    curation_model = Path(curation.__file__).resolve().parent / "models" / "toxicity.bin"
    assert step.skip_reason() is None and step.model_path() == curation_model != tox.clf.path
    out = step.score(pl.DataFrame({"id": ["a", "b"], "text": ["you stupid fucking bitch", "lovely weather"],
                                   "order": [0, 1]}))
    probs = out.get_column("toxicity_prob").to_list()
    assert probs[0] > 0.5 > probs[1]


def test_guard_train_toxicity_word_level_options(tmp_path: Path) -> None:
    """`--minn 0 --maxn 0 --word-ngrams 1` (how curation's model is built) reach fastText and the card."""
    import json

    from app.cli import main
    from curation.classifiers.fasttext_model import BinaryClassifier

    data = toxicity_data(tmp_path / "data")
    out = tmp_path / "tox.bin"
    rc = main(["guard", "train", "toxicity", "--data-dir", str(data), "--out", str(out), "--dim", "8", "--bucket",
               "5000", "--minn", "0", "--maxn", "0", "--word-ngrams", "1", "--workspace", str(tmp_path / "ws")])
    assert rc == 0
    args = BinaryClassifier(out).model.f.getArgs()
    assert (args.minn, args.maxn, args.wordNgrams, args.dim) == (0, 0, 1, 8)
    card = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["command"].endswith("--minn 0 --maxn 0 --word-ngrams 1")
    assert card["used_by"] == "guardrails"  # only curation/models/toxicity.bin is curation's
