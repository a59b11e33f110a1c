"""The built-in sample corpus: English web-like documents with known junk planted in known proportions.

Documents (~2 KB on average) are articles, how-tos, product pages, forum threads and local news about
twelve topics, written by a sentence grammar over `vocab.py` (subjects x modals x topic verb phrases x
tails, plus openers, connectors and comments), so clean documents read like plain web prose and pass the
usual Gopher / C4 / FineWeb heuristics (98.8% of clean documents pass all four datatrove filters; see
docs/benchmarks/sample.md). Nobody's text is copied. For speed the grammar fills a pool of 3,000 sentences
per topic once (fixed internal seed) with placeholders for a document's three focus nouns; a document draws
its sentences by numpy-sampled index and fills the placeholders with its own nouns.

Planted kinds and their share of the documents (exact counts per chunk of 2,000, largest remainder):

    clean        61%   ordinary documents
    exact_dup     5%   byte-identical copy of an earlier clean document (new id and url)
    near_dup      9%   edited copy of an earlier clean document, 1.5% at each target word-5-gram Jaccard
                       0.95, 0.9, 0.85, 0.8, 0.7, 0.5 (word substitutions, deletions and insertions); the
                       labels hold the ACTUAL Jaccard (equal to `curation.text.ngram_jaccard`)
    boilerplate   4%   navigation menus, cookie banners and footers around a single sentence
    short         4%   a few words to one sentence
    spam          4%   repeated lines or keyword stuffing
    gibberish     3%   random character strings
    pii           5%   a clean document plus sentences with a person name and some of: email address,
                       US phone number, Luhn-valid credit card number, IPv4 address
    toxic         3%   a clean document plus one to three insulting lines
    bench_copy    2%   a clean document quoting a question and its answer from the synthetic benchmark
                       (`curation.samples.bench`, test split items 0..49 of the same seed)

Copies always come after their source in the file, so keep-first deduplication keeps the original (a copy
drawn before any clean document exists, possible only at the very start, is written as clean instead).
Clean documents contain no person names, emails or numbers that look like PII.

Files: the corpus (`.jsonl`, `.jsonl.gz` or `.parquet`; records `id, text, source, metadata`) and
`<stem>.labels.parquet` with `id, kind, source_id, jaccard, target_jaccard, pii_types, pii_values`.
`source_id` is the corpus id a copy was made from, or for `bench_copy` the benchmark item id; `kind` is
only in the labels, so curation cannot peek. Same seed, same bytes. Generation streams in chunks, so memory
stays flat whatever the number of documents.
"""

from __future__ import annotations

import functools
import gzip
import io
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from curation.errors import WinnowError
from curation.samples import vocab as V
from curation.samples.bench import QUOTE_POOL, bench_items
from curation.text import dedup_words

CHUNK = 2000
ROW = 64  # pre-drawn integers per document; longer ones continue with an LCG
SROW = 48  # pre-drawn pooled-sentence indices per document
NEAR_TARGETS = (0.95, 0.9, 0.85, 0.8, 0.7, 0.5)
PROPORTIONS: dict[str, float] = {
    "clean": 0.61, "exact_dup": 0.05, "near_dup": 0.09, "boilerplate": 0.04, "short": 0.04, "spam": 0.04,
    "gibberish": 0.03, "pii": 0.05, "toxic": 0.03, "bench_copy": 0.02,
}
KINDS = list(PROPORTIONS)
SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")

_TOPIC_NAMES = sorted(V.TOPICS)
_TOPICS = [V.TOPICS[t] for t in _TOPIC_NAMES]
_GENRES = ["article", "howto", "product", "forum", "news"]
_AN = re.compile(r"\b([Aa]) (?=[aeioAEIO])")

DOC_SCHEMA = pa.schema([
    ("id", pa.string()), ("text", pa.string()), ("source", pa.string()),
    ("metadata", pa.struct([("url", pa.string()), ("genre", pa.string()), ("topic", pa.string()),
                            ("date", pa.string())])),
])
LABEL_SCHEMA = pa.schema([
    ("id", pa.string()), ("kind", pa.string()), ("source_id", pa.string()), ("jaccard", pa.float64()),
    ("target_jaccard", pa.float64()), ("pii_types", pa.list_(pa.string())),
    ("pii_values", pa.list_(pa.string())),
])


def kind_counts(n: int) -> dict[str, int]:
    """Exact count of each kind for n documents (largest-remainder rounding of PROPORTIONS)."""
    raw = {k: p * n for k, p in PROPORTIONS.items()}
    counts = {k: int(v) for k, v in raw.items()}
    left = n - sum(counts.values())
    for k in sorted(raw, key=lambda k: (counts[k] - raw[k], KINDS.index(k)))[:left]:
        counts[k] += 1
    return counts


def _stem(out: Path) -> str:
    name = out.name
    for suf in (".jsonl.gz", ".jsonl", ".parquet"):
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    raise WinnowError(f"{out}: unknown corpus suffix (expected one of {', '.join(SUFFIXES)})")


def labels_path(out: Path) -> Path:
    """Where the labels of corpus file `out` go: `<stem>.labels.parquet` beside it."""
    out = Path(out)
    return out.with_name(f"{_stem(out)}.labels.parquet")


class _Draw:
    """Cheap integer draws for one document from a pre-drawn numpy row (no per-call Generator overhead)."""

    __slots__ = ("_it", "_x")

    def __init__(self, row: list[int]) -> None:
        self._it = iter(row)
        self._x = row[-1] if row else 1

    def _lcg(self) -> int:
        """Long documents run past the row: continue with a 64-bit LCG seeded by the row's last value."""
        self._x = (self._x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return self._x >> 33

    def __call__(self, k: int) -> int:
        try:
            return next(self._it) % k
        except StopIteration:
            return self._lcg() % k

    def pick(self, seq: list):  # noqa: ANN201 - any element type
        try:
            return seq[next(self._it) % len(seq)]
        except StopIteration:
            return seq[self._lcg() % len(seq)]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


_FOCUS = ("\x01", "\x02", "\x03")  # placeholders for a document's three focus nouns in pooled sentences
POOL = 3000  # pooled sentences per topic


class _Writer:
    """Sentence grammar bound to one topic; `focus` holds a document's focus nouns (or placeholders)."""

    def __init__(self, d: _Draw, topic: dict, focus: tuple[str, ...] | None = None) -> None:
        self.d = d
        self.t = topic
        nouns = topic["nouns"]
        self.focus = focus or tuple(nouns[d(len(nouns))] for _ in range(3))

    def noun(self) -> str:
        d = self.d
        return self.focus[d(3)] if d(20) < 9 else d.pick(self.t["nouns"])

    def adj(self) -> str:
        d = self.d
        return d.pick(self.t["adjectives"]) if d(3) else d.pick(V.ADJ_GENERIC)

    def verb(self, past: bool = False) -> str:
        v = self.d.pick(self.t["verbs"])[1 if past else 0]
        return v.replace("{n}", self.noun())

    def subject(self) -> str:
        s = self.d.pick(V.SUBJECTS)
        return s.replace("{n}", self.noun()) if "{n}" in s else s

    def clause(self) -> str:
        m = self.d.pick(V.MODALS)
        return f"{self.subject()} {m} {self.verb(past=m in V.PAST_MODALS)}"

    def sentence(self) -> str:
        d = self.d
        f = d(20)
        if f <= 5:
            return _cap(self.clause()) + d.pick(V.TAILS) + "."
        if f <= 9:
            return f"{d.pick(V.OPENERS)}, {self.clause()}{d.pick(V.TAILS)}."
        if f <= 12:
            return f"{_cap(self.clause())}, {d.pick(V.CONNECTORS)} {self.clause()}."
        if f == 13:
            return d.pick(V.COMMENTS)
        if f <= 15:
            return (f"The {self.adj()} {self.noun()} {d.pick(V.LINKS)} {self.adj()}, so {self.clause()}"
                    f"{d.pick(V.TAILS)}.")
        if f <= 17:
            return f"{d.pick(V.LEADINS)} {self.clause()}{d.pick(V.TAILS)}."
        judged = d.pick(V.JUDGEMENTS).replace("{g}", d.pick(V.ADJ_GENERIC))
        return f"A {self.adj()} {self.noun()} {judged} {self.clause()}."

    def title(self, news: bool = False) -> str:
        tpl = self.d.pick(V.NEWS_TITLES if news else V.TITLES)
        t = tpl.replace("{v}", self.verb()).replace("{a}", self.adj()).replace("{n}", self.noun())
        return _AN.sub(r"\1n ", _cap(t))


@functools.cache
def _pools() -> list[list[str]]:
    """POOL sentences per topic, built once by the grammar with focus-noun placeholders.

    Fixed internal seed: the pool is the same for every corpus; documents differ by which sentences
    they draw and which nouns fill the placeholders, so sentences rarely repeat across documents.
    """
    rows = np.random.default_rng(20240611).integers(0, 1 << 30, size=(len(_TOPICS), POOL * 24)).tolist()
    pools = []
    for t, row in zip(_TOPICS, rows, strict=True):
        w = _Writer(_Draw(row), t, _FOCUS)
        pools.append([_AN.sub(r"\1n ", w.sentence()) for _ in range(POOL)])
    return pools


class _Doc:
    """Draws pooled sentences of one topic for one document from a pre-drawn row of sentence indices."""

    __slots__ = ("d", "pool", "row", "at")

    def __init__(self, d: _Draw, pool: list[str], row: list[int]) -> None:
        self.d, self.pool, self.row, self.at = d, pool, row, 0

    def sentence(self) -> str:
        return self.pool[self.d(POOL)]

    def paragraph(self, lo: int = 3, hi: int = 6) -> str:
        k = lo + self.d(hi - lo + 1)
        a, self.at = self.at, self.at + k
        if self.at > len(self.row):  # a rare very long document: draw the rest one by one
            return " ".join([self.sentence() for _ in range(k)])
        return " ".join(map(self.pool.__getitem__, self.row[a:self.at]))


def _clean_text(d: _Draw, srow: list[int]) -> tuple[str, str, str]:
    """One clean document: (text, genre, topic name); `srow` holds pre-drawn pooled-sentence indices."""
    ti = d(len(_TOPICS))
    topic = _TOPICS[ti]
    w = _Writer(d, topic, _FOCUS)
    p = _Doc(d, _pools()[ti], srow)
    genre = _GENRES[d(len(_GENRES))]
    parts: list[str] = []
    if genre == "article":
        parts = [w.title()] + [p.paragraph() for _ in range(5 + d(4))]
    elif genre == "howto":
        parts = [f"How to {w.verb()}", p.paragraph(3, 5),
                 f"What you will need: a {w.noun()}, a {w.noun()} and some time."]
        parts += [f"Step {i + 1}. {_cap(w.verb())}{d.pick(V.TAILS)}. {p.sentence()} {p.sentence()}"
                  for i in range(3 + d(4))]
        parts += [p.paragraph(3, 5), p.paragraph(2, 4)]
    elif genre == "product":
        parts = [f"{d.pick(V.BRANDS)} {_cap(w.adj())} {_cap(w.noun())}", p.paragraph(4, 6),
                 f"Price: ${19 + d(180)}.{d(100):02d}", p.paragraph(3, 5)]
        for _ in range(3 + d(3)):
            parts.append(f"Review by {d.pick(V.USERNAMES)}: {p.paragraph(2, 4)}")
    elif genre == "forum":
        q = d.pick(V.QUESTIONS).replace("{v}", w.verb()).replace("{a}", w.adj()).replace("{n}", w.noun())
        q = _AN.sub(r"\1n ", q)
        parts = [q, f"Posted by {d.pick(V.USERNAMES)} on {d.pick(V.MONTHS)} {1 + d(28)}, {2015 + d(10)}",
                 f"{p.paragraph(3, 5)} {q}"]
        for _ in range(3 + d(3)):
            parts.append(f"Reply from {d.pick(V.USERNAMES)}: {p.paragraph(2, 5)}")
    else:
        city = d.pick(V.CITIES)
        parts = [w.title(news=True), f"{city.upper()} ({d.pick(V.MONTHS)} {1 + d(28)}) - {p.paragraph(2, 4)}"]
        for _ in range(4 + d(3)):
            parts.append(p.paragraph(2, 5))
            if d(2):
                parts.append(f"\"{p.sentence()[:-1]},\" said {d.pick(V.ROLES)}.")
    text = "\n\n".join(parts)
    nouns = topic["nouns"]
    for ph in _FOCUS:
        noun = nouns[d(len(nouns))]
        if noun[0] in "aeioAEIO":
            text = text.replace(f"a {ph}", f"an {ph}").replace(f"A {ph}", f"An {ph}")
        text = text.replace(ph, noun)
    return text, genre, _TOPIC_NAMES[ti]


def _luhn_complete(digits: list[int]) -> list[int]:
    total = 0
    for i, x in enumerate(reversed(digits)):  # the check digit will sit to the right
        y = x * 2 if i % 2 == 0 else x
        total += y - 9 if y > 9 else y
    return digits + [(10 - total % 10) % 10]


def luhn_valid(number: str) -> bool:
    """Luhn checksum of a card number (spaces and dashes ignored)."""
    ds = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, x in enumerate(reversed(ds)):
        y = x * 2 if i % 2 == 1 else x
        total += y - 9 if y > 9 else y
    return len(ds) >= 12 and total % 10 == 0


_AREA = ["212", "415", "312", "617", "206", "303", "512", "404", "713", "305", "646", "718"]


def _pii(d: _Draw) -> tuple[list[str], list[str], list[str]]:
    """Sentences carrying PII, with the planted (type, value) pairs (Presidio entity names)."""
    first, last = d.pick(V.FIRST_NAMES), d.pick(V.LAST_NAMES)
    name = f"{first} {last}"
    types, values, sents = ["PERSON"], [name], []
    kinds = [k for k in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IP_ADDRESS") if d(2)] or ["EMAIL_ADDRESS"]
    sents.append(f"Thanks again to {name} for the help with this.")
    for k in kinds:
        if k == "EMAIL_ADDRESS":
            v = f"{first.lower()}.{last.lower()}{d(100) if d(2) else ''}@{d.pick(V.EMAIL_DOMAINS)}"
            sents.append(f"If you have questions, write to {v} and {first} will reply.")
        elif k == "PHONE_NUMBER":
            a, ex, ln = d.pick(_AREA), 200 + d(800), d(10000)
            v = [f"({a}) {ex}-{ln:04d}", f"{a}-{ex}-{ln:04d}", f"+1 {a} {ex} {ln:04d}", f"{a}.{ex}.{ln:04d}"][d(4)]
            sents.append(f"You can also call {first} on {v} during office hours.")
        elif k == "CREDIT_CARD":
            if d(2):
                ds = _luhn_complete([4] + [d(10) for _ in range(14)])
            else:
                ds = _luhn_complete([5, 1 + d(5)] + [d(10) for _ in range(13)])
            s = "".join(map(str, ds))
            sep = " -"[d(2)]
            v = sep.join(s[i:i + 4] for i in range(0, 16, 4))
            sents.append(f"The card ending in the number {v} was charged twice for the same order.")
        else:
            v = f"{1 + d(223)}.{d(256)}.{d(256)}.{1 + d(254)}"
            sents.append(f"The logs showed repeated requests from {v} that night.")
        types.append(k)
        values.append(v)
    return sents, types, values


def _insert_paragraph(d: _Draw, text: str, extra: str) -> str:
    paras = text.split("\n\n")
    at = 1 + d(len(paras))
    return "\n\n".join(paras[:at] + [extra] + paras[at:])


# ASCII text: NFKC changes nothing and \\w is [A-Za-z0-9_], so a translate table gives dedup_words' split
_ASCII_NON_WORD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}


def _words(text: str) -> list[str]:
    """`curation.text.dedup_words`, with a faster path for ASCII text (the generated documents)."""
    if text.isascii():
        return text.lower().translate(_ASCII_NON_WORD).split()
    return dedup_words(text)


def _grams(text: str) -> set[tuple[str, ...]]:
    """Word 5-grams as tuples: the same sets as `curation.text.word_ngrams` (words hold no spaces), faster."""
    w = _words(text)
    if len(w) < 5:
        return {tuple(w)} if w else set()
    return set(zip(w, w[1:], w[2:], w[3:], w[4:], strict=False))


def _jaccard(a: set, b: set) -> float:
    """Equal to `curation.text.ngram_jaccard` on the texts the sets came from (checked in the tests)."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _near_dup(d: _Draw, src: str, target: float) -> tuple[str, float]:
    """Edit `src` towards a word-5-gram Jaccard of `target`; returns the copy and its measured Jaccard."""
    src_grams = _grams(src)
    toks = src.split(" ")
    n_grams = max(len(toks) - 4, 1)
    k = max(1, round(n_grams * (1 - target) / (5 * (1 + target))))
    best: tuple[str, float] | None = None
    for _ in range(2):
        k = min(k, len(toks) // 2)
        # edit words inside lines only (keep paragraph breaks and quotes intact)
        cand = (d(len(toks)) for _ in range(4 * k))
        valid = (p for p in cand if "\n" not in toks[p] and '"' not in toks[p])
        pos = sorted(set(itertools.islice(dict.fromkeys(valid), k)))
        out, last = [], 0
        for p in pos:
            out += toks[last:p]
            op = d(3)
            if op == 0:
                out.append(d.pick(V.FILLER_WORDS))
            elif op == 1:
                out += [d.pick(V.FILLER_WORDS), toks[p]]
            last = p + 1
        out += toks[last:]
        text = " ".join(out)
        j = _jaccard(src_grams, _grams(text))
        if best is None or abs(j - target) < abs(best[1] - target):
            best = (text, j)
        if abs(j - target) <= 0.03:
            break
        # overlapping edits change fewer n-grams than assumed: scale the edit count once and retry
        k = max(1, round(k * (1 - target) / max(1 - j, 1e-3) * (1 + j) / (1 + target)))
    assert best is not None
    return best


def _boilerplate(d: _Draw, w: _Writer) -> str:
    lines = [d.pick(V.NAV_LINES) for _ in range(8 + d(10))]
    lines.insert(d(3), d.pick(V.COOKIE_LINES))
    lines.append(w.sentence())
    lines += [d.pick(V.NAV_LINES) for _ in range(4 + d(6))]
    lines += [d.pick(V.FOOTER_LINES), f"\u00a9 {2015 + d(10)} {d.pick(V.BRANDS)}. All rights reserved."]
    return "\n".join(lines)


def _spam(d: _Draw, w: _Writer) -> str:
    if d(2):  # one line repeated many times
        line = w.sentence() + " " + _cap(d.pick(V.SPAM_PHRASES)) + "!"
        return "\n".join([line] * (8 + d(20)))
    n = w.noun()
    words = []
    for _ in range(60 + d(120)):
        r = d(4)
        words.append(n if r < 2 else d.pick(V.SPAM_PHRASES) if r == 2 else f"cheap {n}")
    return f"{_cap(n)} {_cap(n)} {_cap(n)}!!! " + " ".join(words) + f" {d.pick(V.SPAM_PHRASES).upper()}!!!"


_GIB = np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789#$%&*+=/\\_~^",
                     dtype=np.uint8)


def _gibberish(rng: np.random.Generator) -> str:
    n = int(rng.integers(300, 2500))
    codes = _GIB[rng.integers(0, len(_GIB), n)]
    codes[rng.random(n) < 0.16] = 32
    codes[rng.random(n) < 0.01] = 10
    return codes.tobytes().decode("ascii").strip() or "qzx"


def _url(d: _Draw, topic: str, i: int) -> str:
    site = topic.replace(" ", "") + d.pick(V.SITE_WORDS)
    return f"https://www.{site}.example/{2015 + d(10)}/{i:x}{d(1000):03d}"


def _date(d: _Draw) -> str:
    return f"{2015 + d(10)}-{1 + d(12):02d}-{1 + d(28):02d}"


def iter_chunks(docs: int, seed: int = 0) -> Iterator[tuple[list[dict], dict[str, list]]]:
    """Yield (documents, label columns) chunk by chunk; the same (docs, seed) always gives the same data."""
    if docs < 0:
        raise WinnowError(f"--docs must be >= 0, got {docs}")
    bench = bench_items("test", QUOTE_POOL, seed)
    pool: list[tuple[str, str, str, str]] = []  # (id, text, genre, topic) of recent clean documents
    for c, start in enumerate(range(0, docs, CHUNK)):
        n = min(CHUNK, docs - start)
        rng = np.random.default_rng([seed, c])
        counts = kind_counts(n)
        kinds = np.repeat(np.arange(len(KINDS)), [counts[k] for k in KINDS])[rng.permutation(n)]
        near_lv = rng.integers(0, len(NEAR_TARGETS), n)
        rows = rng.integers(0, 1 << 30, size=(n, ROW)).tolist()
        srows = rng.integers(0, POOL, size=(n, SROW)).tolist()
        pool = pool[-CHUNK:]
        recs: list[dict] = []
        lab: dict[str, list] = {f: [] for f in LABEL_SCHEMA.names}
        for j in range(n):
            i = start + j
            d = _Draw(rows[j])
            kind = KINDS[int(kinds[j])]
            if kind in ("exact_dup", "near_dup") and not pool:
                kind = "clean"  # nothing earlier to copy (only at the very start of the file)
            src_id = jac = target = None
            types: list[str] = []
            values: list[str] = []
            did = f"s{seed}-{i:08d}"
            if kind in ("clean", "pii", "toxic", "bench_copy"):
                text, genre, topic = _clean_text(d, srows[j])
            if kind == "clean":
                pool.append((did, text, genre, topic))
            elif kind == "exact_dup":
                src_id, text, genre, topic = pool[d(len(pool))]
                jac = 1.0
            elif kind == "near_dup":
                src_id, src, genre, topic = pool[d(len(pool))]
                target = NEAR_TARGETS[int(near_lv[j])]
                text, jac = _near_dup(d, src, target)
            elif kind == "pii":
                sents, types, values = _pii(d)
                text = _insert_paragraph(d, text, " ".join(sents))
            elif kind == "toxic":
                bad = " ".join(d.pick(V.TOXIC_LINES) for _ in range(1 + d(3)))
                text = _insert_paragraph(d, text, f"Reply from {d.pick(V.USERNAMES)}: {bad}")
            elif kind == "bench_copy":
                item = bench[d(len(bench))]
                ans = item["choices"]["text"][item["choices"]["label"].index(item["answerKey"])]
                quote = f"Here is a practice question from the quiz: {item['question']} The answer is {ans}."
                text = _insert_paragraph(d, text, quote)
                src_id = item["id"]
            else:
                ti = d(len(_TOPICS))
                topic, genre = _TOPIC_NAMES[ti], _GENRES[d(len(_GENRES))]
                w = _Writer(d, _TOPICS[ti])  # literal nouns: junk needs no pooled sentences
                if kind == "boilerplate":
                    text = _boilerplate(d, w)
                elif kind == "short":
                    text = d.pick(V.SHORT_TEXTS) if d(2) else w.sentence()
                elif kind == "spam":
                    text = _spam(d, w)
                else:
                    text = _gibberish(rng)
            recs.append({"id": did, "text": text, "source": "sample",
                         "metadata": {"url": _url(d, topic, i), "genre": genre, "topic": topic,
                                      "date": _date(d)}})
            lab["id"].append(did)
            lab["kind"].append(kind)
            lab["source_id"].append(src_id)
            lab["jaccard"].append(jac)
            lab["target_jaccard"].append(target)
            lab["pii_types"].append(types)
            lab["pii_values"].append(values)
        yield recs, lab


def write_sample_corpus(out: Path, docs: int, seed: int = 0,
                        progress: Callable[[int], None] | None = None) -> Path:
    """Write the corpus to `out` (format by suffix) and the labels beside it; returns the labels path."""
    out = Path(out)
    lpath = labels_path(out)
    if docs < 0:
        raise WinnowError(f"--docs must be >= 0, got {docs}")
    if out.exists() and out.is_dir():
        raise WinnowError(f"{out}: is a folder; give a file name ending in {', '.join(SUFFIXES)}")
    from curation.samples.ownership import is_sample_corpus, is_sample_labels, refuse_foreign

    refuse_foreign([(out, is_sample_corpus), (lpath, is_sample_labels)])  # a user's file there stays
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        raw = open(out, "wb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise WinnowError(f"{out}: cannot write the sample corpus ({e.strerror})") from e
    is_parquet = out.name.lower().endswith(".parquet")
    gz = out.name.lower().endswith(".gz")
    fh: io.BufferedIOBase = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) \
        if gz else raw
    dw = pq.ParquetWriter(fh, DOC_SCHEMA, compression="zstd") if is_parquet else None
    lw = pq.ParquetWriter(lpath, LABEL_SCHEMA, compression="zstd")
    try:
        for recs, lab in iter_chunks(docs, seed):
            if dw is not None:
                dw.write_table(pa.Table.from_pylist(recs, schema=DOC_SCHEMA))
            else:
                fh.write(b"".join(orjson.dumps(r) + b"\n" for r in recs))
            lw.write_table(pa.table(lab, schema=LABEL_SCHEMA))
            if progress is not None:
                progress(len(recs))
    finally:
        if dw is not None:
            dw.close()
        lw.close()
        if gz:
            fh.close()
        raw.close()
    return lpath
