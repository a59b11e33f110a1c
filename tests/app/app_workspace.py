"""A small workspace for the app tests: one real curation run, a training run and two evaluation reports."""

from __future__ import annotations

import json
from pathlib import Path

from app.registry import registered_run
from curation.pipeline import curate
from curation.recipe import parse_recipe

RECIPE = {
    "name": "app-test",
    "search_index": "always",  # the app reads through the index mix writes (by default only for 300k+ documents)
    "signals": {"length": {}, "exact_dedup": {"keep": "first"}},
    "rules": [
        {"name": "length.min_words", "signal": "length", "column": "n_words", "min": 5},
        {"name": "exact_duplicate", "signal": "exact_dedup", "column": "duplicate", "drop_if": True,
         "kept_id_column": "kept_id"},
        {"name": "near_duplicate", "signal": "minhash", "column": "duplicate", "drop_if": True,
         "value_column": "similarity", "kept_id_column": "kept_id"},
    ],
}
RECIPE["signals"]["minhash"] = {}

# a long document and a near-copy of it with one word changed: MinHash removes the copy
ESSAY = ("The old lighthouse keeper climbed the spiral stairs every evening at dusk to light the great lamp "
         "that warned the fishing fleet away from the rocks below the cliff, and every morning he wrote the "
         "weather, the wind and the ships he had seen into a leather logbook that now rests in the small "
         "museum beside the harbour where visitors read his careful handwriting and wonder about the long "
         "winter nights he spent alone with the sea and the gulls and the turning beam of light.")
NEAR = ESSAY.replace("leather logbook", "canvas logbook")

LONG = [
    "The harbour town woke early and the fishing boats left before the sun rose over the grey water.",
    "A careful gardener waters the tomatoes in the evening so the leaves stay dry through the night.",
    "Our reading group met on Tuesday to argue about the ending of the novel for almost two hours.",
    "The library extended its opening hours during exams and students filled every quiet corner.",
    "Fresh bread from the corner bakery sells out by nine, so the regulars queue in the cold.",
    "The mountain trail climbs steeply through pine forest before opening onto a wide meadow.",
]


N_ITEMS = 40
CHOICES = [" red", " green", " blue", " yellow"]


def write_report(out: Path, model: str, right: object) -> None:
    """A report folder as `winnow eval run` writes it (report.json + lm-eval per-sample JSONL) for N_ITEMS
    ARC-style items whose answer is choice i % 4; the model picks the answer where `right(i)`, else the next."""
    out.mkdir(parents=True)
    lines, n_right = [], 0
    for i in range(N_ITEMS):
        target = i % 4
        ok = bool(right(i))
        n_right += ok
        picked = target if ok else (target + 1) % 4
        ctx = f"Question: what colour is item {i}?\nAnswer:"
        lines.append(json.dumps({
            "doc_id": i, "target": target, "arguments": [[ctx, c] for c in CHOICES],
            "filtered_resps": [[-1.0 if k == picked else -5.0 - k, k == picked] for k in range(4)],
            "acc": 1.0 if ok else 0.0}))
    (out / "samples_arc_easy.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    acc = n_right / N_ITEMS
    (out / "report.json").write_text(json.dumps({
        "fingerprint": {"model": {"path": model}, "task_config": {"arc_easy": "abc"}, "num_fewshot": {"arc_easy": 0},
                        "data": {"arc_easy/test.jsonl": "d1"}, "limit": None, "synthetic_data": True},
        "scores": {"arc_easy": {"metric": "acc", "label": "acc", "value": acc,
                                "stderr": (acc * (1 - acc) / (N_ITEMS - 1)) ** 0.5, "n": N_ITEMS,
                                "tasks": ["arc_easy"]}},
        "files": {"samples": {"arc_easy": "samples_arc_easy.jsonl"}},
    }), encoding="utf-8")


def make_workspace(root: Path) -> dict:
    """Build the workspace under `root`; return paths and the expected counts."""
    ws = root / "ws"
    corpus = root / "corpus.jsonl"
    docs = [{"id": f"d{i}", "text": t} for i, t in enumerate(LONG)]
    docs.append({"id": "short1", "text": "too short"})
    docs.append({"id": "short2", "text": "buy now cheap"})
    docs.append({"id": "dup1", "text": LONG[2]})  # exact copy of d2
    docs.append({"id": "essay", "text": ESSAY})
    docs.append({"id": "near1", "text": NEAR})
    lines = [json.dumps(d) for d in docs]
    lines.insert(3, "{this line is not json")
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = root / "run"
    with registered_run(ws, "curate", {"inputs": [str(corpus)]}, run) as (reg, rid):
        m = curate([corpus], run, parse_recipe(RECIPE), workspace=ws)
        reg.set_metrics(rid, {"input": m["input"], "kept": m["kept"], "removed": m["removed"]})

    train = root / "train"
    train.mkdir()
    recs = [{"step": s, "loss": 3.0 - 0.2 * s, "learning_rate": 1e-4} for s in range(1, 6)]
    recs += [{"step": 3, "eval_loss": 2.7}, {"step": 5, "eval_loss": 2.5}]  # eval every 2nd log: gaps
    (train / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs) + '{"step": 6, "lo',
                                         encoding="utf-8")
    with registered_run(ws, "train-sft", {"out": str(train)}, train) as (reg, rid):
        reg.set_metrics(rid, {"final_loss": 2.0})

    reports = []
    for name, every in (("eval-a", 4), ("eval-b", 2)):  # A right on every 4th item, B on every 2nd
        out = root / name
        write_report(out, f"/models/{name}", lambda i, every=every: i % every == 0)
        with registered_run(ws, "eval", {"out": str(out)}, out) as (reg, rid):
            reg.set_metrics(rid, {"arc_easy/acc": 1.0 / every})
        reports.append(out)
    return {"ws": ws, "run": run, "train": train, "reports": reports, "manifest": m}
