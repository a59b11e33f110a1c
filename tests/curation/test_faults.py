"""Fault injection: a curation run either gives the clean run's result or refuses with one clear line, and
never touches what it does not own (issue "run integrity"; docs/reliability.md).

Results are compared by the kept and removed ids (with their rules) and the quarantine entries, not only by
the counts. Kills use the enumerated points of `curation.faults` in a real `winnow curate` process.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from curation.errors import WinnowError
from curation.faults import POINTS
from curation.mix import mix
from curation.pipeline import curate
from curation.recipe import load_recipe

RECIPE_YAML = """
batch_size: 8
signals:
  length: {}
  exact_dedup: {}
  minhash: {threshold: 0.7}
rules:
  - {name: short, signal: length, column: n_words, min: 5}
  - {name: exact, signal: exact_dedup, column: duplicate, drop_if: true, kept_id_column: kept_id}
  - {name: near, signal: minhash, column: duplicate, drop_if: true, kept_id_column: kept_id}
"""
WORDS = ("river stone cloud maple orbit lantern velvet harbor meadow quartz signal ember thistle canyon willow "
         "prism falcon cedar mosaic tundra").split()


def _text(i: int, n: int = 30) -> str:
    return " ".join(WORDS[(i * 7 + k * k) % len(WORDS)] + str((i * 31 + k) % 97) for k in range(n))


def _write_corpus(path: Path, n: int = 60) -> Path:
    """Documents with exact copies, near copies, short ones, a broken line and a repeated id."""
    lines = []
    for i in range(n):
        if i % 10 == 3:
            text = _text(i - 1)  # exact copy of the previous document
        elif i % 10 == 6:
            words = _text(i - 1).split()
            text = " ".join(words[:-2] + ["changed", "ending"])  # near copy
        elif i % 10 == 8:
            text = "too short"
        else:
            text = _text(i)
        lines.append(json.dumps({"id": f"d{i}", "text": text, "alt": text.upper()}))
    lines.insert(20, "{not json")
    lines.append(json.dumps({"id": "d5", "text": _text(500)}))  # a second document with the id d5
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def setup(tmp_path: Path) -> dict:
    (tmp_path / "in").mkdir()
    corpus = _write_corpus(tmp_path / "in" / "corpus.jsonl")
    rfile = tmp_path / "recipe.yaml"
    rfile.write_text(RECIPE_YAML, encoding="utf-8")
    clean = tmp_path / "clean"
    curate([corpus], clean, load_recipe(rfile))
    return {"tmp": tmp_path, "corpus": corpus, "recipe_file": rfile, "clean": clean, "expect": _result(clean)}


def _result(run: Path) -> dict:
    """What a run decided, document by document."""
    kept = pl.read_parquet(run / "kept" / "*.parquet").sort("id")
    removed = pl.read_parquet(run / "removed.parquet").sort("id")
    quarantine = [json.loads(x) for x in (run / "quarantine.jsonl").read_text().splitlines()]
    m = json.loads((run / "manifest.json").read_text())
    return {"kept": kept.select("id", "text").rows(), "removed": removed.select("id", "rule", "kept_id").rows(),
            "quarantine": quarantine, "counts": (m["input"], m["kept"], m["removed"], m["quarantined"])}


def _cli(args: list[str], tmp: Path, env: dict | None = None, wait: bool = True) -> subprocess.Popen:
    full_env = {**os.environ, "WINNOW_WORKSPACE": str(tmp / "ws"), **(env or {})}
    cmd = [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", *args]
    if not wait:  # output to a file: a pipe would stay open while any child that inherited it lives
        log = open(tmp / f"cli-{time.monotonic_ns()}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        proc.log_path = Path(log.name)  # type: ignore[attr-defined]
        return proc
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=300)


def _wait_for(pred, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


# --- a run folder owns itself -------------------------------------------------------------------------------

def test_overwrite_never_deletes_the_users_files(setup: dict) -> None:
    tmp, corpus, recipe = setup["tmp"], setup["corpus"], load_recipe(setup["recipe_file"])
    user = tmp / "v"
    (user / "sub").mkdir(parents=True)
    (user / "n.txt").write_text("mine")
    with pytest.raises(WinnowError, match="not empty and is not a Winnow run"):
        curate([corpus], user, recipe, overwrite=True)
    assert (user / "n.txt").read_text() == "mine" and (user / "sub").is_dir()

    (tmp / "in" / "sub").mkdir()
    with pytest.raises(WinnowError, match="lies inside the input folder"):
        curate([tmp / "in"], tmp / "in" / "sub", recipe, overwrite=True)
    with pytest.raises(WinnowError, match="lies inside the output folder"):
        curate([corpus], tmp / "in", recipe, overwrite=True)
    assert corpus.is_file()

    # a run folder that also holds a file of the user's: --overwrite removes only what Winnow wrote
    run = setup["clean"]
    (run / "notes.md").write_text("my notes")
    curate([corpus], run, load_recipe(setup["recipe_file"]), overwrite=True)
    assert (run / "notes.md").read_text() == "my notes"
    assert _result(run) == setup["expect"]


def test_output_path_that_is_a_file_or_unwritable_gets_one_line(setup: dict) -> None:
    tmp, corpus, recipe = setup["tmp"], setup["corpus"], load_recipe(setup["recipe_file"])
    (tmp / "afile").write_text("x")
    with pytest.raises(WinnowError, match="is a file, not a folder"):
        curate([corpus], tmp / "afile", recipe)
    with pytest.raises(WinnowError, match="is a file, so the folder cannot be created"):
        curate([corpus], tmp / "afile" / "run", recipe)
    with pytest.raises(WinnowError, match="cannot write there"):
        curate([corpus], Path("/proc/winnow-test-run"), recipe)


_HOLDER = r"""
import os, sys, time
from pathlib import Path
from curation.run_folder import RunLock
lock = RunLock(Path(sys.argv[1]), "winnow curate").acquire()
if os.fork() == 0:  # a child forked while the lock is held shares it (as datatrove's Manager does)
    time.sleep(1.5)
    os._exit(0)
os._exit(0)  # the holder dies first; its child keeps the flock for a moment
"""


def test_a_dead_holders_lock_still_held_by_its_exiting_child_is_waited_for(tmp_path: Path) -> None:
    from curation.run_folder import RunLock

    run = tmp_path / "run"
    subprocess.run([sys.executable, "-c", _HOLDER, str(run)], check=True, timeout=60)
    with pytest.raises(WinnowError, match=r"in use by another process \(the last writer, winnow curate .* has exited"):
        RunLock(run, "winnow mix").acquire(dead_holder_wait=0.0)  # the child still holds it: named as it is
    t0 = time.monotonic()
    lock = RunLock(run, "winnow mix").acquire()  # not "in use by winnow curate (pid <dead>)"
    lock.release()
    assert time.monotonic() - t0 > 0.3  # it did wait for the child
    with pytest.raises(WinnowError, match="is in use by winnow curate"):  # a live holder is still refused
        with RunLock(run, "winnow curate"):
            RunLock(run, "winnow mix").acquire(dead_holder_wait=0.2)


def test_a_second_writer_is_refused_and_a_dead_holders_lock_is_taken_over(setup: dict) -> None:
    tmp = setup["tmp"]
    other = _write_corpus(tmp / "other.jsonl", n=30)
    flags = tmp / "flags"
    flags.mkdir()
    out = tmp / "shared-out"
    first = _cli(["curate", str(setup["corpus"]), "--out", str(out), "-r", str(setup["recipe_file"])], tmp,
                 env={"WINNOW_FAULT": "score.batch_start:pause", "WINNOW_FAULT_FLAG_DIR": str(flags)}, wait=False)
    try:
        _wait_for(lambda: any(flags.iterdir()), what="the first curate to start scoring")
        second = _cli(["curate", str(other), "--out", str(out), "-r", str(setup["recipe_file"])], tmp)
        assert second.returncode == 2
        assert f"is in use by winnow curate (pid {first.pid}" in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    # the holder is dead: its lock is gone with it; the folder still holds its (other) run
    with pytest.raises(WinnowError, match=r"holds a different run \(differs in inputs"):
        curate([other], out, load_recipe(setup["recipe_file"]))
    curate([other], out, load_recipe(setup["recipe_file"]), overwrite=True)
    clean_other = tmp / "clean-other"
    curate([other], clean_other, load_recipe(setup["recipe_file"]))
    assert _result(out) == _result(clean_other)


# --- nothing stale is reused ----------------------------------------------------------------------------------

def test_changed_fields_or_input_content_are_never_reused(setup: dict) -> None:
    corpus, run, recipe = setup["corpus"], setup["clean"], load_recipe(setup["recipe_file"])
    with pytest.raises(WinnowError, match=r"text_field \(text -> alt\)"):
        curate([corpus], run, recipe, text_field="alt")
    with pytest.raises(WinnowError, match=r"id_field \(None -> alt\)"):
        curate([corpus], run, recipe, id_field="alt")
    # edited in place: same size, same mtime (to the nanosecond)
    st = corpus.stat()
    data = corpus.read_bytes()
    corpus.write_bytes(data.replace(b"river", b"rover"))
    os.utime(corpus, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert corpus.stat().st_size == st.st_size and corpus.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(WinnowError, match=r"input content \(corpus.jsonl changed\)"):
        curate([corpus], run, recipe)


# --- every output agrees with the manifest, or none is written -------------------------------------------------

def _snapshot(run: Path) -> dict[str, bytes]:
    files = [run / "manifest.json", run / "removed.parquet", run / "quarantine.jsonl",
             *sorted((run / "kept").glob("*"))]
    return {str(p.relative_to(run)): p.read_bytes() for p in files}


@pytest.mark.parametrize("damage", ["delete_shard", "truncate_shard"])
def test_damaged_signals_are_refused_by_mix_and_repaired_by_curate(setup: dict, damage: str) -> None:
    run, recipe = setup["clean"], load_recipe(setup["recipe_file"])
    before = _snapshot(run)
    shard = sorted((run / "signals" / "length").glob("*.parquet"))[2]
    if damage == "delete_shard":
        shard.unlink()
    else:
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(WinnowError, match="signals of 'length' (do not match|are unreadable).*rerun `winnow curate`"):
        mix(run, recipe)
    assert _snapshot(run) == before  # the refused mix wrote nothing
    curate([setup["corpus"]], run, recipe)  # the same command again: the damaged batch is scored again
    assert _result(run) == setup["expect"]


def test_a_failed_mix_leaves_the_previous_outputs_whole(setup: dict) -> None:
    run = setup["clean"]
    before = _snapshot(run)
    task = run / "state" / "tasks" / "00000.json"
    counts = json.loads(task.read_text())
    task.write_text(json.dumps({**counts, "quarantined": counts["quarantined"] + 1}))
    with pytest.raises(WinnowError, match="accounting mismatch"):
        mix(run, load_recipe(setup["recipe_file"]).model_copy(update={"rules": []}))
    assert _snapshot(run) == before
    assert not list(run.glob(".mix-*"))


def test_deleted_kept_folder_is_rewritten(setup: dict) -> None:
    import shutil

    shutil.rmtree(setup["clean"] / "kept")
    mix(setup["clean"])
    assert _result(setup["clean"]) == setup["expect"]


def test_mix_refuses_unfinished_scoring(setup: dict) -> None:
    (setup["clean"] / "state" / "scored.json").unlink()
    with pytest.raises(WinnowError, match="scoring did not finish; rerun the same `winnow curate`"):
        mix(setup["clean"])


def test_mix_out_writes_a_new_folder_and_never_changes_the_parent(setup: dict) -> None:
    run = setup["clean"]
    before = _snapshot(run)
    looser = load_recipe(setup["recipe_file"]).model_copy(update={"rules": []})
    m = mix(run, looser, out_dir=setup["tmp"] / "everything")
    assert _snapshot(run) == before
    assert m["removed"] == 0 and m["kept"] == setup["expect"]["counts"][1] + setup["expect"]["counts"][2]
    assert m["parent"] == str(run) and m["lineage"]["parents"][0]["path"] == str(run)
    # re-mixing the new folder reads the parent's signals again
    m2 = mix(setup["tmp"] / "everything", load_recipe(setup["recipe_file"]))
    assert m2["kept"] == setup["expect"]["counts"][1]


# --- duplicate ids keep their own signals ------------------------------------------------------------------

def test_duplicate_ids_in_other_workers_are_judged_by_their_own_signals(tmp_path: Path) -> None:
    p = tmp_path / "dups.jsonl"
    rows = [{"id": "x", "text": _text(1)}, {"id": "x", "text": "short"},  # lines 1, 2: different tasks
            {"id": "y", "text": "tiny"}, {"id": "y", "text": _text(2)}, {"id": "z", "text": _text(3)}]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = load_recipe(None).model_validate({"batch_size": 2, "signals": {"length": {}},
                                               "rules": [{"name": "short", "signal": "length",
                                                          "column": "n_words", "min": 5}]})
    results = {w: curate([p], tmp_path / f"w{w}", recipe, workers=w, tasks=w) for w in (1, 2)}
    for w in (1, 2):
        kept = sorted(pl.read_parquet(tmp_path / f"w{w}" / "kept" / "*.parquet")["text"].to_list())
        removed = pl.read_parquet(tmp_path / f"w{w}" / "removed.parquet").select("id", "rule").rows()
        q = [json.loads(x) for x in (tmp_path / f"w{w}" / "quarantine.jsonl").read_text().splitlines()]
        assert kept == sorted([_text(1), _text(3)]), w  # the first x is clean and kept
        assert removed == [("y", "short")], w  # the first y is judged by its own text ("tiny")
        assert [(e["file"], e["line"]) for e in q] == [("dups.jsonl", 2), ("dups.jsonl", 4)], w
    assert results[1]["kept"] == results[2]["kept"] == 2


# --- bad input is quarantined, never fatal -------------------------------------------------------------------

def test_inputs_with_no_readable_document_give_an_empty_valid_run(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    recipe = load_recipe(None).model_validate(
        {"batch_size": 4, "signals": {"length": {}, "exact_dedup": {}, "minhash": {}},
         "rules": [{"name": "near", "signal": "minhash", "column": "duplicate", "drop_if": True}]})
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "blank.jsonl").write_text("\n\n  \n")
    (tmp_path / "utf16.jsonl").write_bytes(json.dumps({"text": "hello there"}).encode("utf-16"))
    for name in ("empty.jsonl", "blank.jsonl", "utf16.jsonl"):
        m = curate([tmp_path / name], tmp_path / f"run-{name}", recipe)
        assert m["kept"] == m["removed"] == 0, name
        assert m["input"] == m["quarantined"], name
        assert (tmp_path / f"run-{name}" / "manifest.json").is_file()
    # a Parquet file without the text column: every record lacks the field, a user error before any work
    pq.write_table(pa.table({"body": ["a", "b"]}), tmp_path / "notext.parquet")
    with pytest.raises(WinnowError, match=r"no record has the field 'text' \(--text-field\); the records have: body"):
        curate([tmp_path / "notext.parquet"], tmp_path / "run-notext", recipe)
    assert not (tmp_path / "run-notext" / "run.json").exists()


def test_a_text_field_no_record_has_is_a_user_error_that_leaves_the_folder_usable(tmp_path: Path) -> None:
    p = _write_corpus(tmp_path / "c.jsonl", n=12)
    recipe = load_recipe(None).model_validate({"batch_size": 4, "signals": {"length": {}}, "rules": []})
    with pytest.raises(WinnowError, match=r"no record has the field 'body' \(--text-field\); the records have: "
                                          r"id, text, alt"):
        curate([p], tmp_path / "run", recipe, text_field="body")
    with pytest.raises(WinnowError, match=r"no record has the field 'key' \(--id-field\)"):
        curate([p], tmp_path / "run", recipe, id_field="key")
    m = curate([p], tmp_path / "run", recipe)  # the right flags work in the same folder
    assert m["kept"] == 12


def test_a_corrupt_parquet_row_group_is_quarantined_and_the_rest_read(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [_text(i) for i in range(30)]
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(30)], "text": texts}), path, row_group_size=10,
                   compression="zstd")
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(1).column(1)  # the text column of the second row group
    data = bytearray(path.read_bytes())
    start = col.data_page_offset + 20
    # fixed bytes, so the damage is the same each run (random bytes now and then still decoded: a flaky test)
    data[start: start + 200] = random.Random(7).randbytes(200)
    path.write_bytes(bytes(data))
    recipe = load_recipe(None).model_validate({"batch_size": 8, "signals": {"length": {}}, "rules": []})
    m = curate([path], tmp_path / "run", recipe)
    q = [json.loads(x) for x in (tmp_path / "run" / "quarantine.jsonl").read_text().splitlines()]
    assert m["input"] == 30 and m["kept"] == 20 and m["quarantined"] == 10
    assert [e["line"] for e in q] == list(range(10, 20))
    assert all(e["file"] == "c.parquet" and "row group 1 unreadable" in e["reason"] for e in q)
    kept = pl.read_parquet(tmp_path / "run" / "kept" / "*.parquet")
    assert sorted(kept["id"]) == sorted([f"p{i}" for i in list(range(10)) + list(range(20, 30))])


# --- kills at every enumerated point, then a resume ------------------------------------------------------

@pytest.mark.parametrize("point", POINTS)
def test_kill_at_each_point_then_resume_equals_a_clean_run(setup: dict, point: str) -> None:
    tmp = setup["tmp"]
    out = tmp / "killed"
    nth = "@3" if point.startswith("score.") else ""
    args = ["curate", str(setup["corpus"]), "--out", str(out), "-r", str(setup["recipe_file"])]
    proc = _cli(args, tmp, env={"WINNOW_FAULT": f"{point}{nth}"})
    assert proc.returncode == -signal.SIGKILL, f"kill point {point}: {proc.returncode} {proc.stderr[-500:]}"
    if point.startswith(("score.", "finalize.")):
        with pytest.raises(WinnowError, match="did not finish"):
            mix(out)
    if not point.startswith("mix."):
        assert not (out / "manifest.json").exists(), f"kill point {point}: a manifest before mix"
    resumed = _cli(args, tmp)
    assert resumed.returncode == 0, f"kill point {point}: resume failed: {resumed.stderr[-800:]}"
    assert _result(out) == setup["expect"], f"kill point {point}: the resumed run differs from a clean run"
    assert not list(out.glob(".mix-*")) and not (out / ".kept-old").exists()


# --- no orphans ---------------------------------------------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    from curation.processes import descendants

    return descendants(pid)


def _with_env(name: str, value: str) -> list[int]:
    """Pids of live processes whose environment has name=value (what a process started by the run inherits)."""
    found = []
    want = f"{name}={value}".encode()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if want in (d / "environ").read_bytes().split(b"\0") and _alive(int(d.name)):
                    found.append(int(d.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_stopping_curate_stops_its_workers(setup: dict, how: str) -> None:
    tmp = setup["tmp"]
    flags = tmp / "flags"
    flags.mkdir()
    proc = _cli(["curate", str(setup["corpus"]), "--out", str(tmp / "stopped"), "-r", str(setup["recipe_file"]),
                 "--workers", "2", "--tasks", "2"], tmp,
                env={"WINNOW_FAULT": "score.batch_start:pause", "WINNOW_FAULT_FLAG_DIR": str(flags)}, wait=False)
    try:
        _wait_for(lambda: len(list(flags.iterdir())) == 2, what="both workers to start scoring")
        workers = [int(p.name) for p in flags.iterdir()]
        family = _descendants(proc.pid)
        assert set(workers) <= set(family)
        os.kill(proc.pid, getattr(signal, how))
        proc.wait(timeout=60)
        err = proc.log_path.read_text()
        _wait_for(lambda: not any(_alive(p) for p in family), timeout=30,
                  what=f"every process of the stopped curate to exit after {how} "
                       f"(alive: {[p for p in family if _alive(p)]})")
        # nor one started while it stopped (a pool replacing its stopped workers started a new forkserver,
        # orphaned once the command was gone): none left with this run's environment
        _wait_for(lambda: not _with_env("WINNOW_FAULT_FLAG_DIR", str(flags)), timeout=30,
                  what=f"no process of this run left after {how}")
    finally:
        for p in [proc.pid, *_descendants(proc.pid), *_with_env("WINNOW_FAULT_FLAG_DIR", str(flags))]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if how == "SIGTERM":
        assert proc.returncode == 130, err[-2000:]
        from app.registry import RunRegistry

        with RunRegistry(tmp / "ws") as reg:
            assert [r.status for r in reg.list(kind="curate")] == ["interrupted"]


# --- messages -----------------------------------------------------------------------------------------------

def test_recipe_errors_name_rules_and_columns_before_any_work(tmp_path: Path) -> None:
    from curation.recipe import apply_overrides, parse_recipe

    base = {"signals": {"length": {}, "gopher_repetition": {}},
            "rules": [{"name": "short", "signal": "length", "column": "n_words", "min": 5},
                      {"name": "rep", "signal": "gopher_repetition", "column": "dup_line_frac", "max": 0.3}]}
    bad_value = json.loads(json.dumps(base))
    bad_value["rules"][1]["max"] = "lots"
    with pytest.raises(WinnowError, match=r"rules\[rep\]\.max"):
        parse_recipe(bad_value)
    typo = json.loads(json.dumps(base))
    typo["rules"][0]["column"] = "n_wrds"
    with pytest.raises(WinnowError, match="rule 'short': signal 'length' has no column 'n_wrds'; did you mean "
                                          "'n_words'"):
        parse_recipe(typo)
    typo["rules"][0]["column"] = "n_words"
    typo["rules"][1]["column"] = "top_9_gram_char_frac"  # not among this config's n-grams
    with pytest.raises(WinnowError, match="rule 'rep': signal 'gopher_repetition' has no column"):
        parse_recipe(typo)
    with pytest.raises(WinnowError, match=r"name the field of rule 'short' to change, as rules\.short\.FIELD"):
        apply_overrides(parse_recipe(base), ["rules.short=1"])


def test_a_failing_run_stops_only_the_processes_it_started(setup: dict) -> None:
    # a library caller's own children (a test session's servers, the app's jobs) are not the run's to stop
    mine = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(WinnowError, match="holds a different run"):
            curate([setup["corpus"]], setup["clean"], load_recipe(setup["recipe_file"]), text_field="alt")
        assert mine.poll() is None
    finally:
        mine.kill()
        mine.wait()
