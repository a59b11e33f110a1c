"""Benchmark: datatrove's four heuristic filters as whole commands, `winnow curate` against datatrove's pipeline.

    python bench/curation_heuristics.py --corpus sample --docs 20000
    python bench/curation_heuristics.py --corpus webtext --data-dir ../shared/data/webtext --docs 20000

Both sides read the same folder of JSONL files (one per process), work in `--workers` processes and write
the documents they keep; start-up is inside the clock; wall time and CPU time of the whole process tree;
medians of `--rounds` alternating rounds.
  * ours: `winnow curate DIR --recipe R --workers 2`, R = `curation/recipes/datatrove_compatible.yaml`
    when it exists, else `curation/recipes/heuristics.yaml` (datatrove's default thresholds as rules), plus
    the `c4_clean` transform (unless --no-c4-clean) so that kept documents hold C4's cleaned text, as
    datatrove's do. R is written into the work folder.
  * datatrove: JsonlReader -> GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter ->
    FineWebQualityFilter -> JsonlWriter on LocalPipelineExecutor (`bench/baselines.py datatrove-heuristics`).
Checks: the kept ids are the same (agreement), and with c4_clean the kept texts are the same bytes.
What still differs: we store every document and every signal (so a threshold changes in `winnow mix`
without re-scoring), a removal log with the rule and value, and a manifest; datatrove writes kept
documents and its stats. We write Parquet, datatrove uncompressed JSONL.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpora import describe, sharded  # noqa: E402
from bench.proctime import ROOT, Side, alternate, bench_env, machine, report, run_timed, winnow_cmd  # noqa: E402

RECIPES = ROOT / "curation" / "recipes"


def base_recipe() -> Path:
    compat = RECIPES / "datatrove_compatible.yaml"
    return compat if compat.exists() else RECIPES / "heuristics.yaml"


def write_recipe(out: Path, c4_clean: bool = True) -> Path:
    """The benchmark recipe: datatrove's four filters as rules (+ C4's text cleaning) in `out`."""
    src = base_recipe()
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    data["name"] = f"bench-heuristics ({src.name})"
    data.pop("optional", None)
    if c4_clean:
        c4 = (data.get("signals") or {}).get("c4_quality") or {}
        data.setdefault("transforms", {})["c4_clean"] = dict(c4)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def read_kept_ours(run: Path) -> dict[str, str]:
    df = pl.read_parquet(run / "kept" / "*.parquet", columns=["id", "text"])
    return dict(zip(df["id"].to_list(), df["text"].to_list(), strict=True))


def read_kept_datatrove(out: Path) -> dict[str, str]:
    got: dict[str, str] = {}
    for p in sorted((out / "kept").glob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            got[str(rec["id"])] = rec["text"]
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=["sample", "webtext"], default="sample")
    ap.add_argument("--data-dir", type=Path, help="the shared web text folder (../shared/data/webtext) for webtext")
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="processes on each side")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-c4-clean", action="store_true", help="keep original text on our side")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed at the end)")
    ap.add_argument("--show", type=int, default=5, help="disagreements to print")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="winnow-heur-bench-"))
    folder = sharded(a.corpus, a.docs, work, a.data_dir, a.seed, shards=a.workers)
    recipe = write_recipe(work / "bench_heuristics.yaml", c4_clean=not a.no_c4_clean)
    print(f"{describe(folder)}; recipe from {base_recipe().name}; {a.workers} processes per side; {machine()}",
          flush=True)
    env = bench_env()
    run, dt_out = work / "out_winnow", work / "out_datatrove"

    def dt() -> object:
        shutil.rmtree(dt_out, ignore_errors=True)
        return run_timed([sys.executable, str(ROOT / "bench" / "baselines.py"), "datatrove-heuristics", str(folder),
                          str(dt_out), "--workers", str(a.workers)], env=env, cwd=ROOT)

    sides = [Side("winnow", lambda: run_timed([*winnow_cmd(), "curate", str(folder), "--out", str(run), "--recipe",
                                               str(recipe), "--workers", str(a.workers), "--overwrite",
                                               "--workspace", str(work / "ws")], env=env, cwd=ROOT)),
             Side("datatrove", dt)]  # type: ignore[arg-type]
    alternate(sides, a.rounds)
    result: dict[str, object] = {"corpus": a.corpus, "docs": a.docs, "workers": a.workers, "rounds": a.rounds,
                                 "machine": machine(), "recipe": base_recipe().name,
                                 "vs_datatrove": report(sides[0], sides[1], 20, "four heuristic filters vs datatrove")}
    ours, ref = read_kept_ours(run), read_kept_datatrove(dt_out)
    n = sum(1 for p in folder.glob("*.jsonl") for _ in p.open(encoding="utf-8"))
    differ = sorted(set(ours) ^ set(ref))
    agree = n - len(differ)
    same_text = sum(1 for k in set(ours) & set(ref) if ours[k] == ref[k])
    print(f"kept: ours {len(ours)}, datatrove {len(ref)}; same keep/drop decision on {agree}/{n} "
          f"({agree / n:.4%}); kept texts identical: {same_text}/{len(set(ours) & set(ref))}"
          f"{'' if not a.no_c4_clean else ' (no c4_clean: ours keep the original text)'}")
    for k in differ[:a.show]:
        print(f"  {k}: kept by {'ours' if k in ours else 'datatrove'} only")
    result.update(kept_ours=len(ours), kept_datatrove=len(ref), agreement=agree / n, same_text=same_text)
    if a.json:
        a.json.write_text(json.dumps(result, indent=2, default=str))
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
