"""The linear quality model (TF-IDF logistic regression over hashed n-grams) and the step reading it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curation.classifiers.line_shapes import with_line_shapes
from curation.classifiers.quality_linear import LinearQualityModel
from curation.errors import WinnowError
from curation.steps import get_step

PROSE = ("the council met on tuesday to discuss the new library and residents said the building was too small "
         "so the mayor agreed that the plans should change before the vote next month").split()
NAV = ("home products cart login sign up privacy terms sitemap follow us on facebook all rights reserved "
       "cookie settings newsletter").split()


def _doc(rng: random.Random, good: bool) -> str:
    if good:
        return "\n".join(" ".join(rng.choice(PROSE) for _ in range(14)) + "." for _ in range(5))
    return "\n".join(" ".join(rng.choice(NAV) for _ in range(rng.randint(1, 3))) for _ in range(12))


def _data(n: int, seed: int) -> tuple[pl.Series, np.ndarray]:
    rng = random.Random(seed)
    y = np.array([i % 2 == 1 for i in range(n)])
    return pl.Series("text", [_doc(rng, bool(g)) for g in y]), y


def test_matches_scikit_learns_tfidf_logistic_regression() -> None:
    """The model's own TF-IDF (sublinear tf, smoothed idf over n-grams in >= 2 documents, L2 rows) and
    logistic regression give what scikit-learn's `TfidfTransformer` + `LogisticRegression` give on the same
    hashed counts (the shipped file stores only hash slots, IDF and weights: this checks nothing is lost)."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    from curation.classifiers.quality_linear import N_FEATURES, _counts, _weighted

    train, y = _data(80, 0)
    test, _ = _data(30, 1)
    model = LinearQualityModel.fit(train, y)
    hv = HashingVectorizer(n_features=N_FEATURES, alternate_sign=False, norm=None, token_pattern=r"\S+",
                           ngram_range=(1, 2))
    xtr = hv.transform(with_line_shapes(train).to_list()).tocsc()
    keep = np.flatnonzero(np.diff(xtr.indptr) >= 2)  # columns (slots) seen in >= 2 training documents
    tfidf = TfidfTransformer(sublinear_tf=True).fit(xtr[:, keep])
    lr = LogisticRegression(C=4.0, max_iter=3000).fit(tfidf.transform(xtr[:, keep]), y)
    xte = tfidf.transform(hv.transform(with_line_shapes(test).to_list())[:, keep])
    np.testing.assert_array_equal(model.slots, keep)
    slot_idf = np.zeros(N_FEATURES)
    slot_idf[model.slots] = model.idf
    np.testing.assert_allclose(_weighted(_counts(test), slot_idf)[:, keep].toarray(), xte.toarray(), atol=1e-6)
    np.testing.assert_allclose(model.predict_proba(test), lr.predict_proba(xte)[:, 1], atol=1e-6)


def test_separates_prose_from_navigation_and_round_trips(tmp_path: Path) -> None:
    train, y = _data(60, 2)
    test, ty = _data(40, 3)
    model = LinearQualityModel.fit(train, y)
    p = model.predict_proba(test)
    assert p[ty].min() > p[~ty].max()
    path = tmp_path / "q.npz"
    model.save(path)
    assert path.stat().st_size < 100_000
    np.testing.assert_array_equal(LinearQualityModel.load(path).predict_proba(test), p)
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(WinnowError, match="not a linear quality model"):
        LinearQualityModel.load(tmp_path / "bad.npz")


def test_quality_step_reads_an_npz_model(tmp_path: Path) -> None:
    train, y = _data(60, 4)
    model = LinearQualityModel.fit(train, y)
    path = tmp_path / "quality.npz"
    model.save(path)
    cls = get_step("quality_classifier")
    step = cls(cls.Config(model=str(path)))
    test, _ = _data(6, 5)
    got = step.score(pl.DataFrame({"id": [str(i) for i in range(6)], "text": test, "order": list(range(6))}))
    np.testing.assert_allclose(got.get_column("quality_prob").to_numpy(), model.predict_proba(test))


def test_reference_cut_removes_the_asked_share_of_reference_documents() -> None:
    """The recipe's cut is a share of reference documents: a rule `min: cut` removes that share of them."""
    from curation.classifiers.quality_model import reference_cut, reference_rank

    train, y = _data(60, 6)
    model = LinearQualityModel.fit(train, y)
    rng = random.Random(7)
    reference = pl.Series("text", [_doc(rng, rng.random() < 0.7) + " " + " ".join(rng.choice(PROSE + NAV)
                                                                                  for _ in range(rng.randint(0, 30)))
                                   for _ in range(200)])
    scores = model.predict_proba(reference)
    for share in (0.1, 0.2, 0.35):
        cut = reference_cut(scores, share)
        removed = float((scores < cut).mean())
        assert abs(removed - share) <= 0.02, (share, cut, removed)  # rounding the cut to 0.001 moves a few
        # the rank scale CV chooses the share on: documents ranked below the share are the ones the cut removes
        assert abs(float((reference_rank(scores, scores) <= share).mean()) - share) <= 0.02
    with pytest.raises(WinnowError, match="quantile"):
        reference_cut(scores, 1.0)


def test_out_of_fold_reference_ranks_keep_each_folds_order() -> None:
    """`cross_validate_linear(reference=...)` maps each fold's P(high) to its share of reference documents:
    a monotone map, so within a fold the order of documents is the order of their probabilities."""
    from curation.classifiers.quality_model import cross_validate_linear, stratified_folds

    texts, y = _data(50, 8)
    df = pl.DataFrame({"text": texts, "label": y})
    reference = _data(40, 9)[0]
    prob = cross_validate_linear(df, seed=1)
    rank = cross_validate_linear(df, seed=1, reference=reference)
    assert ((rank >= 0) & (rank <= 1)).all() and len(set(np.round(rank, 6))) > 2
    fold = stratified_folds(y, 5, 1)
    for i in range(5):
        p, r = prob[fold == i], rank[fold == i]
        order = np.argsort(p, kind="stable")
        assert (np.diff(r[order]) >= 0).all()


def test_default_recipe_cuts_where_the_model_card_says() -> None:
    """The default recipe's quality rule uses the cut the shipped model's card records (a rebuilt model
    comes with a new cut; the recipe must follow it)."""
    import json

    import yaml

    root = Path(__file__).resolve().parents[2]
    card = json.loads((root / "curation" / "models" / "quality.json").read_text())
    fragment = yaml.safe_load((root / "curation" / "recipes" / "models.yaml").read_text())
    default = yaml.safe_load((root / "curation" / "default_recipe.yaml").read_text())
    for recipe in (fragment, default):
        rule = next(r for r in recipe["rules"] if r["name"] == "quality_classifier")
        assert rule["min"] == card["cut"]["quality_prob_min"]
    from curation.classifiers.quality_model import CUT_QUANTILE

    assert card["cut"]["quantile"] == CUT_QUANTILE
