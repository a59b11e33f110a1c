"""`audit_run` / `winnow audit`: a run's decisions joined with human labels, per rule."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from curation.audit import audit_run
from curation.errors import WinnowError

RECIPE = {"name": "t", "signals": {"length": {}}, "rules": [
    {"name": "short", "signal": "length", "column": "n_words", "min": 5},
    {"name": "long", "signal": "length", "column": "n_words", "max": 100},
    {"name": "never", "signal": "length", "column": "n_lines", "max": 1000}]}
# id: (n_words, removed by [rules], human label 1 = high quality)
DOCS = {"a": (2, ["short"], 0), "b": (3, ["short"], 0), "c": (4, ["short"], 1), "d": (500, ["long"], 1),
        "e": (50, [], 1), "f": (60, [], 0), "g": (1, ["short"], 0), "h": (2, ["short"], 1)}


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "kept").mkdir(parents=True)
    (run / "signals" / "length").mkdir(parents=True)
    (run / "recipe.yaml").write_text(yaml.safe_dump(RECIPE))
    removed = [(i, r[0], r) for i, (_, r, _) in DOCS.items() if r]
    pl.DataFrame({"id": [x[0] for x in removed], "rule": [x[1] for x in removed], "rules": [x[2] for x in removed]},
                 schema={"id": pl.Utf8, "rule": pl.Utf8, "rules": pl.List(pl.Utf8)}).write_parquet(
        run / "removed.parquet")
    kept = [i for i, (_, r, _) in DOCS.items() if not r]
    pl.DataFrame({"id": kept, "text": ["x"] * len(kept)}).write_parquet(run / "kept" / "p.parquet")
    pl.DataFrame({"id": list(DOCS), "n_words": [v[0] for v in DOCS.values()],
                  "n_lines": [1] * len(DOCS)}).write_parquet(run / "signals" / "length" / "0_0.parquet")
    return run


def _labels(tmp_path: Path, field: str = "label", values: tuple = (1, 0)) -> Path:
    p = tmp_path / "labels.jsonl"
    rows = [{"id": i, field: values[0] if v[2] == 1 else values[1]} for i, v in DOCS.items()]
    rows.append({"id": "not-in-run", field: values[0]})
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_per_rule_precision_losses_and_distributions(tmp_path: Path) -> None:
    rep = audit_run(_run(tmp_path), _labels(tmp_path))
    assert (rep.labelled, rep.matched, rep.high, rep.low) == (9, 8, 4, 4)
    assert (rep.low_removed, rep.high_removed) == (3, 3)  # a b g low; c d h high
    short = rep.rule("short")
    assert (short.fires, short.first, short.low, short.high_lost, short.high_lost_only) == (5, 5, 3, 2, 2)
    assert short.precision == pytest.approx(3 / 5)
    long = rep.rule("long")
    assert (long.fires, long.precision, long.high_lost) == (1, 0.0, 1)
    never = rep.rule("never")
    assert never.fires == 0 and never.precision is None
    # medians of n_words: high c d e h = 4 500 50 2 -> 27; low a b f g = 2 3 60 1 -> 2.5
    assert short.quantiles["high"]["q50"] == pytest.approx(27.0)
    assert short.quantiles["low"]["q50"] == pytest.approx(2.5)
    text = rep.render()
    assert "2 of 3 rules shown" in text and "use --all" in text
    assert "never" in rep.render(show_all=True)


def test_label_field_and_positive_values(tmp_path: Path) -> None:
    labels = _labels(tmp_path, field="quality", values=("good", "bad"))
    rep = audit_run(_run(tmp_path), labels, label_field="quality", positive_labels=["good"])
    assert (rep.high, rep.low) == (4, 4)
    with pytest.raises(WinnowError, match="no `label` field"):
        audit_run(_run(tmp_path / "x"), labels)


def test_no_shared_ids_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "other.jsonl"
    p.write_text(json.dumps({"id": "zzz", "label": 1}) + "\n")
    with pytest.raises(WinnowError, match="none of the 1 labelled ids"):
        audit_run(_run(tmp_path), p)


def test_cli_prints_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    run, labels = _run(tmp_path), _labels(tmp_path)
    assert main(["audit", str(run), "--labels", str(labels), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["rules"][0]["name"] == "short" and d["rules"][0]["fires"] == 5
    assert d["low_removed_share"] == pytest.approx(0.75)
    assert main(["audit", str(run), "--labels", str(tmp_path / "missing.jsonl")]) == 2
    assert "labels file not found" in capsys.readouterr().err


def test_summary_says_when_rules_are_cut() -> None:
    from app.commands.curate import rule_lines

    by_rule = {f"r{i}": 40 - i for i in range(31)}
    lines = rule_lines(by_rule)
    assert lines[-1] == "  12 of 31 rules shown; use --all" and len(lines) == 13
    assert len(rule_lines(by_rule, None)) == 31
    assert rule_lines({"a": 1}) == ["         1  a"]


def test_float_labels_compare_as_numbers(tmp_path: Path) -> None:
    # red-team: labels 1.0 / 0.0 (a pandas export) were all counted low, as str(1.0) is not "1"
    for i, values in enumerate(((1.0, 0.0), ("1.0", "0"), (True, False))):
        rep = audit_run(_run(tmp_path / str(i)), _labels(tmp_path / str(i), values=values))
        assert (rep.high, rep.low) == (4, 4), values
        assert rep.warnings == []
    (tmp_path / "p").mkdir()
    rep = audit_run(_run(tmp_path / "p"), _labels(tmp_path / "p", values=(5, 2)), positive_labels=["5.0"])
    assert (rep.high, rep.low) == (4, 4)


def test_labels_in_another_vocabulary_are_refused_and_one_class_warns(tmp_path: Path) -> None:
    with pytest.raises(WinnowError, match=r'`label` holds "no", "yes", neither a high-quality value .*--positive'):
        audit_run(_run(tmp_path), _labels(tmp_path, values=("yes", "no")))
    (tmp_path / "a").mkdir()
    rep = audit_run(_run(tmp_path / "a"), _labels(tmp_path / "a", values=(0, "bad")))  # known low values only
    assert (rep.high, rep.low) == (0, 8)
    assert len(rep.warnings) == 1 and "all 8 labelled documents of the run are low quality" in rep.warnings[0]
    assert rep.render().startswith("warning: all 8 labelled documents")
    (tmp_path / "b").mkdir()
    rep = audit_run(_run(tmp_path / "b"), _labels(tmp_path / "b", values=(1, "high")))
    assert (rep.high, rep.low) == (8, 0) and "are high quality" in rep.warnings[0]


def test_empty_labels_are_left_out_and_values_outside_the_vocabulary_are_refused(tmp_path: Path) -> None:
    """Red team: null labels and "yes" beside 1/0 were silently counted low (27 low where 13 were)."""
    labels = tmp_path / "labels.jsonl"
    rows = [{"id": i, "label": None if i == "a" else v[2]} for i, v in DOCS.items()]  # a: unlabelled
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rep = audit_run(_run(tmp_path), labels)
    want_high = sum(1 for i, v in DOCS.items() if i != "a" and v[2] == 1)
    want_low = sum(1 for i, v in DOCS.items() if i != "a" and v[2] == 0)
    assert (rep.high, rep.low) == (want_high, want_low) == (4, 3)
    assert any("1 label(s) are empty" in w for w in rep.warnings)
    mixed = tmp_path / "mixed.jsonl"
    vocab = {1: "yes", 0: "no"}
    mixed.write_text("".join(json.dumps({"id": i, "label": v[2] if k % 2 else vocab[v[2]]}) + "\n"
                             for k, (i, v) in enumerate(DOCS.items())))
    with pytest.raises(WinnowError, match=r"neither a high-quality value"):
        audit_run(_run(tmp_path / "m"), mixed)
    rep = audit_run(_run(tmp_path / "m2"), mixed, positive_labels=["1", "yes"])  # named: every other value is low
    assert (rep.high, rep.low) == (4, 4)
