"""Language ID signal: `language` (ISO 639-1 code, "un" when unknown) and `language_score` (0..1).

Backends, all offline (no download at run time):

* `cld2` (default): Google's CLD2 through `pycld2`, whose tables are compiled into the wheel; ~11,000
  docs/s on 2 KB documents on one core here. Score = share of the text's bytes in the top language.
* `py3langid`: langid.py's naive-Bayes model bundled in the wheel (numpy); ~1,600 docs/s; `languages`
  restricts it to a set (fewer classes to score).
* `fasttext`: the lid.176 model (`.bin` or `.ftz`) from a local path the user passes in `model`; one
  batched predict per batch. Score = fastText's probability.

Only the first `max_chars` characters are read (cut with Polars): language is clear well before 2,000
characters and the cost of CLD2 and langid grows with length. Rule: keep the recipe's `keep_values`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field

from curation.errors import WinnowError
from curation.steps.base import SignalStep, StepConfig, register_step

UNKNOWN = "un"
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"


class LanguageConfig(StepConfig):
    backend: Literal["cld2", "py3langid", "fasttext"] = Field("cld2", description="language-ID engine")
    model: str | None = Field(None, description="lid.176.bin/.ftz path for backend fasttext")
    languages: list[str] | None = Field(None, description="py3langid only: restrict to these ISO codes")
    max_chars: int = Field(2000, ge=50, description="read only this many leading characters")


def _cld2_detect(texts: list[str]) -> tuple[list[str], np.ndarray]:
    import pycld2

    langs: list[str] = []
    scores = np.zeros(len(texts), dtype=np.float32)
    for i, t in enumerate(texts):
        try:
            _, _, details = pycld2.detect(t, bestEffort=True)
        except pycld2.error:  # what CLD2 still calls invalid UTF-8 after control characters are gone
            langs.append(UNKNOWN)
            continue
        code, pct = details[0][1], details[0][2]
        langs.append(code if code != "un" else UNKNOWN)
        scores[i] = pct / 100.0
    return langs, scores


@register_step
class LanguageID(SignalStep):
    """`language` and `language_score` for each document."""

    name = "language"
    columns = ("language", "language_score")
    Config: ClassVar[type[StepConfig]] = LanguageConfig

    @property
    def cfg(self) -> LanguageConfig:
        return self.config  # type: ignore[return-value]

    def skip_reason(self) -> str | None:
        cfg = self.cfg
        if cfg.backend == "fasttext":
            if not cfg.model:
                return "language backend fasttext needs `model`: a local lid.176.bin or lid.176.ftz path"
            if not Path(cfg.model).expanduser().is_file():
                return f"no language-ID model at {cfg.model}: download lid.176.ftz once and give its path"
            return None
        module = "pycld2" if cfg.backend == "cld2" else "py3langid"
        try:
            __import__(module)
        except ImportError:
            return f"language backend {cfg.backend} needs the {module} package: pip install {module}"
        return None

    def setup(self) -> None:
        cfg = self.cfg
        reason = self.skip_reason()
        if reason:
            raise WinnowError(reason)
        if cfg.backend == "py3langid":
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            self._ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            if cfg.languages:
                try:
                    self._ident.set_languages(cfg.languages)
                except ValueError as e:
                    raise WinnowError(f"signals.language.languages: {e}") from None
        elif cfg.backend == "fasttext":
            import fasttext

            self._ft = fasttext.load_model(str(Path(cfg.model).expanduser()))  # type: ignore[arg-type]
        self._ready = True

    def detect(self, texts: pl.Series) -> tuple[list[str], np.ndarray]:
        """(language codes, scores) for a column of texts."""
        if not getattr(self, "_ready", False):
            self.setup()
        cfg = self.cfg
        # control characters (C0 and C1) become spaces: CLD2 rejects them as "invalid UTF-8"
        cut = pl.DataFrame({"text": texts}).select(
            pl.col("text").fill_null("").str.slice(0, cfg.max_chars).str.replace_all(_CONTROL, " "))
        if cfg.backend == "fasttext":
            lines = cut.select(pl.col("text").str.replace_all(r"[\r\n\v\f]+", " ") + "\n").to_series().to_list()
            labels, probs = self._ft.f.multilinePredict(lines, 1, 0.0, "replace")
            langs = [lab[0].removeprefix("__label__") if lab else UNKNOWN for lab in labels]
            return langs, np.array([p[0] if len(p) else 0.0 for p in probs], dtype=np.float32)
        lst = cut.to_series().to_list()
        if cfg.backend == "cld2":
            return _cld2_detect(lst)
        res = [self._ident.classify(t) if t.strip() else (UNKNOWN, 0.0) for t in lst]
        return [r[0] for r in res], np.array([r[1] for r in res], dtype=np.float32)

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        langs, scores = self.detect(batch.get_column("text"))
        return pl.DataFrame({"id": batch.get_column("id"), "language": pl.Series(langs, dtype=pl.String),
                             "language_score": scores})

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        cfg = self.cfg
        if cfg.backend == "fasttext" and cfg.model and Path(cfg.model).expanduser().is_file():
            from curation.classifiers.fasttext_model import file_sha256

            d.update({"model": cfg.model, "sha256": file_sha256(Path(cfg.model).expanduser())})
        else:
            from importlib.metadata import PackageNotFoundError, version

            pkg = "pycld2" if cfg.backend == "cld2" else "py3langid"
            try:
                d["package"] = f"{pkg}=={version(pkg)}"
            except PackageNotFoundError:
                d["package"] = f"{pkg} (not installed)"
        return d
