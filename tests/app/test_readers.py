"""The engines' typed readers the app reads through: a curated run, a report, a training output."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from curation.run_reader import RunReader
from tests.app.app_workspace import make_workspace


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_workspace(tmp_path_factory.mktemp("readers"))


def test_recount_of_the_runs_own_recipe_equals_what_mix_wrote(built: dict) -> None:
    reader = RunReader(built["run"])
    counts = reader.recounter().count()
    m = built["manifest"]
    assert (counts.kept, counts.removed) == (m["kept"], m["removed"])
    assert counts.by_rule == m["by_rule"] and counts.by_rule_any == m["by_rule_any"]


def test_word_index_search_reads_only_matching_files(built: dict, tmp_path: Path) -> None:
    reader = RunReader(built["run"])
    assert reader.word_index(tmp_path) is None  # not built yet
    reader.build_word_index(tmp_path)
    assert reader.word_index(tmp_path) is not None
    files = reader.doc_files()
    holding = reader._candidate_files(["library"], reader.word_index(tmp_path))
    text_files = [f for f in files if "library" in " ".join(pl.read_parquet(f, columns=["text"])["text"]).lower()]
    assert holding == text_files
    page, total = reader.page(search="LIBRARY", whole_words=True, index_dir=tmp_path)
    assert list(page["id"]) == ["d3"] and total == 1
    # whole words: "librar" is not a word of any document; as a substring it finds d3
    assert reader.page(search="librar", whole_words=True, index_dir=tmp_path)[0].height == 0
    assert list(reader.page(search="librar")[0]["id"]) == ["d3"]


def test_document_view_of_a_kept_and_a_removed_document(built: dict) -> None:
    reader = RunReader(built["run"])
    kept = reader.document("d0")
    assert kept.status == "kept" and kept.kept_text == kept.text  # no PII: written as read
    dup = reader.document("dup1")
    assert dup.removed["rule"] == "exact_duplicate" and dup.kept_copy == {"id": "d2", "text": dup.text}
    assert reader.document("nope") is None
