"""The built-in sample data: deterministic bytes, consistent labels, planted proportions, valid schemas."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

import orjson
import polars as pl
import pytest

from curation.errors import WinnowError
from curation.samples.bench import QUOTE_POOL, bench_items, write_bench
from curation.samples.chat import dpo_records, sft_records, write_dpo, write_sft
from curation.samples.corpus import (
    KINDS,
    NEAR_TARGETS,
    PROPORTIONS,
    iter_chunks,
    kind_counts,
    labels_path,
    luhn_valid,
    write_sample_corpus,
)
from curation.text import ngram_jaccard


def _read_docs(path: Path) -> list[dict]:
    if path.name.endswith(".parquet"):
        return pl.read_parquet(path).to_dicts()
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return [orjson.loads(x) for x in raw.splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], pl.DataFrame]:
    out = tmp_path_factory.mktemp("corpus") / "c.jsonl"
    lpath = write_sample_corpus(out, 2000, seed=7)
    return _read_docs(out), pl.read_parquet(lpath)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".parquet"])
def test_same_seed_same_bytes(tmp_path: Path, suffix: str) -> None:
    a, b, c = tmp_path / f"a{suffix}", tmp_path / "b" / f"a{suffix}", tmp_path / f"c{suffix}"
    la, lb = write_sample_corpus(a, 300, seed=3), write_sample_corpus(b, 300, seed=3)
    assert la == tmp_path / "a.labels.parquet"
    assert a.read_bytes() == b.read_bytes()
    assert la.read_bytes() == lb.read_bytes()
    write_sample_corpus(c, 300, seed=4)
    assert c.read_bytes() != a.read_bytes()
    docs = _read_docs(a)
    assert len(docs) == 300 and docs[0]["id"] == "s3-00000000"


def test_documents_carry_no_kind_and_look_like_web_text(corpus: tuple[list[dict], pl.DataFrame]) -> None:
    docs, labels = corpus
    assert set(docs[0]) == {"id", "text", "source", "metadata"}
    assert set(docs[0]["metadata"]) == {"url", "genre", "topic", "date"}
    assert all("kind" not in d["metadata"] for d in docs)
    kind = dict(zip(labels["id"], labels["kind"], strict=True))
    clean = [d["text"] for d in docs if kind[d["id"]] == "clean"]
    mean_len = sum(map(len, clean)) / len(clean)
    assert 1500 < mean_len < 3000, mean_len
    # clean documents are about distinct things: no two share a text
    assert len(set(clean)) == len(clean)


def test_labels_are_consistent(corpus: tuple[list[dict], pl.DataFrame]) -> None:
    docs, labels = corpus
    assert labels["id"].to_list() == [d["id"] for d in docs]
    assert labels.schema["jaccard"] == pl.Float64
    assert set(labels["kind"].unique()) <= set(KINDS)
    pos = {d["id"]: i for i, d in enumerate(docs)}
    text = {d["id"]: d["text"] for d in docs}
    kind = dict(zip(labels["id"], labels["kind"], strict=True))
    bench = {it["id"]: it for it in bench_items("test", QUOTE_POOL, seed=7)}
    near_checked = 0
    for row in labels.iter_rows(named=True):
        k, src, j = row["kind"], row["source_id"], row["jaccard"]
        if k in ("exact_dup", "near_dup"):
            assert src in pos and pos[src] < pos[row["id"]], "copies come after their source"
            assert kind[src] == "clean"
            assert 0.0 <= j <= 1.0
            if k == "exact_dup":
                assert text[row["id"]] == text[src] and j == 1.0
            elif near_checked < 25:
                assert j == pytest.approx(ngram_jaccard(text[src], text[row["id"]]), abs=1e-12)
                near_checked += 1
        elif k == "bench_copy":
            assert src in bench
            assert bench[src]["question"] in text[row["id"]]
            assert j is None
        else:
            assert src is None and j is None
        if k == "pii":
            assert row["pii_types"][0] == "PERSON" and len(row["pii_types"]) >= 2
            for t, v in zip(row["pii_types"], row["pii_values"], strict=True):
                assert v in text[row["id"]]
                if t == "CREDIT_CARD":
                    assert luhn_valid(v)
                if t == "EMAIL_ADDRESS":
                    assert re.fullmatch(r"[\w.]+@[\w.]+\.\w+", v)
        else:
            assert row["pii_types"] == []
    assert near_checked == 25


def test_proportions_and_near_dup_levels(corpus: tuple[list[dict], pl.DataFrame]) -> None:
    _, labels = corpus
    counts = Counter(labels["kind"])
    assert sum(counts.values()) == 2000
    expected = kind_counts(2000)
    assert sum(expected.values()) == 2000
    for k, p in PROPORTIONS.items():
        assert abs(counts[k] - expected[k]) <= 2, (k, counts[k], expected[k])
        assert abs(counts[k] / 2000 - p) < 0.005
    near = labels.filter(pl.col("kind") == "near_dup")
    assert set(near["target_jaccard"].unique()) == set(NEAR_TARGETS)
    for t, mean in near.group_by("target_jaccard").agg(pl.col("jaccard").mean()).iter_rows():
        assert abs(mean - t) < 0.05, (t, mean)


@pytest.mark.slow  # importing datatrove and spaCy takes ~5-20 s on a busy machine; the check itself ~3 s
def test_clean_documents_pass_quality_heuristics_and_junk_does_not() -> None:
    from datatrove.data import Document
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    filters = [GopherRepetitionFilter(), GopherQualityFilter(), FineWebQualityFilter()]

    def passes(text: str) -> bool:
        doc = Document(text=text, id="x")
        for f in filters:
            r = f.filter(doc)
            if not (r if isinstance(r, bool) else r[0]):
                return False
        return True

    recs, lab = next(iter_chunks(400, seed=11))
    by_kind: dict[str, list[bool]] = {}
    for r, k in zip(recs, lab["kind"], strict=True):
        if k in ("clean", "spam", "gibberish", "short", "boilerplate"):
            by_kind.setdefault(k, []).append(passes(r["text"]))
    clean = by_kind.pop("clean")
    assert sum(clean) / len(clean) >= 0.9
    junk = [x for v in by_kind.values() for x in v]
    assert sum(junk) / len(junk) <= 0.15


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(WinnowError, match="unknown corpus suffix"):
        write_sample_corpus(tmp_path / "c.txt", 10)
    with pytest.raises(WinnowError, match=">= 0"):
        write_sample_corpus(tmp_path / "c.jsonl", -1)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WinnowError, match="cannot write"):
        write_sample_corpus(blocker / "c.jsonl", 10)
    with pytest.raises(WinnowError):
        write_sft(tmp_path / "x.parquet", 5)
    with pytest.raises(WinnowError):
        write_bench(blocker, 5)
    assert labels_path(tmp_path / "a.b.jsonl.gz").name == "a.b.labels.parquet"


def test_sft_and_dpo(tmp_path: Path) -> None:
    a, b = write_sft(tmp_path / "a.jsonl", 60, seed=1), write_sft(tmp_path / "b.jsonl", 60, seed=1)
    assert a.read_bytes() == b.read_bytes()
    rows = [orjson.loads(x) for x in a.read_bytes().splitlines()]
    assert len(rows) == 60
    for r in rows:
        assert [m["role"] for m in r["messages"]] == ["user", "assistant"]
        assert all(isinstance(m["content"], str) and m["content"] for m in r["messages"])
    assert len({r["messages"][0]["content"].split()[0] for r in rows}) >= 5  # varied instructions
    assert sft_records(5, seed=2) != sft_records(5, seed=1)

    d = write_dpo(tmp_path / "d.jsonl", 40, seed=1)
    pairs = [orjson.loads(x) for x in d.read_bytes().splitlines()]
    assert pairs == dpo_records(40, seed=1)
    for p in pairs:
        assert set(p) == {"prompt", "chosen", "rejected"}
        assert p["chosen"] != p["rejected"]
        assert p["rejected"] == p["rejected"].upper() and p["rejected"].endswith("!!!")
        assert p["chosen"] != p["chosen"].upper()


def test_bench_layout_and_prefix_stability(tmp_path: Path) -> None:
    paths = write_bench(tmp_path / "bench", 60, seed=5)
    assert (tmp_path / "bench" / "SYNTHETIC.txt").read_text().startswith("SYNTHETIC")
    assert set(paths) == {"train", "validation", "test"}
    test = [orjson.loads(x) for x in paths["test"].read_bytes().splitlines()]
    assert len(test) == 60
    for it in test:
        assert it["id"].startswith("synthetic-")
        assert it["choices"]["label"] == ["A", "B", "C", "D"]
        assert len(set(it["choices"]["text"])) == 4
        assert it["answerKey"] in it["choices"]["label"]
        assert len(it["question"].split()) >= 15
    assert len({it["question"] for it in test}) == 60
    assert bench_items("test", 10, seed=5) == test[:10]
    assert Counter(it["answerKey"] for it in test).most_common(1)[0][1] < 30


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    ws = str(tmp_path / "ws")
    out = tmp_path / "c.parquet"
    assert main(["data", "sample", "--docs", "200", "--out", str(out), "--workspace", ws]) == 0
    text = capsys.readouterr().out
    assert "wrote 200 documents" in text and "clean" in text and "near_dup" in text
    assert pl.read_parquet(out).height == 200
    assert main(["data", "sample", "--kind", "bench", "--docs", "20", "--out", str(tmp_path / "b"),
                 "--workspace", ws]) == 0
    assert (tmp_path / "b" / "arc_easy" / "validation.jsonl").exists()
    assert main(["data", "sample", "--kind", "dpo", "--docs", "5", "--out", str(tmp_path / "d.jsonl"),
                 "--workspace", ws]) == 0
    assert main(["data", "sample", "--docs", "-3", "--out", str(out), "--workspace", ws]) == 2
    assert main(["data", "sample", "--docs", "3", "--out", str(tmp_path / "c.csv"), "--workspace", ws]) == 2
    assert "unknown corpus suffix" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".parquet"])
def test_a_sample_corpus_never_replaces_a_users_files(tmp_path: Path, suffix: str) -> None:
    # red-team: `--out mine.jsonl` replaced an existing mine.labels.parquet the user never named
    out = tmp_path / f"mine{suffix}"
    lab = tmp_path / "mine.labels.parquet"
    pl.DataFrame({"id": ["u1"], "label": [1]}).write_parquet(lab)
    mine = lab.read_bytes()
    with pytest.raises(WinnowError, match=r"mine\.labels\.parquet: already there and not written by"):
        write_sample_corpus(out, 20)
    assert lab.read_bytes() == mine and not out.exists()
    lab.unlink()
    out.write_bytes(b'{"id": "u1", "text": "my own corpus"}\n')  # the user's own corpus at --out
    with pytest.raises(WinnowError, match=f"mine{re.escape(suffix)}: already there"):
        write_sample_corpus(out, 20)
    assert out.read_bytes() == b'{"id": "u1", "text": "my own corpus"}\n' and not lab.exists()
    if suffix != ".parquet":  # a JSONL corpus of the user's that starts with a blank line is not an empty sample
        blank_first = b'\n{"id": "u1", "text": "my own corpus"}\n'
        out.write_bytes(gzip.compress(blank_first) if suffix.endswith(".gz") else blank_first)
        kept = out.read_bytes()
        with pytest.raises(WinnowError, match=f"mine{re.escape(suffix)}: already there"):
            write_sample_corpus(out, 20)
        assert out.read_bytes() == kept
    out.unlink()
    write_sample_corpus(out, 20, seed=1)
    first = out.read_bytes(), lab.read_bytes()
    write_sample_corpus(out, 20, seed=1)  # a sample of ours is rewritten (same bytes), as are its labels
    write_sample_corpus(out, 0, seed=1)
    write_sample_corpus(out, 20, seed=1)  # an empty sample (--docs 0) is ours too
    assert (out.read_bytes(), lab.read_bytes()) == first


def test_a_sample_bench_never_replaces_real_benchmark_data(tmp_path: Path) -> None:
    # red-team: `--kind bench --out <workspace>/benchmarks` replaced imported arc_easy/test.jsonl
    bench = tmp_path / "benchmarks"
    (bench / "arc_easy").mkdir(parents=True)
    real = b'{"id": "Mercury_7175875", "question": "q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "A"}\n'
    (bench / "arc_easy" / "test.jsonl").write_bytes(real)
    with pytest.raises(WinnowError, match=r"arc_easy/test\.jsonl: already there and not written by"):
        write_bench(bench, 10)
    assert (bench / "arc_easy" / "test.jsonl").read_bytes() == real
    assert not (bench / "arc_easy" / "train.jsonl").exists() and not (bench / "SYNTHETIC.txt").exists()
    (bench / "arc_easy" / "test.jsonl").unlink()
    (bench / "SYNTHETIC.txt").write_text("my notes")
    with pytest.raises(WinnowError, match=r"SYNTHETIC\.txt: already there"):
        write_bench(bench, 10)
    (bench / "SYNTHETIC.txt").unlink()
    paths = write_bench(bench, 10, seed=2)
    first = paths["test"].read_bytes()
    assert write_bench(bench, 10, seed=2)["test"].read_bytes() == first  # our own synthetic set is rewritten


def test_a_chat_sample_never_replaces_a_users_chat_data(tmp_path: Path) -> None:
    """`data sample --kind sft|dpo` rewrites its own sample (the same seed starts with the same record), never a
    user's file at that path; a different seed's sample is refused too (its first record differs)."""
    from curation.errors import WinnowError

    p = write_sft(tmp_path / "sft.jsonl", 20, seed=0)
    write_sft(p, 50, seed=0)  # a rerun with more pairs: replaced
    assert len(p.read_text(encoding="utf-8").splitlines()) == 50
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n')
    before = mine.read_bytes()
    for write in (write_sft, write_dpo):
        with pytest.raises(WinnowError, match="not written by `winnow data sample`"):
            write(mine, 10, seed=0)
    assert mine.read_bytes() == before
    with pytest.raises(WinnowError, match="not written by `winnow data sample`"):
        write_sft(p, 20, seed=1)
