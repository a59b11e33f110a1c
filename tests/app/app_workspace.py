"""A small workspace for the app tests: one real curation run, a training run and two evaluation reports."""

from __future__ import annotations

import json
from pathlib import Path

from app.registry import registered_run
from curation.pipeline import curate
from curation.recipe import parse_recipe

RECIPE = {
    "name": "app-test",
    "signals": {"length": {}, "exact_dedup": {"keep": "first"}},
    "rules": [
        {"name": "length.min_words", "signal": "length", "column": "n_words", "min": 5},
        {"name": "exact_duplicate", "signal": "exact_dedup", "column": "duplicate", "drop_if": True,
         "kept_id_column": "kept_id"},
    ],
}

LONG = [
    "The harbour town woke early and the fishing boats left before the sun rose over the grey water.",
    "A careful gardener waters the tomatoes in the evening so the leaves stay dry through the night.",
    "Our reading group met on Tuesday to argue about the ending of the novel for almost two hours.",
    "The library extended its opening hours during exams and students filled every quiet corner.",
    "Fresh bread from the corner bakery sells out by nine, so the regulars queue in the cold.",
    "The mountain trail climbs steeply through pine forest before opening onto a wide meadow.",
]


def make_workspace(root: Path) -> dict:
    """Build the workspace under `root`; return paths and the expected counts."""
    ws = root / "ws"
    corpus = root / "corpus.jsonl"
    docs = [{"id": f"d{i}", "text": t} for i, t in enumerate(LONG)]
    docs.append({"id": "short1", "text": "too short"})
    docs.append({"id": "short2", "text": "buy now cheap"})
    docs.append({"id": "dup1", "text": LONG[2]})  # exact copy of d2
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
    recs.append({"step": 5, "eval_loss": 2.5})
    (train / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs) + '{"step": 6, "lo',
                                         encoding="utf-8")
    with registered_run(ws, "train-sft", {"out": str(train)}, train) as (reg, rid):
        reg.set_metrics(rid, {"final_loss": 2.0})

    reports = []
    for name, acc in (("eval-a", 0.25), ("eval-b", 0.5)):
        out = root / name
        out.mkdir()
        (out / "report.json").write_text(json.dumps({
            "fingerprint": {"model": {"path": f"/models/{name}"}},
            "scores": {"arc_easy": {"metric": "acc", "label": "acc", "value": acc, "stderr": 0.05, "n": 40}},
        }), encoding="utf-8")
        with registered_run(ws, "eval", {"out": str(out)}, out) as (reg, rid):
            reg.set_metrics(rid, {"arc_easy/acc": acc})
        reports.append(out)
    return {"ws": ws, "run": run, "train": train, "reports": reports, "manifest": m}
