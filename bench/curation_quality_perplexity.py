"""Would a CCNet-style perplexity signal help the default recipe? Tuning sets only (issue 11, round 6, not kept).

    python bench/curation_quality_perplexity.py --data-dir ../shared/data

A word bigram language model (interpolated Kneser-Ney, discount 0.75) is trained on the Wikipedia text in
`webtext/` (WikiText-2 test + valid, wiki_demo.txt); a document's score is its mean negative log-likelihood
per word, put on the scale of the unlabelled reference documents, as the quality cut is. On the tuning sets
(DCLM majority minus agreement + C4 100, `curation_quality._tuning_frame`; never the agreement file) it prints,
per fold seed, the share of low documents the default rules plus a score cut remove at matched losses of high
documents, for the quality model's out-of-fold reference rank alone (a = 1) and mixed with the perplexity rank.
Both sides get their best cut chosen on the same documents, so both are optimistic alike.
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import curation_quality as cq  # noqa: E402

from curation.classifiers import quality_model as qm  # noqa: E402

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")
HIGH_LOSS = (0.08, 0.10, 0.12, 0.15)
MIX = (1.0, 0.8, 0.7, 0.6, 0.5)


class BigramLM:
    """Interpolated Kneser-Ney word bigrams; unseen words get the smoothed continuation probability."""

    def __init__(self, text: str, discount: float = 0.75) -> None:
        words = _WORD.findall(text.lower())
        self.d = discount
        self.uni = collections.Counter(words)
        self.bi = collections.Counter(zip(words, words[1:], strict=False))
        self.follow = collections.Counter(a for a, _ in self.bi)
        self.cont = collections.Counter(b for _, b in self.bi)
        self.vocab = len(self.uni) + 1

    def nll(self, text: str) -> float:
        """Mean negative log-likelihood per word (NaN under two words)."""
        w = _WORD.findall(text.lower())
        if len(w) < 2:
            return float("nan")
        total, nbi = 0.0, len(self.bi)
        for a, b in zip(w, w[1:], strict=False):
            pc = (self.cont.get(b, 0) + 0.5) / (nbi + 0.5 * self.vocab)
            ca = self.uni.get(a, 0)
            p = (max(self.bi.get((a, b), 0) - self.d, 0) / ca + self.d * self.follow[a] / ca * pc) if ca else pc
            total -= math.log(p)
        return total / (len(w) - 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--seeds", default="0,1,2")
    a = ap.parse_args()
    web = a.data_dir / "webtext"
    wiki = "".join((web / f).read_text(encoding="utf-8") for f in
                   ("wikitext2_test.txt", "wikitext2_valid.txt", "wiki_demo.txt"))
    lm = BigramLM(wiki.replace("@-@", "-").replace("<unk>", " "))
    with tempfile.TemporaryDirectory(prefix="winnow-ppl-") as tmp:
        df, _ = cq._tuning_frame(a.data_dir, Path(tmp))
    y = df.get_column("label").to_numpy()
    heur = np.zeros(df.height, dtype=bool)  # the default recipe's rules, the quality cut aside
    for r in yaml.safe_load((ROOT / "curation" / "default_recipe.yaml").read_text())["rules"]:
        col = f"{r['signal']}.{r['column']}"
        if r["name"] != "quality_classifier" and col in df.columns:
            heur |= cq._fails(df.get_column(col), r)
    ref = qm.reference_texts(a.data_dir, qm.default_c4_labels())
    ref_nll = np.sort([lm.nll(t) for t in ref.to_list()])
    nll = np.array([lm.nll(t) for t in df.get_column("text").to_list()])
    ppl_rank = 1 - np.searchsorted(ref_nll, np.nan_to_num(nll, nan=0.0), side="right") / len(ref_nll)  # low: bad
    print(f"LM: {sum(lm.uni.values())} words of Wikipedia text; {df.height} tuning documents ({int((~y).sum())} low)")
    print("\n| fold seed | a (quality share) | " + " | ".join(f"low removed, high <= {h:.0%}" for h in HIGH_LOSS)
          + " |\n|---|---|" + "---|" * len(HIGH_LOSS))
    frame = df.select("text", pl.col("label").cast(pl.Int64))
    for seed in (int(s) for s in a.seeds.split(",")):
        rank = qm.cross_validate_linear(frame, seed=seed, reference=ref)
        for mix in MIX:
            score = mix * rank + (1 - mix) * ppl_rank
            removed = [heur | (score < c) for c in np.linspace(0, 1, 401)]
            best = [max((float(rm[~y].mean()) for rm in removed if rm[y].mean() <= h), default=float("nan"))
                    for h in HIGH_LOSS]
            print(f"| {seed} | {mix} | " + " | ".join(f"{b:.3f}" for b in best) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
