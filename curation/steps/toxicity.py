"""Toxicity signals: a fastText classifier (`toxicity`) and a word-list count (`toxic_words`).

The word list is a file the user passes (one term per line, `#` comments allowed; e.g. the LDNOOBW English
list). Matching is one Rust regex per batch through Polars over lowercased text: a term matches as a whole
word (a `\\b` boundary on each side that starts or ends with a word character), longer terms are tried first,
and a multi-word term ("ball gag") counts as one occurrence. `toxic_word_share` is occurrences divided by the
document's word count (`\\w+` runs).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import Field

from curation.classifiers.step import FastTextSignalStep
from curation.errors import WinnowError
from curation.steps.base import SignalStep, StepConfig, register_step
from curation.utf8 import decode_utf8


@register_step
class ToxicityClassifier(FastTextSignalStep):
    """`toxicity_prob`: probability that a document is toxic (hate speech or offensive)."""

    name = "toxicity"
    kind = "toxicity"
    column = "toxicity_prob"
    train_hint = "--data labelled.csv --text-field tweet --label-field class --positive-labels 0,1"

    def model_path(self) -> Path:
        """The recipe's model, else the workspace's, else curation's own (`curation/models/toxicity.bin`,
        word unigrams: ~10x faster on documents than the scanner's character n-gram model, held-out F1 0.951
        vs 0.958 on the same split; its card says how it was built), else the guardrails scanner's, so a fresh
        install scores toxicity out of the box."""
        path = super().model_path()
        if self.config.model or path.is_file():  # type: ignore[attr-defined]
            return path
        for shipped in (curation_toxicity_model(), shipped_toxicity_model()):
            if shipped is not None:
                return shipped
        return path


def curation_toxicity_model() -> Path | None:
    """`curation/models/toxicity.bin` (`winnow guard train toxicity --minn 0 --maxn 0 --word-ngrams 1 --out ...`),
    or None."""
    p = Path(__file__).resolve().parents[1] / "models" / "toxicity.bin"
    return p if p.is_file() else None


def shipped_toxicity_model() -> Path | None:
    """`guardrails/models/toxicity.bin` of this installation, found by path (curation does not import the
    guardrails package), or None."""
    from importlib.util import find_spec

    spec = find_spec("guardrails")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        p = Path(root) / "models" / "toxicity.bin"
        if p.is_file():
            return p
    return None


def load_wordlist(path: str | Path) -> list[str]:
    """Lowercased, stripped, de-duplicated terms of a word-list file (blank lines and `#` lines skipped)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise WinnowError(f"word list not found: {p}")
    data = p.read_bytes()
    lines = decode_utf8(data, p, "word list").splitlines()
    terms = {" ".join(ln.strip().lower().split()) for ln in lines}
    terms = {t for t in terms if t and not t.startswith("#")}
    if not terms:
        raise WinnowError(f"{p}: the word list is empty")
    return sorted(terms, key=lambda t: (-len(t), t))


def wordlist_pattern(terms: list[str]) -> str:
    """One regex matching any term as a whole word; whitespace inside a term matches any whitespace run."""
    parts = []
    for t in terms:
        body = r"\s+".join(re.escape(w) for w in t.split(" "))
        pre = r"(?-u:\b)" if re.match(r"\w", t[0]) else ""
        post = r"(?-u:\b)" if re.match(r"\w", t[-1]) else ""
        parts.append(f"{pre}{body}{post}")
    return "(?:" + "|".join(parts) + ")"


class ToxicWordsConfig(StepConfig):
    wordlist: str | None = Field(None, description="file with one listed term per line (e.g. ldnoobw_en.txt)")


@register_step
class ToxicWords(SignalStep):
    """`toxic_words` (occurrences of listed terms) and `toxic_word_share` (occurrences / words)."""

    name = "toxic_words"
    columns = ("toxic_words", "toxic_word_share")
    Config: ClassVar[type[StepConfig]] = ToxicWordsConfig

    def skip_reason(self) -> str | None:
        """A reason only when no word list is given. A list that is given is read here, in the command before
        any work: one that is missing, not UTF-8 or empty is an error (WinnowError) even when the step is
        optional (a path the user wrote is meant to be used), not a skipped signal or a worker's traceback."""
        cfg: ToxicWordsConfig = self.config  # type: ignore[assignment]
        if not cfg.wordlist:
            return "no word list given: set signals.toxic_words.wordlist to a file with one term per line"
        load_wordlist(cfg.wordlist)
        return None

    def setup(self) -> None:
        cfg: ToxicWordsConfig = self.config  # type: ignore[assignment]
        if not cfg.wordlist:
            raise WinnowError(self.skip_reason() or "no word list")
        self._terms = load_wordlist(cfg.wordlist)
        self._pattern = wordlist_pattern(self._terms)

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        if getattr(self, "_pattern", None) is None:
            self.setup()
        low = pl.col("text").fill_null("").str.to_lowercase()
        return batch.select(
            pl.col("id"),
            low.str.count_matches(self._pattern).cast(pl.Int32).alias("toxic_words"),
            low.str.count_matches(r"\w+").cast(pl.Int32).alias("_words"),
        ).select(
            "id", "toxic_words",
            pl.when(pl.col("_words") > 0).then(pl.col("toxic_words") / pl.col("_words"))
            .otherwise(0.0).cast(pl.Float32).alias("toxic_word_share"),
        )

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        cfg: ToxicWordsConfig = self.config  # type: ignore[assignment]
        if cfg.wordlist and Path(cfg.wordlist).expanduser().is_file():
            from curation.classifiers.fasttext_model import file_sha256

            d.update({"wordlist": str(cfg.wordlist), "sha256": file_sha256(Path(cfg.wordlist).expanduser())})
        return d
