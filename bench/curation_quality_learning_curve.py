"""How much would more human labels help the quality model? A learning curve on the tuning sets (issue 11, round 7).

    python bench/curation_quality_learning_curve.py --data-dir ../shared/data

The shipped quality model's recipe is trained, in each of 5 stratified folds of the tuning documents (DCLM
majority minus agreement + C4 100; never the agreement file), on a stratified share of the fold's training
part, and scores the held-out fold (`quality_model.cross_validate_linear`, whose smaller shares are prefixes
of the larger ones, so the points differ only in how much was seen). Per share it prints the out-of-fold
ROC-AUC and the share of low documents the model alone removes at the cut that loses 10% (and 5%) of the
high ones, averaged over fold seeds; then a least-squares slope per doubling of the training documents, and
the training size that slope would need for a given gain. The cut is read from the same out-of-fold scores,
so every share is optimistic alike; the slope is what the script is for.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.classifiers import quality_model as qm  # noqa: E402

SHARES = (0.4, 0.55, 0.7, 0.85, 1.0)
HIGH_LOSS = (0.10, 0.05)


def low_removed(y: np.ndarray, prob: np.ndarray, high_loss: float) -> float:
    """Share of low documents scoring below the score that `high_loss` of the high documents fall under."""
    return float((prob[~y] < np.quantile(prob[y], high_loss)).mean())


def main() -> None:
    from sklearn.metrics import roc_auc_score

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    df, _ = qm.training_data(a.data_dir, qm.default_c4_labels())
    y = df.get_column("label").to_numpy().astype(bool)
    seeds = [int(s) for s in a.seeds.split(",")]
    rows = []
    for share in SHARES:
        runs = [qm.cross_validate_linear(df.select("text", "label"), seed=s, share=share) for s in seeds]
        row = {"share": share, "train_docs_per_fold": round(share * len(y) * (qm.FOLDS - 1) / qm.FOLDS),
               "roc_auc": float(np.mean([roc_auc_score(y, r) for r in runs]))}
        for h in HIGH_LOSS:
            per_seed = [low_removed(y, r, h) for r in runs]
            row[f"low_at_{h:.2f}_high"] = float(np.mean(per_seed))
            row[f"low_at_{h:.2f}_high_sd"] = float(np.std(per_seed))
        rows.append(row)
        print(f"share {share:.2f} ({row['train_docs_per_fold']} training documents per fold): ROC-AUC "
              f"{row['roc_auc']:.3f}; low removed at 10% high lost {row['low_at_0.10_high']:.3f} "
              f"(sd {row['low_at_0.10_high_sd']:.3f}), at 5% {row['low_at_0.05_high']:.3f}", flush=True)
    n = np.log2([r["train_docs_per_fold"] for r in rows])
    out = {"documents": df.height, "seeds": seeds, "rows": rows}
    for key in ("roc_auc", "low_at_0.10_high"):
        slope = float(np.polyfit(n, [r[key] for r in rows], 1)[0])
        out[f"{key}_per_doubling"] = slope
        print(f"{key}: {slope:+.3f} per doubling of the training documents", flush=True)
    slope = out["low_at_0.10_high_per_doubling"]
    for gain in (0.03, 0.056, 0.062):  # +3 points; to 80% exactly; the held-out gap, 96 -> 104 of 129
        need = 2 ** (gain / slope) if slope > 0 else float("inf")
        print(f"a gain of {gain:.3f} in low removed at that slope needs {need:.1f}x the training documents "
              f"(~{need * df.height:.0f} labelled documents)", flush=True)
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
