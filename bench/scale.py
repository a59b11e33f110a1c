"""Benchmark issue 16: the same `winnow curate` on a two-node Ray cluster with S3 paths vs the local executor on
local paths, and the driver's peak memory with the distributed dedup stages.

Both sides read the same sample corpus (`winnow data sample`, sharded into JSONL files), run the same recipe
with the same number of tasks and 2 worker processes (local: 2 processes; Ray: 2 nodes x 1 CPU), start-up
inside the clock (`winnow curate` as a fresh process). The Ray cluster (`ray start` x2) and the S3 server
(moto's S3 service, tests/curation/moto_s3.py) run on this machine and are started before the clock, as a
user's cluster would be; the corpus is uploaded to S3 before the clock too. CPU time: the command and everything
it started (local), or the command + every process of both Ray nodes + the S3 server (Ray), sampled from /proc
every 0.2 s (a process's last 0.2 s may be missed), by one pass over /proc a sample for either side.

    python bench/scale.py                        # 200,000 documents: local vs Ray+S3, same kept ids
    python bench/scale.py --rounds 6             # the bar: medians of 6 rounds, each side first in 3 of them, a
                                                 # fresh S3 server and cluster each round (this machine's speed
                                                 # drifts, and the order matters: an even count balances it)
    python bench/scale.py --docs 20000           # quick
    python bench/scale.py --rss-docs 1000000     # also: driver peak RSS at 1M documents (Ray, local paths)
    python bench/scale.py --stage-costs RUN_DIR  # per-stage time and memory of the dedup stages (cost model)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

RECIPE = """name: scale-bench
batch_size: 5000
signals:
  exact_dedup: {keep: first}
  minhash: {keep: first}
  length: {}
  gopher_repetition: {}
rules:
  - {name: exact_duplicate, signal: exact_dedup, column: duplicate, drop_if: true, kept_id_column: kept_id}
  - {name: near_duplicate, signal: minhash, column: duplicate, drop_if: true, value_column: similarity,
     kept_id_column: kept_id}
"""


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (parent pid, user+system CPU seconds, start time in clock ticks), from one pass over /proc.

    One pass serves every root, so the sampler costs the same whichever side it watches: with psutil's
    `children(recursive=True)` per root it read every process's stat once per root and again per process,
    12 ms a sample for the Ray side's four roots against ~3 ms for the local side's one, on the same 2 cores
    as the work it measured (about 4% of a core more, every 0.2 s, against the Ray side)."""
    out: dict[int, tuple[int, float, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                data = f.read()
        except OSError:  # gone since the listing
            continue
        rest = data[data.rindex(b")") + 2:].split()  # after the command name, which may hold spaces
        out[int(entry.name)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / CLOCK_TICKS, int(rest[19]))
    return out


def _tree(roots: list[int], table: dict[int, tuple[int, float, int]]) -> list[int]:
    """`roots` and every process under them, from `_proc_table`."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _kind(p) -> str:
    """Which part of the system a process is, for the CPU breakdown."""
    name, cmd = p.name(), " ".join(p.cmdline()[:3])
    if "moto_s3.py" in cmd or "moto_server" in cmd:
        return "s3 server"
    if name.startswith("ray::") and "Agent" not in name or "default_worker" in cmd:
        return "ray workers"
    if any(k in name or k in cmd for k in ("raylet", "gcs_server", "ray start", "Agent", "monitor", "ray/",
                                           "ray.util.client")):
        return "ray daemons"
    return "command"


def _sample_cpu(roots: list[int], seen: dict[tuple[int, int], tuple[float, str]],
                names: dict[tuple[int, int], str] | None = None) -> None:
    """Record user+system CPU of every live process under `roots`, keyed by (pid, start time)."""
    import psutil

    table = _proc_table()
    for pid in _tree(roots, table):
        _, cpu, started = table[pid]
        key = (pid, started)
        if key in seen:
            seen[key] = (cpu, seen[key][1])
            continue
        try:  # a process seen for the first time: what it is, once
            p = psutil.Process(pid)
            seen[key] = (cpu, _kind(p))
            if names is not None:
                names[key] = f"{p.name()[:28]} | {' '.join(p.cmdline())[:110]}"
        except psutil.NoSuchProcess:
            pass


def _run(cmd: list[str], env: dict[str, str], watch: list[int]) -> dict:
    """Run `cmd`: wall time, CPU seconds of every process under it and under `watch` (the Ray nodes and the S3
    server), sampled every 0.2 s (a process's last 0.2 s may be missed), and the command's own peak RSS."""
    import psutil

    base: dict[tuple[int, int], tuple[float, str]] = {}
    _sample_cpu(watch, base)
    seen = dict(base)
    names: dict[tuple[int, int], str] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], psutil.Process(proc.pid).memory_info().rss)
            except psutil.NoSuchProcess:
                break
            _sample_cpu([proc.pid, *watch], seen, names)
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    th.join()
    _sample_cpu(watch, seen)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out.decode(errors='replace')[-3000:]}")
    by_kind: dict[str, float] = {}
    for k, (v, kind) in seen.items():
        by_kind[kind] = by_kind.get(kind, 0.0) + v - base.get(k, (0.0, kind))[0]
    per_proc = sorted(((v - base.get(k, (0.0, kind))[0], kind, names.get(k, "?")) for k, (v, kind) in seen.items()),
                      reverse=True)
    return {"wall_s": wall, "cpu_s": sum(by_kind.values()), "cpu_by_kind_s": by_kind,
            "processes": len(per_proc), "cpu_top_processes": [[round(c, 2), k, n] for c, k, n in per_proc[:25]],
            "driver_peak_rss_mib": peak[0] / 2**20,
            "log_tail": out.decode(errors="replace")[-400:]}


def _kept_ids(run: str) -> list[str]:
    import fsspec
    import polars as pl

    fs, path = fsspec.core.url_to_fs(run)
    files = sorted(f for f in fs.find(f"{path}/kept") if f.endswith(".parquet"))
    return sorted(pl.concat([pl.read_parquet(io.BytesIO(fs.cat(f)), columns=["id"]) for f in files])["id"].to_list())


def _rss_now() -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) of this process, bytes."""
    vals = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            vals[line.split(":")[0]] = int(line.split()[1]) * 1024
    return vals["VmRSS"], vals["VmHWM"]


def _reset_peak() -> int:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak RSS (VmHWM) starts again from now
    return _rss_now()[0]


def stage_costs(src: Path, work: Path) -> dict:
    """Time, CPU and peak memory of each dedup stage run as ONE task over all of `src`'s parts (in this
    process, local executor), and of the single-process finalize, so per-document costs can be read off."""
    import resource
    import shutil

    from curation.dedup.distributed import finalize_distributed
    from curation.steps.exact_dedup import ExactDedupStep
    from curation.steps.minhash import MinHashStep

    run = work / "stage-costs"
    shutil.rmtree(run, ignore_errors=True)
    for sub in ("signals/exact_dedup.parts", "signals/minhash.parts", "state/tasks"):
        shutil.copytree(src / sub, run / sub)
    n_docs = sum(json.loads(p.read_text())["docs"] for p in (run / "state/tasks").glob("*.json"))
    out: dict = {"docs": n_docs, "steps": {}}

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    for step in (ExactDedupStep(context={}), MinHashStep(context={})):
        rec: dict = {}
        base = _reset_peak()
        t0, c0 = time.perf_counter(), cpu()
        step.finalize(sorted((run / "signals" / f"{step.name}.parts").glob("*.parquet")), run / "single" / step.name)
        rec["single_process"] = {"wall_s": time.perf_counter() - t0, "cpu_s": cpu() - c0,
                                 "peak_mib_above_start": (_rss_now()[1] - base) / 2**20}
        marks: dict = {}

        def hook(stage: str, phase: str, marks: dict = marks) -> None:
            if phase == "start":
                marks[stage] = (_reset_peak(), time.perf_counter(), cpu())
            else:
                b, t, c = marks[stage]
                marks[stage] = {"wall_s": time.perf_counter() - t, "cpu_s": cpu() - c,
                                "peak_mib_above_start": (_rss_now()[1] - b) / 2**20}

        finalize_distributed(step, str(run), executor="local", tasks=1, workers=1, partitions=1, hook=hook)
        rec["stages"] = marks
        sizes = {}
        for d in sorted((run / "dedup" / step.name).iterdir()):
            if d.is_dir():
                sizes[d.name] = sum(f.stat().st_size for f in d.rglob("*.parquet"))
        rec["intermediate_bytes"] = sizes
        if step.name == "minhash":
            import polars as pl

            def rows(sub: str) -> int:
                return pl.scan_parquet(str(run / "dedup/minhash" / sub / "*.parquet")).select(pl.len()).collect().item()

            rec["candidates"], rec["pairs"] = rows("nodes"), rows("pairs")
        out["steps"][step.name] = rec
    return out


def short_corpus(n: int, folder: Path, shards: int, words: int = 40, seed: int = 0) -> Path:
    """`n` short documents (`words` words from a 5,000-word vocabulary; one in ten an edited copy of another),
    in `shards` JSONL files: the driver-memory check needs many documents, not long ones."""
    import numpy as np
    import polars as pl

    if folder.is_dir():
        return folder
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(5000)], dtype=object)
    idx = rng.integers(0, len(vocab), size=(n, words))
    copies = rng.random(n) < 0.1
    src = rng.integers(0, n, size=n)
    idx[copies] = idx[src[copies]]
    idx[copies, rng.integers(0, words, size=int(copies.sum()))] = rng.integers(0, len(vocab), int(copies.sum()))
    texts = [" ".join(row) for row in vocab[idx]]
    df = pl.DataFrame({"id": [f"d{i}" for i in range(n)], "text": texts})
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    per = -(-n // shards)
    for k in range(shards):
        df.slice(k * per, per).write_ndjson(tmp / f"part-{k:05d}.jsonl")
    tmp.rename(folder)
    return folder


def score_costs(src: Path, n: int = 20_000) -> dict:
    """CPU seconds per document of each scoring step of the bench recipe (this process, one core), on the
    first `n` documents a run stored, and of reading them back."""
    import polars as pl
    import yaml

    from curation.recipe import Recipe
    from curation.scoring import build_steps

    t0 = time.process_time()
    docs = pl.scan_parquet(sorted(str(p) for p in (src / "docs").glob("*.parquet"))).head(n).collect()
    out: dict = {"docs": docs.height, "read_cpu_s_per_doc": (time.process_time() - t0) / max(1, docs.height)}
    recipe = Recipe.model_validate(yaml.safe_load(RECIPE))
    batch = docs.select("id", "text", "order")
    for step in build_steps(recipe, list(recipe.signals), {}):
        step.setup()
        step.score(batch.head(200))  # warm-up: kernels compiled, tables built
        t0 = time.process_time()
        for k in range(0, batch.height, 5000):
            step.score(batch.slice(k, 5000))
        out[step.name] = (time.process_time() - t0) / batch.height
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000, help="0: skip the local vs Ray+S3 comparison")
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--work", type=Path, default=None,
                    help="scratch folder, kept (default: a temporary one, removed at the end)")
    ap.add_argument("--rss-docs", type=int, default=0, help="also measure the driver's peak RSS at this size")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of both sides, alternating which goes first; "
                                                         "the ratios reported are the medians")
    ap.add_argument("--stage-costs", type=Path, default=None, metavar="RUN_DIR",
                    help="only: per-stage time/CPU/memory of the dedup stages over a local run's parts")
    args = ap.parse_args()
    own = None if args.work else Path(tempfile.mkdtemp(prefix="winnow-scale-"))
    try:
        _main(args, args.work or own)
    finally:
        if own is not None:  # the bench's own scratch (corpora and run folders, 1-2 GB), never a --work given
            import shutil

            shutil.rmtree(own, ignore_errors=True)


def _main(args: argparse.Namespace, work: Path) -> None:
    if args.stage_costs:
        res = {"scoring_cpu_s_per_doc": score_costs(args.stage_costs), **stage_costs(args.stage_costs, work)}
        print(json.dumps(res, indent=2))
        if args.json:
            args.json.write_text(json.dumps(res, indent=2))
        return

    from bench.corpora import sharded
    from tests.curation.cluster_fixtures import _clear_s3fs_cache, local_ray_cluster, local_s3

    work.mkdir(parents=True, exist_ok=True)
    recipe = work / "recipe.yaml"
    recipe.write_text(RECIPE)
    winnow = [sys.executable, "-m", "app.cli"]
    base_env = {**os.environ, "WINNOW_NO_BAR": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
                "HF_DATASETS_OFFLINE": "1"}
    base_env.pop("RAY_ADDRESS", None)
    results: dict = {"docs": args.docs, "tasks": args.tasks, "rounds": args.rounds,
                     "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                     "load_avg_at_start": os.getloadavg()}
    compare = args.docs > 0  # --docs 0: only the driver-memory check
    common = ["--recipe", str(recipe), "--workers", "2", "--tasks", str(args.tasks)]
    corpus = None
    if compare:
        corpus = sharded("sample", args.docs, work / "corpus", shards=args.tasks)
        print(f"corpus: {corpus} ({sum(p.stat().st_size for p in corpus.glob('*.jsonl')) / 1e6:.0f} MB)", flush=True)

    def local_side(r: int) -> dict:
        out = work / f"local{r}"
        if out.exists():
            import shutil

            shutil.rmtree(out)
        res = _run([*winnow, "curate", str(corpus), "--out", str(out), *common, "--executor", "local",
                    "--workspace", str(work / "ws")], base_env, [])
        res["timings"] = json.loads((out / "manifest.json").read_text()).get("timings")
        res["kept_ids"] = _kept_ids(str(out))
        print(f"round {r}: local executor, local paths: {res['wall_s']:.1f} s wall, {res['cpu_s']:.1f} s CPU",
              flush=True)
        return res

    def with_cluster(r: int, fn) -> dict:  # noqa: ANN001 - a fresh S3 server and cluster for each round
        with local_s3(work / f"moto{r}.log") as s3:
            os.environ.update(s3.env)
            _clear_s3fs_cache()  # a client made for an earlier round's server would call that one
            import fsspec

            bucket = s3.bucket()
            fs = fsspec.filesystem("s3")
            t0 = time.perf_counter()
            if corpus is not None:
                for p in sorted(corpus.glob("*.jsonl")):
                    fs.put_file(str(p), f"{bucket}/corpus/{p.name}")
            upload_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            with local_ray_cluster(s3.env, work / f"ray{r}") as cluster:
                import ray

                ray.shutdown()  # the bench process is not the driver: the curate command is
                renv = {**base_env, **s3.env, "RAY_ADDRESS": cluster.address, "RAY_AUTH_MODE": "token",
                        "RAY_AUTH_TOKEN": cluster.env["RAY_AUTH_TOKEN"]}
                watch = [p.pid for p in cluster.procs] + [p.pid for p in s3.procs]
                return fn(bucket, renv, watch, {"upload_s": upload_s, "cluster_start_s": time.perf_counter() - t0})

    def ray_side(r: int) -> dict:
        def go(bucket: str, renv: dict, watch: list[int], setup: dict) -> dict:
            import fsspec

            run_url = f"s3://{bucket}/runs/scale"
            res = _run([*winnow, "curate", f"s3://{bucket}/corpus", "--out", run_url, *common, "--executor", "ray",
                        "--workspace", str(work / "ws")], renv, watch)
            mfs, mpath = fsspec.core.url_to_fs(run_url)
            res["timings"] = json.loads(mfs.cat(f"{mpath}/manifest.json")).get("timings")
            res["kept_ids"] = _kept_ids(run_url)
            print(f"round {r}: Ray 2 nodes, S3 paths: {res['wall_s']:.1f} s wall, {res['cpu_s']:.1f} s CPU",
                  flush=True)
            return {**res, **setup}

        return with_cluster(r, go)

    if compare:
        rounds = []
        for r in range(args.rounds):
            # alternate which side goes first: a machine whose speed drifts favours neither
            order = (("local", local_side), ("ray_s3", ray_side)) if r % 2 == 0 else \
                (("ray_s3", ray_side), ("local", local_side))
            rec = {name: fn(r) for name, fn in order}
            rec["same_kept_ids"] = rec["ray_s3"]["kept_ids"] == rec["local"]["kept_ids"]
            rec["kept"] = len(rec["local"]["kept_ids"])
            for side in ("local", "ray_s3"):
                rec[side].pop("kept_ids")
                rec[side].pop("log_tail", None)
            rec["wall_ratio"] = rec["ray_s3"]["wall_s"] / rec["local"]["wall_s"]
            rec["cpu_ratio"] = rec["ray_s3"]["cpu_s"] / rec["local"]["cpu_s"]
            rec["first"] = order[0][0]
            rounds.append(rec)
            print(f"round {r} ({order[0][0]} first): ratio Ray+S3 / local: wall {rec['wall_ratio']:.2f}, "
                  f"CPU {rec['cpu_ratio']:.2f}; same kept ids: {rec['same_kept_ids']}", flush=True)
        results["rounds_detail"] = rounds
        results["same_kept_ids"] = all(x["same_kept_ids"] for x in rounds)
        results["kept"] = rounds[0]["kept"]
        for key in ("wall_ratio", "cpu_ratio"):
            results[key] = statistics.median(x[key] for x in rounds)
        for side in ("local", "ray_s3"):
            results[side] = {k: statistics.median(x[side][k] for x in rounds) for k in ("wall_s", "cpu_s")}
        print(f"median of {len(rounds)} rounds: ratio Ray+S3 / local: wall {results['wall_ratio']:.2f}, "
              f"CPU {results['cpu_ratio']:.2f} (local {results['local']['wall_s']:.1f} s / "
              f"{results['local']['cpu_s']:.1f} s CPU; Ray+S3 {results['ray_s3']['wall_s']:.1f} s / "
              f"{results['ray_s3']['cpu_s']:.1f} s CPU); same kept ids every round: {results['same_kept_ids']}",
              flush=True)

    if args.rss_docs:
        def big_run(bucket: str, renv: dict, watch: list[int], setup: dict) -> dict:
            big = short_corpus(args.rss_docs, work / f"short_{args.rss_docs}", shards=8)
            dedup = work / "dedup_recipe.yaml"
            dedup.write_text(RECIPE.replace("  gopher_repetition: {}\n", ""))
            rb = _run([*winnow, "curate", str(big), "--out", str(work / "big"), "--recipe", str(dedup),
                       "--workers", "2", "--tasks", "8", "--executor", "ray", "--workspace", str(work / "ws")],
                      renv, watch)
            big_manifest = json.loads((work / "big" / "manifest.json").read_text())
            # the search index (recipe default "auto": built at 300,000+ documents) is a Ray task there
            index = big_manifest.get("search_index") or {}
            return {"docs": args.rss_docs, "driver_peak_rss_mib": rb["driver_peak_rss_mib"],
                    "wall_s": rb["wall_s"], "search_index_docs": index.get("n_docs"),
                    "timings": big_manifest.get("timings")}

        results["rss"] = rss = with_cluster(args.rounds, big_run)
        print(f"{args.rss_docs} documents on Ray with distributed stages: driver peak RSS "
              f"{rss['driver_peak_rss_mib']:.0f} MiB, {rss['wall_s']:.0f} s; search index of "
              f"{rss['search_index_docs']} documents", flush=True)
    results["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
