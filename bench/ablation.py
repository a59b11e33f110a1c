"""Did curation help? `winnow ablate` default recipe vs keep-everything, bits per byte on held-out clean text.

Three measurements, each through the real CLI in fresh processes (start-up inside the clock):

1. sample corpus (`winnow data sample`, with its planted duplicates, boilerplate, spam, gibberish): a tiny
   model trained on each arm (same token budget, seeds and steps); held-out text = the clean documents of
   another sample corpus (seed 1). Reports the bpb difference keep-everything - default with 95% intervals
   over held-out documents and over seeds.
2. real web text (`--data-dir ../shared/data`): the webtext JSONL files (DCLM-labelled pages, C4, Dolma CC,
   RedPajama CC) as the corpus; held-out = the first paragraphs of WikiText-2 test.
3. overhead: a 1-seed, 2-arm `winnow ablate` against the same work done by hand with the CLI (curate with
   the union of signals, mix twice, train twice, evaluate twice), run one after the other.

    .venv/bin/python bench/ablation.py --out /tmp/abl-bench --data-dir /work/shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WEBTEXT = ["dclm_quality_majority.jsonl", "dclm_quality_agreement.jsonl", "c4_demo.jsonl",
           "dolma_cc_en_head-0091.jsonl", "dolma_cc_en_head-0174.jsonl", "datajuicer_redpajama_cc.jsonl"]


# one math thread per process (as the demo): with two, torch's threads wait on each other on a busy machine
THREADS = {k: os.environ.get(k, "1") for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def winnow(*args: str, ws: Path | None) -> float:
    """Run one CLI command in a fresh process; return its wall time."""
    t0 = time.perf_counter()
    wsa = ["--workspace", str(ws)] if ws is not None else []
    r = subprocess.run([sys.executable, "-m", "app.cli", *args, *wsa], cwd=ROOT,
                       capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1",
                                                             "HF_DATASETS_OFFLINE": "1", **THREADS})
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"winnow {' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return dt


def train_yaml(path: Path, max_length: int) -> Path:
    path.write_text(f"max_length: {max_length}\nbatch_size: 8\nlearning_rate: 0.001\ndevice: cpu\n"
                    "logging_steps: 10\nsave_steps: 100000\n", encoding="utf-8")
    return path


def ablate(corpus: list[Path], model: Path, heldout_flag: list[str], out: Path, ws: Path, seeds: int, steps: int,
           train: Path) -> tuple[dict, float]:
    dt = winnow("ablate", *map(str, corpus), "--recipes", "default", "keep-everything", "--model", str(model),
                *heldout_flag, "--seeds", str(seeds), "--max-steps", str(steps), "--train-config", str(train),
                "--out", str(out), ws=ws)
    return json.loads((out / "ablation.json").read_text()), dt


def headline(rep: dict) -> dict:
    m = rep["metrics"]["bits_per_byte"]
    d = m["vs_first"]["keep-everything"]
    return {"bpb_default": m["mean"]["default"], "bpb_keep_everything": m["mean"]["keep-everything"],
            "per_seed": m["per_seed"], "diff_keep_minus_default": d["diff"], "ci_items": d["ci_items"],
            "ci_seeds_t": d.get("ci_seeds_t"), "ci_seeds_bootstrap": d.get("ci_seeds"), "n_items": m["n_items"],
            "budget_tokens": rep["budget_tokens"], "steps": rep["steps"],
            "arms": {a["name"]: {"kept_docs": a["kept_docs"], "kept_tokens": a["kept_tokens"]} for a in rep["arms"]}}


def show(name: str, h: dict) -> None:
    lo, hi = h["ci_items"]
    seeds = h["ci_seeds_t"]
    print(f"{name}: bpb default {h['bpb_default']:.4f}, keep-everything {h['bpb_keep_everything']:.4f}; "
          f"keep - default = {h['diff_keep_minus_default']:+.4f}, 95% CI over {h['n_items']} held-out docs "
          f"[{lo:+.4f}, {hi:+.4f}]" + (f", over seeds (t) [{seeds[0]:+.4f}, {seeds[1]:+.4f}]" if seeds else ""))
    verdict = ("curation helped" if lo > 0 and (not seeds or seeds[0] > 0) else
               "curation hurt" if hi < 0 and (not seeds or seeds[1] < 0) else "no clear difference")
    print(f"  -> {verdict} (positive = keep-everything worse); arms: {h['arms']}")
    h["verdict"] = verdict


def wikitext_heldout(src: Path, out: Path, max_chars: int) -> Path:
    """The first paragraphs of WikiText-2 test (up to max_chars), headings dropped, blank-line separated."""
    paras, total = [], 0
    for block in src.read_text(encoding="utf-8").split("\n \n"):
        t = block.strip()
        if not t or (t.startswith("=") and t.endswith("=")) or len(t) < 200:
            continue
        paras.append(t)
        total += len(t)
        if total >= max_chars:
            break
    out.write_text("\n\n".join(paras) + "\n", encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/winnow-ablation-bench"))
    ap.add_argument("--data-dir", type=Path, default=None, help="../shared/data (real web text + WikiText-2)")
    ap.add_argument("--docs", type=int, default=2000, help="sample corpus size")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=40, help="training steps per arm and seed")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--heldout-chars", type=int, default=60000, help="WikiText-2 test characters scored")
    ap.add_argument("--skip", nargs="*", default=[], choices=["sample", "real", "overhead"])
    a = ap.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)
    a.out.mkdir(parents=True)
    ws = a.out / "ws"
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.platform(),
                     "cpus": os.cpu_count(), "load_avg_start": os.getloadavg(), "args": {k: str(v) for k, v in
                                                                                           vars(a).items()}}
    train = train_yaml(a.out / "train.yaml", a.max_length)
    d = a.out / "sample"
    d.mkdir()
    corpus, held = d / "corpus.jsonl", d / "heldout.jsonl"
    winnow("data", "sample", "--docs", str(a.docs), "--seed", "0", "--out", str(corpus), ws=None)
    winnow("data", "sample", "--docs", "300", "--seed", "1", "--out", str(held), ws=None)
    base = d / "base"
    winnow("model", "tiny", "--corpus", str(corpus), "--out", str(base), "--hidden", "64", "--layers", "2",
           "--vocab-size", "1000", ws=None)

    if "sample" not in a.skip:
        rep, dt = ablate([corpus], base, ["--heldout-clean", str(held)], d / "ablation", ws, a.seeds, a.steps, train)
        results["sample"] = {**headline(rep), "wall_s": round(dt, 1)}
        show("sample corpus", results["sample"])

    if "real" not in a.skip and a.data_dir is not None:
        r = a.out / "real"
        r.mkdir()
        files = [a.data_dir / "webtext" / f for f in WEBTEXT if (a.data_dir / "webtext" / f).exists()]
        if not files:
            raise SystemExit(f"{a.data_dir}/webtext: none of {WEBTEXT} found (pass --data-dir ../shared/data)")
        wt = wikitext_heldout(a.data_dir / "webtext" / "wikitext2_test.txt", r / "wikitext2_test_head.txt",
                              a.heldout_chars)
        rbase = r / "base"
        winnow("model", "tiny", *[x for f in files for x in ("--corpus", str(f))], "--out", str(rbase),
               "--hidden", "64", "--layers", "2", "--vocab-size", "1000", ws=None)
        rep, dt = ablate(files, rbase, ["--heldout", str(wt)], r / "ablation", ws, a.seeds, a.steps, train)
        results["real"] = {**headline(rep), "wall_s": round(dt, 1), "corpus": [f.name for f in files],
                           "heldout": f"WikiText-2 test, first {a.heldout_chars} characters of paragraphs"}
        show("real web text", results["real"])

    if "overhead" not in a.skip:
        results["overhead"] = overhead(a, corpus, held, base, train)
    results["load_avg_end"] = os.getloadavg()
    (a.out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"results: {a.out / 'results.json'}")


def overhead(a: argparse.Namespace, corpus: Path, held: Path, base: Path, train: Path) -> dict:
    """A 1-seed, 2-arm ablation against its own commands run by hand (fresh workspace and folders each)."""
    from app.ablate import clean_heldout, load_recipes

    o = a.out / "overhead"
    o.mkdir()
    heldout = clean_heldout(held, o / "heldout.jsonl")
    recipes = load_recipes(["default", "keep-everything"])
    from app.ablate import union_recipe

    (o / "union.yaml").write_text(union_recipe(recipes, ["default", "keep-everything"]).to_yaml())
    (o / "keep.yaml").write_text(recipes[1].to_yaml())
    (o / "default.yaml").write_text(recipes[0].to_yaml())
    h, ws_h = o / "hand", o / "ws-hand"
    t0 = time.perf_counter()
    winnow("curate", str(corpus), "--recipe", str(o / "union.yaml"), "--out", str(h / "score"), ws=ws_h)
    for arm, rec in (("default", "default.yaml"), ("keep", "keep.yaml")):
        winnow("mix", str(h / "score"), "--recipe", str(o / rec), "--out", str(h / arm), ws=ws_h)
    for arm in ("default", "keep"):
        winnow("train", "sft", "--model", str(base), "--data", str(h / arm), "--config", str(train),
               "--max-steps", str(a.steps), "--seed", "42", "--out", str(h / f"model-{arm}"), ws=ws_h)
    for arm in ("default", "keep"):
        winnow("eval", "run", "--model", str(h / f"model-{arm}"), "--perplexity", str(heldout), "--no-cache",
               "--batch-size", "8", "--out", str(h / f"eval-{arm}"), ws=ws_h)
    by_hand = time.perf_counter() - t0
    _, ablate_wall = ablate([corpus], base, ["--heldout", str(heldout)], o / "ablation", o / "ws-ablate", 1, a.steps,
                            train)
    ratio = ablate_wall / by_hand
    print(f"overhead: winnow ablate {ablate_wall:.1f}s vs the same commands by hand {by_hand:.1f}s: "
          f"ratio {ratio:.3f} ({(ratio - 1) * 100:+.1f}%; target <= +5%)")
    return {"ablate_s": round(ablate_wall, 1), "by_hand_s": round(by_hand, 1), "ratio": round(ratio, 4)}


if __name__ == "__main__":
    main()
