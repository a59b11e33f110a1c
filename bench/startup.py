"""The fixed cost of `winnow curate`: the whole command on 10 documents, start to exit (bar: under 3 s).

    python bench/startup.py [--recipes minhash heuristics pii default] [--workers 2] [--runs 5] [--importtime]

Each recipe runs `--runs` times (median wall time and CPU time of the whole process tree: the CLI, datatrove's
forkserver and its workers, any NER worker). `--importtime` reruns each once with PYTHONPROFILEIMPORTTIME=1
(every process inherits it) and prints the slowest top-level imports summed over all processes, and whether
any process imported torch, transformers or spaCy (a pattern-only run must not).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpora import corpus  # noqa: E402
from bench.proctime import ROOT, bench_env, machine, run_timed, winnow_cmd  # noqa: E402

HEAVY = ("torch", "transformers", "spacy", "thinc", "presidio_analyzer.nlp_engine")
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def recipe_path(name: str, work: Path) -> Path | None:
    """The recipe file for `name` (None: the default recipe that ships)."""
    if name == "default":
        return None
    if name == "heuristics":
        from bench.curation_heuristics import write_recipe

        return write_recipe(work / "heuristics_recipe.yaml", c4_clean=True)
    return ROOT / "curation" / "recipes" / "bench" / {"minhash": "minhash.yaml", "pii": "pii_patterns.yaml"}[name]


def curate_argv(docs: Path, out: Path, recipe: Path | None, workers: int, ws: Path) -> list[str]:
    argv = [*winnow_cmd(), "curate", str(docs), "--out", str(out), "--workers", str(workers), "--overwrite",
            "--workspace", str(ws)]
    return argv + (["--recipe", str(recipe)] if recipe else [])


def importtime(stderr: str) -> tuple[list[tuple[str, float]], list[str]]:
    """(top-level imports by cumulative seconds summed over processes, heavy modules seen)."""
    top: dict[str, float] = {}
    heavy = set()
    for m in _LINE.finditer(stderr):
        cum, indent, name = int(m.group(2)), len(m.group(3)), m.group(4)
        root = name.split(".")[0]
        if (root in HEAVY and "." in name) or name in HEAVY[-1:]:  # a real load brings submodules
            heavy.add(root if root in HEAVY else name)
        if indent <= 1:
            top[name] = top.get(name, 0.0) + cum / 1e6
    return sorted(top.items(), key=lambda kv: -kv[1])[:12], sorted(heavy)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", nargs="+", default=["minhash", "heuristics", "pii", "default"],
                    choices=["minhash", "heuristics", "pii", "default"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--importtime", action="store_true")
    ap.add_argument("--work", type=Path)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="winnow-startup-"))
    try:
        return _measure(a, work)
    finally:
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _measure(a: argparse.Namespace, work: Path) -> int:
    docs = corpus("sample", 10, work)
    env = bench_env()
    print(f"winnow curate on 10 documents, --workers {a.workers}; {machine()}")
    worst = 0.0
    for name in a.recipes:
        recipe = recipe_path(name, work)
        argv = curate_argv(docs, work / f"run_{name}", recipe, a.workers, work / "ws")
        runs = [run_timed(argv, env=env, cwd=ROOT) for _ in range(a.runs)]
        wall = statistics.median(r.wall for r in runs)
        cpu = statistics.median(r.cpu for r in runs)
        worst = max(worst, wall)
        print(f"  {name:<11} median wall {wall:5.2f} s  cpu {cpu:5.2f} s  (walls: "
              f"{', '.join(f'{r.wall:.2f}' for r in runs)})", flush=True)
        if a.importtime:
            t = run_timed(argv, env=bench_env(PYTHONPROFILEIMPORTTIME="1"), cwd=ROOT)
            top, heavy = importtime(t.stderr)
            print(f"    heavy modules imported: {', '.join(heavy) or 'none'}")
            print("    slowest top-level imports (seconds, summed over processes): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in top))
    print(f"fixed cost: {worst:.2f} s at worst (bar: < 3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
