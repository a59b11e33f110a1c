"""MinHash near-duplicates: agreement with datasketch, clusters on planted near-duplicates, keep rules,
incremental dedup against an earlier run, and the `similar` look-up."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import xxhash
from datasketch import MinHash, MinHashLSH
from typer.testing import CliRunner

from curation.dedup import lsh
from curation.dedup.signatures import permutations, shingles, signatures
from curation.dedup.similar import most_similar
from curation.errors import WinnowError
from curation.steps import get_step
from curation.steps.minhash import MinHashConfig, MinHashStep
from curation.text import dedup_words, ngram_jaccard

VOCAB_SEED = 7


def _vocab(rng: random.Random, n: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(n)]


def _mutate(words: list[str], rng: random.Random, vocab: list[str], edits: int) -> list[str]:
    out = list(words)
    for _ in range(edits):
        out[rng.randrange(len(out))] = rng.choice(vocab)
    return out


def make_corpus(n_base: int = 40, words: int = 150, seed: int = 0) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    """Base documents plus planted near-duplicates (1-2 word edits, case/punctuation changes) and
    moderately similar documents (many edits). Returns the frame and (copy, source) pairs planted."""
    rng = random.Random(seed)
    vocab = _vocab(random.Random(VOCAB_SEED))
    texts, ids, planted = [], [], []
    for b in range(n_base):
        w = [rng.choice(vocab) for _ in range(words)]
        texts.append(" ".join(w).capitalize() + ".")
        ids.append(f"base{b}")
        if b % 4 == 0:  # near duplicate: 2 substituted words, different case and punctuation
            dup = _mutate(w, rng, vocab, 2)
            texts.append(", ".join(dup).upper() + "!")
            ids.append(f"near{b}")
            planted.append((f"near{b}", f"base{b}"))
        if b % 4 == 1:  # only loosely similar: 25 edits
            texts.append(" ".join(_mutate(w, rng, vocab, 25)))
            ids.append(f"loose{b}")
    return pl.DataFrame({"id": ids, "text": texts, "order": list(range(len(ids)))},
                        schema={"id": pl.Utf8, "text": pl.Utf8, "order": pl.Int64}), planted


def _datasketch(text: str, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> MinHash:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=xxhash.xxh32_intdigest)
    m.update_batch([s.encode("utf-8") for s in shingles(text, ngram)])
    return m


TRICKY = [
    "Hello, World! This is a TEST of the near-duplicate   detector, really.",
    "",
    "two words",
    "Ünïcödé Straße café, ﬁne words — here and there again and again.",
    "x" * 40 + " " + "y" * 17 + " long words hash through xxh32's four-lane path " + "z" * 33,
    "snake_case_words and_digits 123 456\tare\nwords too",
]


def test_signatures_equal_datasketch(kernel_path: str) -> None:
    sig, counts = signatures(TRICKY, ngram=5, num_perm=128, seed=3, use_numba=kernel_path != "reference")
    for i, text in enumerate(TRICKY):
        ref = _datasketch(text, seed=3)
        assert np.array_equal(sig[i], ref.hashvalues), text
        assert (counts[i] > 0) == bool(shingles(text))


def test_every_prepass_separator_separates_words_in_the_unicode_path() -> None:
    from curation.dedup.signatures import SEPARATORS, kernel_ready_texts

    for c in SEPARATORS:
        text = f"Alpha{c}beta"
        assert dedup_words(text) == ["alpha", "beta"], repr(c)  # the reference definition
        full = pl.Series([text]).str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[^\w]+", " ")
        assert full.str.split(" ").to_list() == [["alpha", "beta"]], repr(c)  # the Polars path without prepass
    mixed = ["It\u2019s \u201cfine\u201d \u2014 caf\u00e9\u2026", "e\u2019\u0301x", "\ufb01ne\u00a0\u00bfs\u00ed?",
             "\u2122 mark", "plain ascii"]
    ready = kernel_ready_texts(pl.Series(mixed))
    assert [t.split() for t in ready.str.to_lowercase().to_list()] == [
        pl.Series([t]).str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[^\w]+", " ").item().split()
        for t in mixed]


def test_permutations_equal_datasketch() -> None:
    for seed in (1, 42):
        a, b = permutations(64, seed)
        ref = MinHash(num_perm=64, seed=seed).permutations
        assert np.array_equal(a, ref[0]) and np.array_equal(b, ref[1])


def test_other_ngram_size_agrees() -> None:
    sig, _ = signatures(TRICKY, ngram=3, num_perm=32)
    for i, text in enumerate(TRICKY):
        assert np.array_equal(sig[i], _datasketch(text, num_perm=32, ngram=3).hashvalues)


def test_candidate_pairs_equal_minhashlsh() -> None:
    df, _ = make_corpus(n_base=40)
    sig, _ = signatures(df["text"])
    ours = lsh.candidate_pairs(lsh.band_hashes(sig, 16, 8))
    index = MinHashLSH(threshold=0.8, num_perm=128, params=(16, 8))
    mhs = []
    for i, row in enumerate(sig):
        m = MinHash(num_perm=128, hashvalues=row, scheme="affine32")
        index.insert(i, m)
        mhs.append(m)
    theirs = set()
    for i, m in enumerate(mhs):
        for j in index.query(m):
            if j != i:
                theirs.add((min(i, j), max(i, j)))
    assert theirs, "the corpus must produce candidates"
    assert {tuple(p) for p in ours.tolist()} == theirs


def test_candidate_pairs_are_the_pairs_sharing_a_band_within_that_band() -> None:
    """Brute force: (i, j) is a candidate iff some band j holds the same hash for both rows. The hashes are
    drawn from a few values, so the same value also appears in other bands (it must not pair across them)."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        n, nb = int(rng.integers(0, 60)), int(rng.integers(1, 5))
        bands = rng.integers(0, int(rng.integers(1, 12)), (n, nb)).astype(np.uint64)
        want = {(i, j) for i in range(n) for j in range(i + 1, n) if (bands[i] == bands[j]).any()}
        got = lsh.candidate_pairs(bands, full_pairs_up_to=n + 1)
        assert {tuple(p) for p in got.tolist()} == want


def test_large_bucket_connects_all_copies() -> None:
    sig = np.random.default_rng(0).integers(0, 2**32, (200, 128), dtype=np.uint32)
    sig[100:200] = sig[0]  # 101 identical rows: more than full_pairs_up_to
    pairs = lsh.candidate_pairs(lsh.band_hashes(sig, 16, 8), full_pairs_up_to=8)
    labels = lsh.connected_components(len(sig), pairs)
    assert set(labels[[0, *range(100, 200)]]) == {0}
    assert len(set(labels[1:100])) == 99


@pytest.mark.parametrize("shape", ["random", "chain", "star"])
def test_connected_components_match_scipy(shape: str) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_cc

    rng = np.random.default_rng(7)
    n = 5000
    if shape == "random":
        pairs = rng.integers(0, n, (3000, 2))
    elif shape == "chain":  # a long path, visited in shuffled order: the worst case for hooking
        perm = rng.permutation(n)
        pairs = np.stack([perm[:-1], perm[1:]], axis=1)[rng.permutation(n - 1)]
    else:
        pairs = np.stack([np.full(n - 1, n - 1), np.arange(n - 1)], axis=1)
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = scipy_cc(g, directed=False)
    smallest = {c: i for i, c in reversed(list(enumerate(comp.tolist())))}  # each component's smallest member
    expected = np.array([smallest[c] for c in comp.tolist()])
    assert np.array_equal(lsh.connected_components(n, pairs), expected)


def _run_step(df: pl.DataFrame, tmp: Path, cfg: MinHashConfig | None = None, context: dict | None = None,
              batch: int = 25) -> pl.DataFrame:
    step = MinHashStep(cfg, context={"run_dir": str(tmp), **(context or {})})
    parts_dir = tmp / "signals" / "minhash.parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for k, start in enumerate(range(0, len(df), batch)):
        part = step.score(df.slice(start, batch))
        assert part["id"].to_list() == df["id"].slice(start, batch).to_list()
        assert part.schema["signature"] == pl.Array(pl.UInt32, step.config.num_perm)
        assert part.schema["bands"] == pl.Array(pl.UInt64, step.config.bands)
        p = parts_dir / f"0_{k:05d}.parquet"
        part.write_parquet(p)
        parts.append(p)
    step.finalize(parts, tmp / "signals" / "minhash")
    return pl.read_parquet(tmp / "signals" / "minhash" / "*.parquet")


def test_clusters_on_planted_near_duplicates(tmp_path: Path) -> None:
    df, planted = make_corpus()
    out = _run_step(df, tmp_path)
    assert out["id"].to_list() == df["id"].to_list()
    rows = {r["id"]: r for r in out.iter_rows(named=True)}
    for copy, src in planted:
        assert ngram_jaccard(df.filter(pl.col("id") == copy)["text"][0],
                             df.filter(pl.col("id") == src)["text"][0]) >= 0.8
        assert rows[copy]["duplicate"] and rows[copy]["kept_id"] == src
        assert rows[copy]["cluster_id"] == src and rows[src]["cluster_id"] == src
        assert rows[src]["kept_id"] is None and not rows[src]["duplicate"]
        assert rows[copy]["cluster_size"] == 2 and 0.7 < rows[copy]["similarity"] <= 1.0
    dups = set(out.filter("duplicate")["id"])
    assert dups == {c for c, _ in planted}  # loose copies (~0.3 Jaccard) and unrelated docs stay apart
    assert out.schema["similarity"] == pl.Float64


def test_keep_longest(tmp_path: Path) -> None:
    base = " ".join(f"w{i}" for i in range(200))
    df = pl.DataFrame({"id": ["a", "b", "c"], "text": [base, base + " extra tail words", "other " * 3],
                       "order": [0, 1, 2]})
    first = _run_step(df, tmp_path / "first")
    longest = _run_step(df, tmp_path / "longest", MinHashConfig(keep="longest"))
    assert first.filter(pl.col("id") == "b")["kept_id"][0] == "a"
    assert longest.filter(pl.col("id") == "a")["kept_id"][0] == "b"
    assert longest.filter(pl.col("id") == "b")["duplicate"][0] is False


def test_verify_rejects_band_collisions_below_threshold(tmp_path: Path) -> None:
    df, _ = make_corpus(n_base=8)
    strict = _run_step(df, tmp_path / "s", MinHashConfig(threshold=1.0))
    loose = _run_step(df, tmp_path / "l", MinHashConfig(verify=False))
    assert strict["duplicate"].sum() == 0
    assert loose["duplicate"].sum() >= 2


def test_against_earlier_run(tmp_path: Path) -> None:
    df, planted = make_corpus(n_base=12)
    old_ids = {src for _, src in planted}
    old = df.filter(pl.col("id").is_in(old_ids))
    new = df.filter(~pl.col("id").is_in(old_ids)).with_columns(pl.int_range(pl.len()).alias("order"))
    _run_step(old, tmp_path / "old")
    out = _run_step(new, tmp_path / "new", context={"against": [str(tmp_path / "old")]})
    assert set(out["id"]) == set(new["id"])  # old documents get no rows
    rows = {r["id"]: r for r in out.iter_rows(named=True)}
    for copy, src in planted:  # the kept copy is named with its run, so it never reads as one of ours
        assert rows[copy]["duplicate"] and rows[copy]["kept_id"] == f"old:{src}"
        assert rows[copy]["kept_run"] == "old"
    assert out["duplicate"].sum() == len(planted)
    assert out.filter(~pl.col("duplicate"))["kept_run"].null_count() == out.height - len(planted)
    params = json.loads((tmp_path / "new" / "signals" / "minhash" / "params.json").read_text())
    assert params["against"] == [str(tmp_path / "old")]
    with pytest.raises(WinnowError, match="differ"):
        _run_step(new, tmp_path / "new2", MinHashConfig(seed=9), context={"against": [str(tmp_path / "old")]})
    with pytest.raises(WinnowError, match="no stored MinHash"):
        _run_step(new, tmp_path / "new3", context={"against": [str(tmp_path / "missing")]})


def test_empty_texts_are_never_near_duplicates(tmp_path: Path) -> None:
    df = pl.DataFrame({"id": ["a", "b", "c"], "text": ["", "!!! ...", None], "order": [0, 1, 2]},
                      schema={"id": pl.Utf8, "text": pl.Utf8, "order": pl.Int64})
    out = _run_step(df, tmp_path)
    assert out["duplicate"].to_list() == [False, False, False]
    assert out["n_shingles"].to_list() == [0, 0, 0]


def test_config_validation_and_registry() -> None:
    assert get_step("minhash") is MinHashStep
    with pytest.raises(ValueError, match="exceeds num_perm"):
        MinHashConfig(bands=20, rows=8)
    with pytest.raises(ValueError):
        MinHashConfig(typo=1)


def test_recipe_fragment_parses() -> None:
    import yaml

    from curation.recipe import parse_recipe

    frag = Path(__file__).resolve().parents[2] / "curation" / "recipes" / "dedup.yaml"
    recipe = parse_recipe(yaml.safe_load(frag.read_text()), str(frag))
    assert {"exact_dedup", "minhash"} <= set(recipe.signals)
    assert recipe.step_config("minhash").bands == 16


def test_similar_lookup_and_cli(tmp_path: Path) -> None:
    df, planted = make_corpus(n_base=20)
    _run_step(df, tmp_path)
    (tmp_path / "docs").mkdir()
    df.select("id", "text").write_parquet(tmp_path / "docs" / "part-0.parquet")
    copy, src = planted[0]
    me, docs = most_similar(tmp_path, src, top=3)
    assert docs[0].id == copy and docs[0].jaccard > 0.7
    assert docs[0].snippet and me.snippet and me.snippet.lower().startswith(df["text"][0][:10].lower())
    assert all(d.id != src for d in docs)
    assert [d.jaccard for d in docs] == sorted((d.jaccard for d in docs), reverse=True)
    with pytest.raises(WinnowError, match="no document with id"):
        most_similar(tmp_path, "nope")

    from app.cli import root

    res = CliRunner().invoke(root, ["similar", str(tmp_path), src, "--top", "2"])
    assert res.exit_code == 0, res.output
    assert copy in res.output.splitlines()[2]


def test_big_buckets_connect_what_sharing_a_band_connects() -> None:
    """With buckets over `full_pairs_up_to`, the pairs are fewer but the clusters must be those of every pair
    sharing a band (brute force), across several bands and their boundaries."""
    rng = np.random.default_rng(5)
    for _ in range(40):
        n, nb = int(rng.integers(2, 80)), int(rng.integers(1, 10))
        bands = rng.integers(0, int(rng.integers(1, 6)), (n, nb)).astype(np.uint64)
        want = np.array([(i, j) for i in range(n) for j in range(i + 1, n) if (bands[i] == bands[j]).any()],
                        dtype=np.int64).reshape(-1, 2)
        got = lsh.candidate_pairs(bands, full_pairs_up_to=3)
        assert set(map(tuple, got.tolist())) <= set(map(tuple, want.tolist()))
        assert np.array_equal(lsh.connected_components(n, got), lsh.connected_components(n, want))
