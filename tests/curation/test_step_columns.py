"""Each step that declares its columns (so a recipe's rule columns are checked when it loads) writes exactly
those columns: the declaration and the code cannot drift apart."""

from __future__ import annotations

import polars as pl
import pytest

from curation.steps import registered_steps
from curation.steps.base import CorpusStep

BATCH = pl.DataFrame({
    "id": ["a", "b", "c"],
    "text": ["Hello world. This is a plain test of the thing, with words!\nAnother line here.",
             "Mail me at someone@example.com now please. It is a fine day in the city.",
             "short"],
    "order": [0, 1, 2],
})
DECLARED = sorted(n for n, cls in registered_steps().items()
                  if not issubclass(cls, CorpusStep) and cls.columns)


@pytest.mark.parametrize("name", DECLARED)
def test_declared_columns_are_what_the_step_writes(name: str, tmp_path) -> None:
    cls = registered_steps()[name]
    params = {}
    if name == "toxic_words":
        (tmp_path / "words.txt").write_text("darn\nheck\n")
        params = {"wordlist": str(tmp_path / "words.txt")}
    step = cls(cls.Config(**params))
    assert step.skip_reason() is None
    step.setup()
    out = step.score(BATCH)
    assert [c for c in out.columns if c not in ("id", "order")] == step.output_columns()


def test_the_basic_steps_declare_their_columns() -> None:
    # the steps whose rules the default recipe is built on must be checkable at load time
    assert {"length", "gopher_repetition", "fineweb_quality", "language"} <= set(DECLARED)


def test_config_dependent_columns_follow_the_config() -> None:
    from curation.steps.gopher_repetition import GopherRepetitionStep

    cfg = GopherRepetitionStep.Config(top_n_grams=[2], dup_n_grams=[7])
    step = GopherRepetitionStep(cfg)
    assert step.output_columns()[-2:] == ["top_2_gram_char_frac", "dup_7_gram_char_frac"]
    assert list(step.score(BATCH).columns[1:]) == step.output_columns()
