"""The Corpus page's re-threshold view against runs the red team found wrong: repeated ids, saving and re-mixing
over existing files and folders, a workspace holding runs of every kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.registry import registered_run
from curation.pipeline import curate
from curation.recipe import parse_recipe
from tests.app.app_workspace import LONG, RECIPE
from tests.app.apptest import open_page


def _app(ws: Path, page: str, monkeypatch: pytest.MonkeyPatch, query: dict | None = None) -> AppTest:
    return open_page(ws, page, monkeypatch, query=query, allow=Path(ws).parent)


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [s.value for s in at.success] + [w.value for w in at.warning] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def _int(text: str) -> int:
    return int(str(text).replace(",", ""))


@pytest.fixture(scope="module")
def dup_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A curated run whose input repeats an id (a, b, a, c, d...) and holds one line that is not JSON."""
    root = tmp_path_factory.mktemp("dupws")
    ws, corpus, run = root / "ws", root / "c.jsonl", root / "run"
    ids = ["a", "b", "a", "c", "d"]
    lines = [json.dumps({"id": i, "text": LONG[k]}) for k, i in enumerate(ids)]
    lines.insert(2, "{not json")
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with registered_run(ws, "curate", {"inputs": [str(corpus)]}, run):
        m = curate([corpus], run, parse_recipe(RECIPE), workspace=ws)
    return {"ws": ws, "run": run, "manifest": m, "lines": len(lines), "repeats": 1, "bad": 1}


def test_rethreshold_counts_add_up_to_the_input_when_ids_repeat(dup_run: dict,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(dup_run["ws"], "Corpus", monkeypatch, {"run": str(dup_run["run"]), "view": "Re-threshold"})
    metrics = [(x.label, x.value) for x in at.metric]
    over = dict(metrics[:4])  # the run's overview, then the live counts
    live = {k: _int(v) for k, v in metrics[4:] if k != "recount"}
    assert _int(over["input"]) == dup_run["lines"]
    # one later copy of a repeated id and one line that is not JSON: both quarantined, counted once each
    assert live["quarantined"] == dup_run["repeats"] + dup_run["bad"]
    assert live["kept (live)"] + live["removed (live)"] + live["quarantined"] == dup_run["lines"]


def _rethr(ws: Path, run: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return _app(ws, "Corpus", monkeypatch, {"run": str(run), "view": "Re-threshold"})


def _mix_jobs(ws: Path) -> list:
    from app.registry import RunRegistry

    with RunRegistry(ws) as reg:
        return reg.list(kind="mix", limit=50)


def test_save_as_recipe_never_overwrites_a_file_silently(dup_run: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = dup_run["ws"]
    mine = ws / "recipes" / "mine.yaml"
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text("# my own recipe, hand-written\n", encoding="utf-8")
    at = _rethr(ws, dup_run["run"], monkeypatch)
    at.text_input(key="rethr_name").set_value("mine").run()
    at.button(key="rethr_save").click().run()
    assert mine.read_text(encoding="utf-8") == "# my own recipe, hand-written\n"
    assert "recipes/mine.yaml already exists" in "\n".join(e.value for e in at.error) and not at.success
    at.button(key="rethr_remix").click().run()  # re-mix writes the recipe file too: refused the same way
    assert mine.read_text(encoding="utf-8") == "# my own recipe, hand-written\n" and not _mix_jobs(ws)
    at.checkbox(key="rethr_overwrite").check().run()
    at.button(key="rethr_save").click().run()
    assert "overwrote" in at.success[0].value
    assert [r["name"] for r in yaml_of(mine)["rules"]] == [r["name"] for r in RECIPE["rules"]]


def yaml_of(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_a_non_ascii_recipe_name_is_saved_under_that_name(dup_run: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = dup_run["ws"]
    at = _rethr(ws, dup_run["run"], monkeypatch)
    at.text_input(key="rethr_name").set_value("ünï").run()
    assert "saves to `recipes/ünï.yaml`" in _texts(at)  # said before the click
    at.button(key="rethr_save").click().run()
    assert (ws / "recipes" / "ünï.yaml").is_file() and not (ws / "recipes" / "n.yaml").exists()
    assert yaml_of(ws / "recipes" / "ünï.yaml")["name"] == "ünï"
    at.text_input(key="rethr_name").set_value("my recipe").run()
    assert "saves to `recipes/my-recipe.yaml` (the name 'my recipe' as a file name)" in _texts(at)
    at.text_input(key="rethr_name").set_value("../..").run()
    at.button(key="rethr_save").click().run()
    assert "has no letter or digit" in "\n".join(e.value for e in at.error)
    long_name = "ü" * 126  # 252 bytes as UTF-8: with ".yaml", over the 255 a file name may have
    at.text_input(key="rethr_name").set_value(long_name).run()
    assert not at.exception, [e.value for e in at.exception]  # typing it is not a traceback
    at.button(key="rethr_save").click().run()
    assert not at.exception and "too long for a file name" in "\n".join(e.value for e in at.error)
    (ws / "recipes" / "taken.yaml").mkdir(parents=True)  # a folder where the file would go
    at.text_input(key="rethr_name").set_value("taken").run()
    at.button(key="rethr_save").click().run()
    assert not at.exception and "is not a file" in "\n".join(e.value for e in at.error)


@pytest.mark.parametrize("where", ["source", "inside", "other"])
def test_remix_refuses_the_source_run_and_existing_folders(dup_run: dict, monkeypatch: pytest.MonkeyPatch,
                                                           where: str) -> None:
    ws, run = dup_run["ws"], dup_run["run"]
    other = ws / "runs" / "someone-elses"
    other.mkdir(parents=True, exist_ok=True)
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    out = {"source": str(run), "inside": str(run / "kept"), "other": "runs/someone-elses"}[where]
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    at = _rethr(ws, run, monkeypatch)
    at.selectbox(key="rethr_step").set_value("length").run()
    at.slider(key="thr|length.min_words|min").set_value(18.0).run()
    at.text_input(key="rethr_name").set_value(f"remix-{where}").run()
    at.text_input(key="rethr_out").set_value(out).run()
    at.button(key="rethr_remix").click().run()
    shown = "\n".join(e.value for e in at.error)
    assert shown.startswith("not re-mixed: ") and not at.success, shown
    assert {"source": "is the run being re-thresholded", "inside": "is inside the run being re-thresholded",
            "other": "already exists and is not empty"}[where] in shown
    assert not _mix_jobs(ws)  # no job started
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert not (ws / "recipes" / f"remix-{where}.yaml").exists()  # nothing written for a refused re-mix


def test_corpus_picker_lists_only_curated_runs_and_mixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws, corpus, run = tmp_path / "ws", tmp_path / "c.jsonl", tmp_path / "run"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(LONG)),
                      encoding="utf-8")
    with registered_run(ws, "curate", {"inputs": [str(corpus)]}, run):
        curate([corpus], run, parse_recipe(RECIPE), workspace=ws)
    # newer outputs of other commands, each with a manifest.json as eval, sample and train write them
    others = {}
    for kind, reg_kind in (("eval", "eval"), ("sample", "sample"), ("train-sft", "train-sft")):
        out = tmp_path / kind
        out.mkdir()
        (out / "manifest.json").write_text(json.dumps({"kind": kind, "created": "2026-12-01T00:00:00Z"}))
        with registered_run(ws, reg_kind, {"out": str(out)}, out):
            pass
        others[kind] = out
    at = _app(ws, "Corpus", monkeypatch)
    options = at.selectbox(key="corpus_run").options
    assert options[0].endswith("· curate · run (done)")  # the newest curated run, though evals are newer
    assert not any(k in o for o in options for k in ("· eval ·", "· sample ·", "· train-sft ·"))
    assert _int(next(m.value for m in at.metric if m.label == "kept")) == len(LONG)
    # opened by URL: one clear line, no traceback
    at = _app(ws, "Corpus", monkeypatch, {"run": str(others["eval"])})
    assert [e.value for e in at.error] == [f"{others['eval']} is not a curated run or mix (its manifest says kind "
                                           "'eval'): open it on the Evaluation page"]
    bench = tmp_path / "guard-bench"  # a guard bench report: its page is Guardrails
    bench.mkdir()
    (bench / "manifest.json").write_text(json.dumps({"kind": "guard-bench"}))
    at = _app(ws, "Corpus", monkeypatch, {"run": str(bench)})
    assert [e.value for e in at.error][0].endswith("open it on the Guardrails page")
    # a curation manifest whose documents are gone: the reader's error, as one line
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text((run / "manifest.json").read_text())
    at = _app(ws, "Corpus", monkeypatch, {"run": str(broken)})
    assert len(at.error) == 1 and "no documents" in at.error[0].value


def test_a_moved_threshold_returns_to_the_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.app.app_workspace import make_workspace

    built = make_workspace(tmp_path)  # n_words runs from 2 ("too short") to the essay's; the recipe's min is 5
    m = built["manifest"]
    at = _rethr(built["ws"], built["run"], monkeypatch)
    at.selectbox(key="rethr_step").set_value("length").run()
    sl = at.slider(key="thr|length.min_words|min")
    assert sl.value == 5.0 and sl.min < 5.0
    k = (5.0 - sl.min) / sl.step  # the slider's values are min + k * step: the recipe's value is one of them
    assert abs(k - round(k)) < 1e-6, (sl.min, sl.step)
    sl.set_value(18.0).run()
    assert _int(next(x.value for x in at.metric if x.label == "kept (live)")) < m["kept"]
    at.checkbox(key="on|length.min_words").uncheck().run()
    at.button(key="reset|length.min_words").click().run()
    assert at.slider(key="thr|length.min_words|min").value == 5.0 and at.checkbox(key="on|length.min_words").value
    live = {x.label: _int(x.value) for x in at.metric[4:] if x.label != "recount"}
    assert (live["kept (live)"], live["removed (live)"]) == (m["kept"], m["removed"])


def test_whole_words_search_finds_punctuation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws, corpus, run = tmp_path / "ws", tmp_path / "c.jsonl", tmp_path / "run"
    quoted = 'The keeper said "enough" (twice) and climbed the stairs to light the lamp again.'
    docs = [{"id": f"d{i}", "text": t} for i, t in enumerate(LONG)] + [{"id": "q", "text": quoted}]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    with registered_run(ws, "curate", {"inputs": [str(corpus)]}, run):
        curate([corpus], run, parse_recipe(RECIPE), workspace=ws)
    at = _app(ws, "Corpus", monkeypatch, {"run": str(run)})
    assert at.checkbox(key="corpus_whole").value  # whole words is the default
    for query in ['"', "(twice", "(twice)", 'said "']:
        at.text_input(key="corpus_search").set_value(query).run()
        assert list(at.dataframe[0].value["id"]) == ["q"], query
    at.text_input(key="corpus_search").set_value("twice").run()  # a word: still whole words
    assert list(at.dataframe[0].value["id"]) == ["q"]
    for query in ("twic", "(twic"):  # not a whole word, with or without the punctuation before it
        at.text_input(key="corpus_search").set_value(query).run()
        assert "0 documents match" in _texts(at), query


def test_live_counts_show_no_delta_until_something_changes(dup_run: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _rethr(dup_run["ws"], dup_run["run"], monkeypatch)
    live = {x.label: x for x in at.metric[4:]}
    assert not live["kept (live)"].delta and not live["removed (live)"].delta  # the run's own recipe: no change
    at.selectbox(key="rethr_step").set_value("length").run()
    at.slider(key="thr|length.min_words|min").set_value(18.0).run()
    live = {x.label: x for x in at.metric[4:]}
    gone = dup_run["manifest"]["kept"] - _int(live["kept (live)"].value)
    assert gone > 0 and live["kept (live)"].delta == f"-{gone}" and live["removed (live)"].delta == f"+{gone}"
