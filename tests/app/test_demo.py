"""`winnow demo`: its ablation reuses the demo's own curated signals, and its summary reports wall and CPU."""

from __future__ import annotations

from pathlib import Path

import app.demo as demo


def _opt(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_ablation_mixes_from_the_demos_own_curated_run(tmp_path: Path) -> None:
    steps, paths = demo.plan(tmp_path, None, 5000)
    curate = [s for s in steps if s.args[0] == "curate"]
    ablate = [s for s in steps if s.args[0] == "ablate"]
    assert len(curate) == 1 and len(ablate) == 1  # the corpus is scored once in the whole demo
    c, a = curate[0].args, ablate[0].args
    # the ablation mixes each recipe from the signals the demo's curate step wrote, on the same corpus
    assert _opt(a, "--scored") == _opt(c, "--out")
    assert a[1] == c[1]
    assert a[a.index("--recipes") + 1:a.index("--recipes") + 3] == ["default", "keep-everything"]
    # trains from the demo's own tiny model, scores on a held-out sample made earlier in the demo
    model_step = next(s for s in steps if s.args[:2] == ["model", "tiny"])
    assert _opt(a, "--model") == _opt(model_step.args, "--out")
    held = _opt(a, "--heldout-clean")
    assert any(s.args[:2] == ["data", "sample"] and _opt(s.args, "--out") == held
               for s in steps[:steps.index(ablate[0])])
    assert {Path(_opt(c, "--out")), Path(held)} <= set(ablate[0].needs)
    # it is the last step, so its summary closes the demo
    assert steps[-1] is ablate[0]


def test_summary_reports_each_steps_wall_and_cpu(tmp_path: Path, monkeypatch, capsys) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    marker = tmp_path / "made-by-step-one"

    def small_plan(w: Path, data_dir: Path | None, docs: int):
        steps = [demo.Step("runs", "list the runs", ["runs"]),
                 demo.Step("runs", "needs something no step made", ["runs"], needs=[marker])]
        return steps, {"curated": w / "none", "dpo_model": w / "none", "eval_dpo": w / "none"}

    monkeypatch.setattr(demo, "plan", small_plan)
    assert demo.run_demo(ws) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("done", "skipped"))]
    assert [r[0] for r in rows] == ["done", "skipped"]
    wall, cpu = float(rows[0][1].rstrip("s")), float(rows[0][2].rstrip("s"))
    # a fresh `winnow runs` process costs CPU (interpreter start-up alone); a skipped step costs none
    assert wall > 0 and cpu > 0.05
    assert rows[1][1:3] == ["0.0s", "0.0s"]
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    assert "wall" in total and "CPU" in total
    assert float(total.split()[3].rstrip("s")) >= round(cpu) - 1


def test_steps_get_one_math_thread_unless_the_user_chose(monkeypatch) -> None:
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(k, raising=False)
    assert demo.step_env() == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert demo.step_env()["OMP_NUM_THREADS"] == "2"
