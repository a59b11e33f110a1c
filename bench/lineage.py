"""`winnow lineage` on a workspace of many runs: the time to walk up from a report and down from a raw file.

Builds a workspace of N chains (raw file -> curated run -> SFT model -> DPO model -> report: 4 Winnow
folders a chain, each written with the real lineage block and stamped fingerprint) and times the
`winnow lineage` command in a fresh process (start-up inside the clock), up from one report and `--down`
from one curated run, registry present and registry deleted.

    .venv/bin/python bench/lineage.py --runs 1000 --out /tmp/lineage-bench
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build(ws: Path, runs: int) -> list[dict[str, Path]]:
    from app.registry import RunRegistry
    from curation.lineage_record import lineage_block, stamp_fingerprint

    def job(folder: Path, kind: str, **kw) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "out.bin").write_bytes(f"{folder}".encode())
        m = {"kind": kind, "lineage": lineage_block(command=["bench"], config={}, kind=kind, **kw)}
        stamp_fingerprint(m, [folder / "out.bin"])
        (folder / "manifest.json").write_text(json.dumps(m))
        return folder

    chains = []
    reg = RunRegistry(ws)
    raw_dir = ws.parent / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    for i in range(runs // 4):
        raw = raw_dir / f"corpus-{i}.jsonl"
        raw.write_text(json.dumps({"text": f"document {i}"}) + "\n")
        cur = job(ws / "runs" / f"curated-{i}", "curated", inputs=[raw])
        sft = job(ws / "models" / f"sft-{i}", "sft", inputs=[cur])
        dpo = job(ws / "models" / f"dpo-{i}", "dpo", parents=[sft])
        rep = job(ws / "runs" / f"eval-{i}", "eval", parents=[dpo])
        for kind, p in (("curate", cur), ("train-sft", sft), ("train-dpo", dpo), ("eval", rep)):
            reg.create(kind, {}, p, status="done")
        chains.append({"raw": raw, "cur": cur, "rep": rep})
    reg.close()
    return chains


def timed(args: list[str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"lineage failed: {r.stderr}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="Winnow folders in the workspace (4 per chain)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/winnow-lineage-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)
    ws = a.out / "ws"
    t0 = time.perf_counter()
    chains = build(ws, a.runs)
    print(f"built {len(chains) * 4} runs in {time.perf_counter() - t0:.1f}s")
    mid = chains[len(chains) // 2]
    base = timed(["--help"], a.rounds)
    up = timed(["lineage", str(mid["rep"]), "--workspace", str(ws)], a.rounds)
    down = timed(["lineage", str(mid["cur"]), "--down", "--workspace", str(ws)], a.rounds)
    from app.lineage import lineage

    def inproc(target: Path, down: bool) -> float:
        ts = []
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            lineage(target, ws, down=down)
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    up_in, down_in = inproc(mid["rep"], False), inproc(mid["cur"], True)
    (ws / "runs.sqlite").unlink()
    for extra in ("runs.sqlite-wal", "runs.sqlite-shm"):
        (ws / extra).unlink(missing_ok=True)
    up_noreg = timed(["lineage", str(mid["rep"]), "--workspace", str(ws)], a.rounds)
    down_noreg = timed(["lineage", str(mid["cur"]), "--down", "--workspace", str(ws)], a.rounds)
    print(f"workspace of {len(chains) * 4} runs, median of {a.rounds} fresh processes (start-up included):")
    print(f"  winnow --help (start-up alone)      {base:.3f}s")
    print(f"  lineage REPORT (up)                 {up:.3f}s   without registry {up_noreg:.3f}s")
    print(f"  lineage CURATED --down              {down:.3f}s   without registry {down_noreg:.3f}s")
    print(f"  in one process (no start-up): up {up_in:.3f}s, --down {down_in:.3f}s")
    worst = max(up, down, up_noreg, down_noreg)
    print(f"slowest / 1 s target: {worst / 1.0:.2f}")


if __name__ == "__main__":
    main()
