"""The distributed dedup stages give the same signals as the single-process finalize on the same parts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from curation.dedup.distributed import finalize_distributed
from curation.steps.exact_dedup import ExactDedupStep
from curation.steps.minhash import MinHashStep

WORDS = [f"w{i}" for i in range(400)]


def _corpus(seed: int, n_base: int) -> list[str]:
    """Random texts, edited copies (near-duplicates), case/punctuation copies, 70 copies of one text (a
    bucket bigger than the all-pairs limit), and texts without any word (no shingles)."""
    rnd = random.Random(seed)
    base = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(30, 80))) for _ in range(n_base)]
    texts = list(base)
    for t in base[: n_base // 2]:
        words = t.split()
        k = rnd.randrange(len(words))
        texts.append(" ".join(words[:k] + ["edit"] + words[k + 1:]))  # one word changed
    texts += [t.upper() + " !!" for t in base[: n_base // 5]]  # exact after normalisation
    texts += [base[0]] * 70
    texts += ["...", "!!! ???", ""]
    rnd.shuffle(texts)
    return texts


def _write_parts(run: Path, step, texts: list[str], batch: int, file_index: int, prefix: str) -> None:
    """Parts as scoring writes them: one Parquet per batch under signals/<step>.parts/."""
    folder = run / "signals" / f"{step.name}.parts"
    folder.mkdir(parents=True, exist_ok=True)
    for b in range(0, len(texts), batch):
        chunk = texts[b: b + batch]
        df = pl.DataFrame({"id": [f"{prefix}{b + i}" for i in range(len(chunk))], "text": chunk,
                           "order": [file_index * (1 << 40) + b + i for i in range(len(chunk))]})
        step.score(df).write_parquet(folder / f"{b // batch:05d}_{0:06d}.parquet")


def _single(step, run: Path) -> pl.DataFrame:
    out = run / "single" / step.name
    step.finalize(sorted((run / "signals" / f"{step.name}.parts").glob("*.parquet")), out)
    return pl.read_parquet(sorted(out.glob("*.parquet"))).sort("id")


@pytest.mark.parametrize("keep", ["first", "longest"])
def test_minhash_stages_equal_single_process(tmp_path: Path, keep: str) -> None:
    step = MinHashStep(MinHashStep.Config(keep=keep), context={})
    texts = _corpus(1, 300)
    _write_parts(tmp_path, step, texts, batch=97, file_index=0, prefix="d")
    single = _single(step, tmp_path)
    assert single["duplicate"].sum() >= 150 + 69  # the edited copies and the 70 copies are found
    finalize_distributed(step, str(tmp_path), executor="local", tasks=3, workers=1, partitions=4)
    dist = pl.read_parquet(sorted((tmp_path / "signals" / "minhash").glob("part-*.parquet"))).sort("id")
    assert dist.columns == single.columns
    assert dist.height == len(texts)
    assert dist.equals(single)


def test_against_earlier_run_equal(tmp_path: Path) -> None:
    """Both steps with `--against`: documents already kept by an earlier run point at it (`<run>:<id>`)."""
    old_run, new_run = tmp_path / "old", tmp_path / "new"
    old_texts = _corpus(2, 120)
    new_texts = _corpus(3, 120) + old_texts[:40]  # 40 documents seen in the earlier run
    for cls in (MinHashStep, ExactDedupStep):
        _write_parts(old_run, cls(context={}), old_texts, batch=50, file_index=0, prefix="o")
        step = cls(context={"against": [str(old_run)]})
        _write_parts(new_run, step, new_texts, batch=50, file_index=0, prefix="n")
        single = _single(step, new_run)
        finalize_distributed(step, str(new_run), executor="local", tasks=2, workers=1)
        dist = pl.read_parquet(sorted((new_run / "signals" / step.name).glob("*.parquet"))).sort("id")
        assert dist.equals(single)
        seen = single.filter(pl.col("kept_run") == "old")
        assert seen.height >= 40 and seen["kept_id"].str.starts_with("old:o").all()


@pytest.mark.parametrize("keep", ["first", "longest"])
def test_exact_stages_equal_single_process(tmp_path: Path, keep: str) -> None:
    step = ExactDedupStep(ExactDedupStep.Config(keep=keep), context={})
    texts = _corpus(4, 200)
    _write_parts(tmp_path, step, texts, batch=64, file_index=0, prefix="d")
    single = _single(step, tmp_path)
    assert single["duplicate"].sum() >= 40 + 69
    finalize_distributed(step, str(tmp_path), executor="local", tasks=3, workers=1, partitions=5)
    dist = pl.read_parquet(sorted((tmp_path / "signals" / "exact_dedup").glob("*.parquet"))).sort("id")
    assert dist.equals(single)
    # the groups were really split: more than one partition holds output
    assert len(list((tmp_path / "signals" / "exact_dedup").glob("*.parquet"))) > 1


def test_rescored_part_redoes_the_stages(tmp_path: Path) -> None:
    """A part scored again after the stages ran (a damaged batch) must not leave stale stage outputs."""
    import os

    step = ExactDedupStep(context={})
    texts = _corpus(5, 60)
    _write_parts(tmp_path, step, texts, batch=40, file_index=0, prefix="d")
    finalize_distributed(step, str(tmp_path), executor="local", tasks=2, workers=1)
    part = sorted((tmp_path / "signals" / "exact_dedup.parts").glob("*.parquet"))[-1]
    df = pl.read_parquet(part)
    first = pl.read_parquet(sorted((tmp_path / "signals" / "exact_dedup.parts").glob("*.parquet"))[0])
    df = df.with_columns(key=pl.lit(first["key"][0]))  # every row of the last part now copies one text
    df.write_parquet(part)
    os.utime(part, ns=(1, 1))
    finalize_distributed(step, str(tmp_path), executor="local", tasks=2, workers=1)
    dist = pl.read_parquet(sorted((tmp_path / "signals" / "exact_dedup").glob("*.parquet"))).sort("id")
    assert dist.equals(_single(step, tmp_path))
    assert dist.filter(pl.col("kept_id") == first["id"][0]).height >= df.height


def test_one_task_stages_of_both_steps_run_as_one_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small corpus gives every stage one task: all stages of both steps run as ONE executor task (one worker
    start on Ray), with the same signals as the single-process finalize."""
    import yaml

    from curation.dedup import distributed
    from curation.dedup.distributed import finalize_stages
    from curation.recipe import Recipe

    monkeypatch.setattr(distributed, "WHOLE_FINALIZE", False)  # the stages themselves, not the one-task finalize

    recipe = Recipe.model_validate(yaml.safe_load(
        "name: t\nsignals: {exact_dedup: {keep: first}, minhash: {keep: first}}\nrules: []\n"))
    texts = _corpus(6, 150)
    steps = [ExactDedupStep(context={}), MinHashStep(context={})]
    for step in steps:
        _write_parts(tmp_path, step, texts, batch=60, file_index=0, prefix="d")
    singles = {step.name: _single(step, tmp_path) for step in steps}
    out = finalize_stages(recipe, ["exact_dedup", "minhash"], {}, str(tmp_path), "local", tasks=1, workers=1)
    assert list(out) == ["exact_dedup+minhash"]
    runs = [p.name for p in (tmp_path / "logs" / "dedup").iterdir()]
    assert runs == ["exact_dedup+minhash"]
    (fused,) = (tmp_path / "logs" / "dedup" / "exact_dedup+minhash").iterdir()
    assert fused.name.count("+") == 6 and (fused / "completions" / "00000").is_file()
    for step in steps:
        dist = pl.read_parquet(sorted((tmp_path / "signals" / step.name).glob("part-*.parquet"))).sort("id")
        assert dist.equals(singles[step.name]), step.name


def _two_step_recipe():
    import yaml

    from curation.recipe import Recipe

    return Recipe.model_validate(yaml.safe_load(
        "name: t\nsignals: {exact_dedup: {keep: first}, minhash: {keep: first}}\nrules: []\n"))


def _scored_run(run: Path, seed: int, n_base: int) -> tuple[list[str], list, dict[str, pl.DataFrame]]:
    """Both dedup steps' parts as scoring leaves them, with the scoring tasks' counters (which size the stages:
    here one task each); returns the texts, the steps and each step's single-process finalize."""
    texts = _corpus(seed, n_base)
    steps = [ExactDedupStep(context={}), MinHashStep(context={})]
    for step in steps:
        _write_parts(run, step, texts, batch=60, file_index=0, prefix="d")
    singles = {step.name: _single(step, run) for step in steps}
    (run / "state" / "tasks").mkdir(parents=True)
    (run / "state" / "tasks" / "00000.json").write_text(json.dumps({"docs": len(texts), "done": True}))
    return texts, steps, singles


def test_small_corpus_runs_each_single_process_finalize_in_one_task(tmp_path: Path) -> None:
    """Every stage would have one task: one executor task runs both steps' single-process finalize instead (no
    intermediate files), recorded as done, its signals equal to the finalize run here, and no stale outputs
    of an earlier plan (a distributed run's per-file parts) left beside them."""
    from curation.dedup.distributed import finalize_stages

    texts, steps, singles = _scored_run(tmp_path, seed=7, n_base=150)
    stale = tmp_path / "signals" / "minhash" / "part-000009.parquet"  # e.g. left by a killed distributed run
    stale.parent.mkdir(parents=True)
    singles["minhash"].head(3).write_parquet(stale)
    out = finalize_stages(_two_step_recipe(), ["exact_dedup", "minhash"], {}, str(tmp_path), "local", tasks=4,
                          workers=2)
    assert list(out) == ["exact_dedup+minhash (single-process)"]
    logs = tmp_path / "logs" / "dedup" / "exact_dedup+minhash"
    assert [p.name for p in logs.iterdir()] == ["single_process_finalize"]
    assert (logs / "single_process_finalize" / "completions" / "00000").is_file()
    assert not (tmp_path / "dedup" / "minhash" / "bands").exists()  # no stage wrote its intermediate files
    for step in steps:
        got = pl.read_parquet(sorted((tmp_path / "signals" / step.name).glob("*.parquet"))).sort("id")
        assert got.equals(singles[step.name]), step.name
    assert got.height == len(texts)


def test_against_earlier_run_uses_the_stages_even_when_small(tmp_path: Path) -> None:
    """An earlier run (`--against`) joins through the stages, which read it from any store: the one-task
    finalize is for a run on its own."""
    from curation.dedup.distributed import finalize_stages

    old, new = tmp_path / "old", tmp_path / "new"
    texts = _corpus(8, 80)
    _write_parts(old, MinHashStep(context={}), texts[:100], batch=50, file_index=0, prefix="o")
    step = MinHashStep(context={"against": [str(old)]})
    _write_parts(new, step, texts[100:], batch=50, file_index=0, prefix="n")
    expected = _single(step, new)
    finalize_stages(_two_step_recipe(), ["minhash"], {"against": [str(old)]}, str(new), "local", tasks=1, workers=1)
    assert [p.name for p in (new / "logs" / "dedup" / "minhash").iterdir()] != ["single_process_finalize"]
    got = pl.read_parquet(sorted((new / "signals" / "minhash").glob("part-*.parquet"))).sort("id")
    assert got.equals(expected)


def test_stages_after_a_single_process_finalize_leave_no_stale_outputs(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A run finalized by the local executor (one `part-00000.parquet`), then rerun on Ray with the stages (their
    own file names): the stages' outputs replace it, so no document's signals appear twice."""
    from curation.dedup import distributed
    from curation.dedup.distributed import finalize_stages

    monkeypatch.setattr(distributed, "WHOLE_FINALIZE", False)
    texts = _corpus(9, 120)
    step = MinHashStep(context={})
    _write_parts(tmp_path, step, texts, batch=60, file_index=0, prefix="d")
    expected = _single(step, tmp_path)
    step.finalize(sorted((tmp_path / "signals" / "minhash.parts").glob("*.parquet")), tmp_path / "signals" / "minhash")
    finalize_stages(_two_step_recipe(), ["minhash"], {}, str(tmp_path), "local", tasks=2, workers=1)
    got = pl.read_parquet(sorted((tmp_path / "signals" / "minhash").glob("*.parquet"))).sort("id")
    assert got.height == len(texts)
    assert got.equals(expected)


def test_one_task_finalize_failing_after_removing_old_signals_is_redone(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-task finalize removes a step's old signals before it writes the new ones: a failure in between
    (a lost worker, a store error) leaves no completion record, so the rerun does the work again and the
    signals equal the single-process finalize's, not a half-written or empty folder."""
    from curation import objstore
    from curation.dedup.distributed import finalize_stages

    texts, steps, singles = _scored_run(tmp_path, seed=10, n_base=120)
    upload = objstore.upload_tree

    def fail_on_minhash(local_dir, run, subdir="", **kw):  # noqa: ANN001, ANN202
        if subdir == "signals/minhash":
            raise OSError("store unreachable")
        return upload(local_dir, run, subdir, **kw)

    monkeypatch.setattr(objstore, "upload_tree", fail_on_minhash)
    with pytest.raises(OSError, match="store unreachable"):  # one task on the local executor: in this process
        finalize_stages(_two_step_recipe(), ["exact_dedup", "minhash"], {}, str(tmp_path), "local", tasks=1,
                        workers=1)
    assert not (tmp_path / "signals" / "minhash").exists()  # removed, the new ones never written
    monkeypatch.setattr(objstore, "upload_tree", upload)
    finalize_stages(_two_step_recipe(), ["exact_dedup", "minhash"], {}, str(tmp_path), "local", tasks=1, workers=1)
    for step in steps:
        got = pl.read_parquet(sorted((tmp_path / "signals" / step.name).glob("*.parquet"))).sort("id")
        assert got.equals(singles[step.name]), step.name
