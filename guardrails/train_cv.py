"""How the injection recipe (`train.PARAMS["injection"]`) is chosen: 5-fold cross-validation on its training rows.

    python -m guardrails.train_cv --data-dir ../shared/data [--variants base,gloss,...] [--seeds 0]

Only training files are read (`train.load_sources`: deepset's train split, self-instruct, HH-RLHF first turns);
deepset's test split, MT-Bench and Vicuna never are, so choosing by these numbers leaves them a fair test.
deepset's train split repeats templates (the same attack in several wordings and languages), so its rows are
grouped by near-duplicates (word-trigram Jaccard >= 0.3, linked transitively) and a group stays in one fold:
closer to meeting a new test set than a row split. The benign prompts of the other sources go to random folds.
Each fold trains the recipe the way `train.py` does (glued copies, in-domain weights) and scores its held-out
rows with the classifier OR the injection scanner's rules OR a role-play opener where the classifier gives at
least the scanner's `role_play_gate` (as the scanner decides); reported per decision
threshold (on the model's folded probability, so 0.5 is the recipe's own threshold): F1, precision and recall
on the deepset folds, and false positives among the ~2,600 held-out benign prompts of the other sources.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.classifiers.metrics import binary_metrics
from guardrails.train import AUGMENT, IN_DOMAIN, PARAMS, augment_embedded, fit_ngram, load_sources

K = 5
THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
# name -> changes to PARAMS["injection"]; the shipped recipe is "chosen"
VARIANTS: dict[str, dict[str, Any]] = {
    "chosen": {},
    "before (neither)": {"gloss": False, "in_domain_weight": 1.0},
    "no gloss": {"gloss": False},
    "unweighted": {"in_domain_weight": 1.0},
    "in-domain weight 5": {"in_domain_weight": 5.0},
    "C=64": {"C": 64.0},
    "no role-play openers": {"role_play_gate": 1.1},
    "role-play openers at P >= 0.1": {"role_play_gate": 0.1},
}


def near_duplicate_groups(texts: list[str], jaccard: float = 0.3) -> np.ndarray:
    """A group id per text: texts whose word-trigram sets overlap by `jaccard` or more are linked (union-find)."""
    from curation.text import word_ngrams

    grams = [word_ngrams(t.lower().split(), 3) for t in texts]  # an empty text has none: it links to nothing
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i):
            a, b = grams[i], grams[j]
            if a and b and len(a & b) >= jaccard * len(a | b):
                parent[root(i)] = root(j)
    return np.array([root(i) for i in range(len(texts))])


def folds(groups: np.ndarray, n_other: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fold of each in-domain row (whole groups, largest first onto the lightest fold) and of each other row."""
    rng = np.random.default_rng(seed)
    ids, sizes = np.unique(groups, return_counts=True)
    order = rng.permutation(len(ids))
    order = order[np.argsort(-sizes[order], kind="stable")]
    load, fold_of = np.zeros(K), {}
    for i in order:
        k = int(load.argmin())
        fold_of[ids[i]] = k
        load[k] += sizes[i]
    return np.array([fold_of[g] for g in groups]), rng.integers(0, K, n_other)


def _rule_hits(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(a rule matches, a role-play opener occurs) per text, read as the scanner reads them."""
    from guardrails.normalize import canonical
    from guardrails.scanners.injection import ROLE_PLAY, Injection

    class _Rules:  # the scanner's rule matcher without loading its model
        def expired(self) -> bool:
            return False

    rules = np.array([Injection.match_rules(_Rules(), t) is not None for t in texts])  # type: ignore[arg-type]
    return rules, np.array([ROLE_PLAY.search(canonical(t)) is not None for t in texts])


def cross_validate(data_dir: Path, changes: dict[str, Any], seed: int = 0) -> dict[float, dict[str, float]]:
    """Per threshold: F1, precision, recall on the in-domain folds, and false positives on the other folds."""
    df, _ = load_sources("injection", data_dir)
    inside = df.filter(pl.col("source") == IN_DOMAIN["injection"])
    other = df.filter(pl.col("source") != IN_DOMAIN["injection"])
    from guardrails.scanners.injection import InjectionConfig

    changes = dict(changes)
    gate = changes.pop("role_play_gate", InjectionConfig.model_fields["role_play_gate"].default)
    params = replace(PARAMS["injection"], **changes)
    fd, fo = folds(near_duplicate_groups(inside.get_column("text").to_list()), other.height, seed)
    p_in, p_other = np.zeros(inside.height), np.zeros(other.height)
    for k in range(K):
        train = pl.concat([inside.filter(pl.Series(fd != k)), other.filter(pl.Series(fo != k))])
        in_domain = set(train.filter(pl.col("source") == IN_DOMAIN["injection"]).get_column("text").to_list())
        clf = fit_ngram(augment_embedded(train.select("text", "label"), AUGMENT["injection"], seed), params,
                        in_domain)
        p_in[fd == k] = clf.predict_proba(inside.filter(pl.Series(fd == k)).get_column("text").to_list())
        p_other[fo == k] = clf.predict_proba(other.filter(pl.Series(fo == k)).get_column("text").to_list())
    y = inside.get_column("label").to_numpy()
    (r_in, rp_in), (r_other, rp_other) = (_rule_hits(inside.get_column("text").to_list()),
                                          _rule_hits(other.get_column("text").to_list()))
    r_in, r_other = r_in | (rp_in & (p_in >= gate)), r_other | (rp_other & (p_other >= gate))
    out = {}
    for th in THRESHOLDS:
        m = binary_metrics(y, ((p_in >= th) | r_in).astype(float))
        out[th] = {"f1": m["f1"], "precision": m["precision"], "recall": m["recall"],
                   "benign_fp": int(((p_other >= th) | r_other).sum()), "benign_n": other.height}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    ap.add_argument("--seeds", default="0", help="comma-separated fold seeds")
    a = ap.parse_args()
    print("| variant | fold seed | threshold | F1 | precision | recall | benign FP |\n|---|---|---|---|---|---|---|")
    for name in a.variants.split(","):
        for seed in (int(s) for s in a.seeds.split(",")):
            for th, m in cross_validate(a.data_dir, VARIANTS[name], seed).items():
                print(f"| {name} | {seed} | {th} | {m['f1']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | "
                      f"{m['benign_fp']} / {m['benign_n']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
