"""What the injection and toxicity scanners share: a binary text classifier (the injection n-gram model or
curation's fastText `BinaryClassifier`) run over every normalised form of a text (`guardrails.normalize`),
the riskiest form deciding.

The model is the one shipped in `guardrails/models/` unless the scanner's config names another;
a missing model is a WinnowError that says which command builds it. Texts over 64 KB are scored in pieces,
so a time budget can stop the scan between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curation.errors import WinnowError
from guardrails.base import chunks
from guardrails.normalize import normalize
from guardrails.train import missing_model_message, model_path


@dataclass
class Scored:
    """The highest probability over a text's forms, where it came from, and the form itself."""

    prob: float
    form: str  # "text", "unicode", "leetspeak/spacing", "base64", ...
    text: str


def load_classifier(kind: str, model: str | None) -> object:
    """The classifier in `model`, or in the shipped `guardrails/models/<kind>.*`: an n-gram model
    (`guardrails.ngram_model`, a zip archive whatever its name) or curation's fastText BinaryClassifier."""
    from curation.classifiers.fasttext_model import BinaryClassifier

    path = Path(model).expanduser() if model else model_path(kind)
    if not path.is_file():
        raise WinnowError(missing_model_message(kind, path))
    with path.open("rb") as f:
        if f.read(4) == b"PK\x03\x04":  # .npz
            from guardrails.ngram_model import NgramClassifier

            return NgramClassifier.load(path)
    return BinaryClassifier(path)


def score_forms(clf: object, text: str, expired: object = None) -> Scored:
    """Max P(positive) over the normalised forms of each piece of `text` (one batched predict per piece)."""
    best = Scored(0.0, "text", "")
    for _, piece in chunks(text):
        norm = normalize(piece)
        forms = [("text", norm.canonical), ("leetspeak/spacing", norm.folded)]
        forms += [(how, d) for how, d in norm.decoded]
        forms = [(how, t) for how, t in forms if t]
        if not forms:
            continue
        # forms are lowercased with whitespace collapsed: already fastText's line form (no Arrow round trip)
        probs = clf.predict_proba_lines([t.replace("\n", " ") + "\n" for _, t in forms])  # type: ignore[attr-defined]
        i = int(probs.argmax())
        if float(probs[i]) > best.prob:
            how = forms[i][0]
            if how == "text" and "unicode" in norm.evasions:
                how = "unicode"
            best = Scored(float(probs[i]), how, forms[i][1])
        if callable(expired) and expired():
            break
    return best
