"""The workers' server started early by `winnow curate`: only when scoring will use several processes, with
the modules the recipe's steps need, and the pool made later uses that same server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from curation.worker_server import worker_preload

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, sys
from pathlib import Path
from multiprocess import forkserver
from app.commands.curate import _start_workers_early

inp, recipe, tasks, workers = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
_start_workers_early([inp], "out", [], recipe, [], None, "local", workers, tasks or None)
server = forkserver._forkserver._forkserver_pid
from curation.processes import _CLAIMED
claimed = server in _CLAIMED  # the command's own: an interrupted curate stops it with its workers
if server is not None:  # the pool of the executor finds the same server, and its workers run
    import multiprocess
    with multiprocess.get_context("forkserver").Pool(2) as pool:
        worker_mods = pool.map(lambda _: "curation.dedup.kernels_warm" in __import__("sys").modules, range(2))
    same = forkserver._forkserver._forkserver_pid == server
else:
    worker_mods, same = [], None
print(json.dumps({"server": server is not None, "same": same, "worker_mods": worker_mods, "claimed": claimed,
                  "in_command": "curation.dedup.signatures" in sys.modules}))
"""


def _run(tmp_path: Path, size: int, tasks: int, workers: int,
         recipe_text: str = "signals:\n  minhash: {num_perm: 64}\nrules: []\n") -> dict:
    src = tmp_path / "in.jsonl"
    line = json.dumps({"text": "word " * 40}) + "\n"
    src.write_text(line * max(1, size // len(line)), encoding="utf-8")
    recipe = tmp_path / "r.yaml"  # the signals come from the raw file, before the recipe is validated
    recipe.write_text(recipe_text, encoding="utf-8")
    p = subprocess.run([sys.executable, "-c", _CHILD, str(src), str(recipe), str(tasks), str(workers)],
                       capture_output=True,
                       text=True, cwd=ROOT, timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_preload_names_the_scoring_code_each_step_module_and_its_heavy_modules() -> None:
    mods = worker_preload(["minhash", "exact_dedup"])
    assert mods[0] == "curation.scoring"
    assert {"curation.steps.minhash", "curation.steps.exact_dedup", "curation.dedup.kernels_warm"} <= set(mods)
    assert len(mods) == len(set(mods))


@pytest.mark.slow
def test_several_tasks_start_the_server_early_and_the_pool_uses_it(tmp_path: Path) -> None:
    r = _run(tmp_path, size=20_000, tasks=2, workers=2)
    assert r["server"] and r["same"] and r["claimed"]
    # the workers have the kernels loaded (the server ran their warm-up); the command has not even imported the
    # dedup code: the server's imports ran beside its own
    assert r["worker_mods"] == [True, True] and not r["in_command"]


@pytest.mark.slow
def test_a_small_input_starts_no_server(tmp_path: Path) -> None:
    """20 KB is one task (curation/executors.py): scoring runs in the command's process, no server."""
    assert _run(tmp_path, size=20_000, tasks=0, workers=2)["server"] is False


@pytest.mark.slow
def test_a_recipe_that_is_not_yaml_starts_no_server(tmp_path: Path) -> None:
    assert _run(tmp_path, 20_000, 2, 2, recipe_text="signals: [unclosed\n")["server"] is False


@pytest.mark.slow
def test_an_unknown_step_name_is_skipped_by_the_server_and_the_others_load(tmp_path: Path) -> None:
    """(the recipe's validation, which runs next in the command, reports the unknown name)"""
    r = _run(tmp_path, 20_000, 2, 2, recipe_text="signals:\n  no_such_step: {}\n  minhash: {}\n")
    assert r["server"] and r["worker_mods"] == [True, True]


def test_the_server_is_stopped_once_scoring_is_done_and_a_later_curate_starts_another(tmp_path: Path) -> None:
    """Nothing forks from the server after scoring: `curate` stops it there (its exit then overlaps finalize and
    mix instead of following the command), and a second curate in the same process gets a working one."""
    code = r"""
import json, os, sys
from pathlib import Path
from multiprocess import forkserver
from curation.pipeline import curate
from curation.recipe import parse_recipe

inp, out = Path(sys.argv[1]), Path(sys.argv[2])
recipe = parse_recipe({"signals": {"length": {}}, "rules": []})
seen = []
for name in ("one", "two"):
    m = curate([inp], out / name, recipe, workers=2, tasks=2)
    seen.append({"kept": m["kept"], "server": forkserver._forkserver._forkserver_pid})
print(json.dumps(seen))
"""
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document {i} text"}) + "\n" for i in range(40)))
    out = subprocess.run([sys.executable, "-c", code, str(inp), str(tmp_path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == [{"kept": 40, "server": None}, {"kept": 40, "server": None}]
