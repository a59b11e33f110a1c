"""Full-text search index of a curated run: written by `mix` into `<run>/search/`, read by the run reader.

Why: a search over a million documents (~2 GB of text) must show its first page in about a second. Reading
every docs file costs seconds, and docs files hold 2,000 documents in one Parquet row group, so even a word
that narrows the search to a few documents in every file still reads every file. The index therefore has
two parts, both made in the pass `mix` already makes over each docs file:

    search/text/<docs file>.parquet   the text lowercased (id, order, text, blk), one row group per BLOCK
                                      documents, uncompressed: a search reads only the row groups it needs
                                      (pruned by `blk`), with nothing to decompress (LZ4 made a full scan
                                      twice the CPU for 0.65x the disk)
    search/keys.npy, starts.npy,      word -> blocks holding it: the sorted distinct word hashes, where each
    search/postings.npy               one's block list starts, and the block lists (uint32), memory-mapped
    search/codes.npy, code_starts.npy every word of the text in order, one byte each: its rank among its docs
    search/dicts.npy                  file's 32 commonest words, else 32 + its bucket (a hash, 0..223); blocks
                                      in block order; and each file's 32 commonest word hashes: a phrase is
                                      looked for in these bytes (a sixth of the text) before any text is read
    search/blocks.parquet             block -> docs file, row group, smallest input position (`order`)
    search/index.json                 what the index was built from (docs files and sizes), its costs

A word is a maximal run of ASCII letters and digits of the lowercased text (every other byte separates).
Blocks are numbered by their smallest input position, so candidate blocks are read in corpus order and a
search can stop once the page is full and no unread block can hold an earlier hit.

Correctness: the index only narrows. Every candidate is checked with the real test (literal substring of
the lowercased text, or whole-word regex), so a hit really contains the query. A query word is used to
narrow only where it must be a whole word of every match: any word of a whole-word query, and the inner
words of a substring query (its first and last word may be parts of longer words). Those first and last
words narrow by their 3-character runs instead: the index also holds each block's distinct trigrams inside
words. A query with neither (a substring of under three characters, a non-ASCII word) reads every block (a
full scan of the lowercased copy).

Phrases: where a query has two or more such words in a row (every word of a whole-word query, the inner words
of a substring query), they are consecutive words of every match, so a block is read only if its word codes
hold the query's codes in a row. This removes the blocks a phrase of common words is not in, which the word
postings cannot (each word is in every block), from 2 GB of text to read to 0.3 GB of codes to scan.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from curation.imports import numba_available  # without it no index is built; search reads the docs files
from curation.text import utf8_buffers

VERSION = 2
BLOCK = 256  # documents per block: a row group of the lowercased copy (Polars pays ~70 us a row group)
HASH_SHIFT = 24  # a word hash keeps the top 40 bits of FNV-1a 64; the low 24 bits hold a block number
MAX_BLOCKS = 1 << HASH_SHIFT
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_WORD = re.compile(r"[0-9a-z]+")
FIRST_BATCH = 8  # blocks read in a search's first batch: a common query fills its page from these
MAX_BATCH = 128  # blocks per batch later (~70 MB of text at 2 KB a document): bounds the memory a search holds

INDEX_FROM_DOCS = 300_000  # smaller runs get no index: reading their docs files answers within ~1.2 s


PREVIEW_CHARS = 160


def preview_of(text: pl.Expr) -> pl.Expr:
    """A document's preview in the page's table: its first characters, runs of white space as one space. The
    copy holds it beside the lowercased text, so a page of hits needs no read of the docs files."""
    return text.str.slice(0, PREVIEW_CHARS).str.replace_all(r"\s+", " ")


def word_hash(word: str) -> int:
    """The 40-bit hash of one word (FNV-1a 64 of its bytes, top 40 bits): what the kernel computes."""
    h = _FNV_OFFSET
    for c in word.encode("ascii"):
        h = ((h ^ c) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h >> HASH_SHIFT


def trigram_hash(tri: str) -> int:
    """The 40-bit hash of a 3-character run inside a word: the word hash of 0x01 + its bytes."""
    return word_hash("\x01" + tri)


def whole_word_pattern(query: str) -> str:
    """A regex matching `query` as whole words: a word boundary at each end that is a word character, none at an
    end that is punctuation (a boundary beside `"` or `(` needs a word character there, so `"quoted"` or `(a)`
    never matched)."""
    start = r"\b" if re.match(r"\w", query[:1]) else ""
    end = r"\b" if re.match(r"\w", query[-1:]) else ""
    return start + re.escape(query) + end


def query_trigrams(query: str, whole_words: bool) -> list[str]:
    """The 3-character runs every match of a lowercased substring query holds inside a word: those of its
    first and last words, which may be parts of longer words (its inner words are whole: `query_words`)."""
    if whole_words:
        return []
    out = set()
    for m in _WORD.finditer(query):
        if m.start() == 0 or m.end() == len(query):
            w = m.group()
            out.update(w[i:i + 3] for i in range(len(w) - 2))
    return sorted(out)


def query_words(query: str, whole_words: bool) -> list[str]:
    """The words of a lowercased query that every match must hold as whole words (see the module doc)."""
    out = []
    for m in _WORD.finditer(query):
        if whole_words or (m.start() > 0 and m.end() < len(query)):
            out.append(m.group())
    return sorted(set(out))


def phrase_words(query: str, whole_words: bool) -> list[str]:
    """The words of a lowercased query that every match holds as whole words one right after another."""
    out = []
    for m in _WORD.finditer(query):
        if whole_words or (m.start() > 0 and m.end() < len(query)):
            out.append(m.group())
    return out


CODES = 4  # the word codes' scheme (an index with another has its codes ignored)
N_CODES = 32  # a file's 32 commonest words get codes 0..31; any other word 32 + its bucket (0..223): a few
N_BUCKETS = 256 - N_CODES  # words are most of the text, so they get codes of their own; the rest share buckets
WORD_TABLE = 1 << 17  # slots of a file's word table: it takes 65,536 distinct words, later new ones get buckets
_NO_WORD = np.uint64(0xFFFFFFFFFFFFFFFF)  # pads a file's code table (no 40-bit word hash equals it)


def bucket_of(hashes: np.ndarray) -> np.ndarray:
    """The bucket (0..N_BUCKETS-1) of word hashes (top byte of a multiplicative hash, scaled): what the kernel
    computes."""
    top = (np.asarray(hashes, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(56)
    return ((top * np.uint64(N_BUCKETS)) >> np.uint64(8)).astype(np.uint8)


def word_codes(text: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(one code byte per word in order, words per document, the hashes of the N_CODES commonest words) of a
    lowercased column: code i < N_CODES is the i-th commonest word of this column, N_CODES + bucket any other
    word (so a rarer word of a phrase still rules out all but ~1/224 of the other words)."""
    from curation.text_index_kernel import word_ids_nb

    data, offs = utf8_buffers(text.fill_null(""))
    ids = np.empty(data.size // 2 + len(offs), dtype=np.int32)  # a word and its separator, or a document's last word
    per_doc = np.zeros(len(offs) - 1, dtype=np.int64)
    size = WORD_TABLE  # distinct words kept apart per file: the table stops taking new words at half full
    uniq = np.empty(size // 2 + 1, dtype=np.uint64)
    n, n_uniq = word_ids_nb(data, offs, _WORD_BYTE, ids, per_doc, np.zeros(size, dtype=np.uint64),
                            np.zeros(size, dtype=np.int32), uniq)
    ids = ids[:n]
    known = ids >= 0
    counts = np.bincount(ids[known], minlength=n_uniq)
    top = np.argsort(-counts, kind="stable")[:N_CODES]
    code_of = N_CODES + bucket_of(uniq[:n_uniq])
    code_of[top] = np.arange(top.size, dtype=np.uint8)
    codes = (N_CODES - 1 - ids).astype(np.uint8)  # words the table had no room for: -1 - bucket
    codes[known] = code_of[ids[known]]
    table = np.full(N_CODES, _NO_WORD, dtype=np.uint64)
    table[:top.size] = uniq[top]
    return codes, per_doc, table


def _block_keys_py(buf: np.ndarray, offs: np.ndarray, block: int) -> np.ndarray:
    """Reference path (no numba): the same keys, per document in Python. Slow; for small inputs and tests."""
    keys: set[int] = set()
    data = bytes(buf)
    for d in range(len(offs) - 1):
        b = d // block
        text = data[offs[d]:offs[d + 1]].decode("utf-8", "replace")
        for w in _WORD.findall(text):
            keys.add((word_hash(w) << HASH_SHIFT) | b)
            keys.update((trigram_hash(w[i:i + 3]) << HASH_SHIFT) | b for i in range(len(w) - 2))
    return np.array(sorted(keys), dtype=np.uint64)


_WORD_BYTE = np.zeros(256, dtype=np.uint8)
_WORD_BYTE[48:58] = 1  # 0-9
_WORD_BYTE[97:123] = 1  # a-z (the text is lowercased first)
TABLE_BITS = 16  # per-block set of seen keys: 65,536 slots (512 KB); a block holds ~5,000 words + ~12,000 trigrams

def block_keys(text: pl.Series, block: int = BLOCK) -> np.ndarray:
    """Keys (hash << 24 | block in the file) of the distinct words of each block of a lowercased column."""
    data, offs = utf8_buffers(text.fill_null(""))
    if not numba_available():
        return _block_keys_py(data, offs, block)
    from curation.text_index_kernel import block_keys_nb

    if (len(offs) - 1) // block >= (1 << HASH_SHIFT) - 1:
        raise ValueError("too many blocks in one docs file for the search index")
    out = np.empty(data.size + data.size // 2 + len(offs) + 1, dtype=np.uint64)  # words + trigrams, at most
    k = block_keys_nb(data, offs, block, out, np.zeros(1 << TABLE_BITS, dtype=np.uint64), _WORD_BYTE, True)
    return out[:k].copy()


def _docs_key(doc_files: list[Path]) -> list[list[Any]]:
    """What the index was built from: a docs file rewritten since (even to the same size) makes it stale."""
    return [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in doc_files]


class IndexBuilder:
    """Built by `mix`: `add` each docs file as it is read (thread-safe), then `finish` into `out/`."""

    def __init__(self, out: Path, doc_files: list[Path]) -> None:
        self.out = Path(out)
        self.doc_files = doc_files
        self._file_index = {f.name: i for i, f in enumerate(doc_files)}
        self._parts: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        self._lock = threading.Lock()
        self._cpu = 0.0
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] | None = {} if numba_available() else None
        (self.out / "text").mkdir(parents=True, exist_ok=True)
        if self._codes is not None:
            (self.out / "codes-parts").mkdir(exist_ok=True)

    def add(self, path: Path, docs: pl.DataFrame) -> None:
        """Write the lowercased copy of one docs file and collect its block keys."""
        c0 = time.thread_time()
        has_order = "order" in docs.columns
        key = self._file_index[path.name] << 32  # a block's key: its file's index and row group, unique in the run
        low = docs.select("id", *(["order"] if has_order else []), pl.col("text").fill_null("").str.to_lowercase(),
                          blk=(pl.int_range(pl.len()) // BLOCK).cast(pl.Int64) + key,
                          preview=preview_of(pl.col("text"))).rechunk()
        low.write_parquet(self.out / "text" / path.name, compression="uncompressed", row_group_size=BLOCK,
                          statistics=True)
        keys = block_keys(low["text"])
        n_blocks = (low.height + BLOCK - 1) // BLOCK
        if self._codes is not None:  # the file's word codes, until `finish` puts every block in block order
            codes, per_doc, table = word_codes(low["text"])
            np.save(self.out / "codes-parts" / f"{path.name}.npy", codes)
            per_block = np.add.reduceat(per_doc, np.arange(0, low.height, BLOCK)) if low.height else per_doc
            with self._lock:
                self._codes[path.name] = (per_block.astype(np.int64), table)
        if has_order and low.height:
            order = low["order"].to_numpy()
            mins = np.minimum.reduceat(order, np.arange(0, low.height, BLOCK)).astype(np.int64)
        else:
            mins = np.full(n_blocks, -1, dtype=np.int64)
        with self._lock:
            self._parts[path.name] = (keys, mins, n_blocks)
            self._cpu += time.thread_time() - c0

    def finish(self, wall_start: float | None = None) -> dict[str, Any]:
        """Number the blocks by smallest input position, merge the keys into sorted postings, write them."""
        c0 = time.process_time()
        names = [f.name for f in self.doc_files]
        missing = [n for n in names if n not in self._parts]
        if missing:
            raise RuntimeError(f"search index: docs files never added: {missing[:3]}")
        files, rgs, mins, bases = [], [], [], {}
        base = 0
        for fi, n in enumerate(names):
            _, m, nb = self._parts[n]
            bases[n] = base
            base += nb
            files.append(np.full(nb, fi, dtype=np.int32))
            rgs.append(np.arange(nb, dtype=np.int32))
            mins.append(m if (m >= 0).all() else np.arange(base - nb, base, dtype=np.int64))
        n_blocks = base
        if n_blocks >= MAX_BLOCKS:
            raise RuntimeError(f"search index: {n_blocks} blocks is more than {MAX_BLOCKS}")
        file_of = np.concatenate(files) if files else np.zeros(0, np.int32)
        rg_of = np.concatenate(rgs) if rgs else np.zeros(0, np.int32)
        min_of = np.concatenate(mins) if mins else np.zeros(0, np.int64)
        by_order = np.argsort(min_of, kind="stable")  # block number -> old (file-order) block
        gid = np.empty(n_blocks, dtype=np.uint64)
        gid[by_order] = np.arange(n_blocks, dtype=np.uint64)
        low_mask = np.uint64(MAX_BLOCKS - 1)
        # the keys of every file, renumbered, in one array filled in place (each file's own freed as it goes):
        # with trigrams there are ~70 M keys at 1M documents, so every copy of them costs ~0.55 GB
        allk = np.empty(sum(self._parts[n][0].size for n in names), dtype=np.uint64)
        pos, seg = 0, None
        for n in names:
            keys, m, nb = self._parts[n]
            seg = allk[pos:pos + keys.size]
            np.bitwise_and(keys, low_mask, out=seg)
            seg[:] = (keys & ~low_mask) | gid[seg.astype(np.int64) + bases[n]]
            pos += keys.size
            self._parts[n] = (np.zeros(0, np.uint64), m, nb)
        ser = pl.Series("k", allk)
        del allk, seg
        ser = ser.sort()
        allk = ser.to_numpy(writable=True)
        del ser
        if allk.size > 1:  # repeats only where a huge block restarted its seen-set
            rep = allk[1:] == allk[:-1]
            if rep.any():
                allk = allk[np.r_[True, ~rep]]
            del rep
        postings = allk.astype(np.uint32)
        postings &= np.uint32(MAX_BLOCKS - 1)
        hashes = np.right_shift(allk, np.uint64(HASH_SHIFT), out=allk)
        first = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]]) if hashes.size else np.zeros(0, np.int64)
        np.save(self.out / "keys.npy", hashes[first])
        np.save(self.out / "starts.npy", np.r_[first, hashes.size].astype(np.int64))
        np.save(self.out / "postings.npy", postings)
        if self._codes is not None:
            self._write_codes(names, by_order, gid, bases)
        pl.DataFrame({"file": pl.Series([names[i] for i in file_of[by_order]], dtype=pl.String),
                      "fi": file_of[by_order], "rg": rg_of[by_order], "min_order": min_of[by_order],
                      "blk": (file_of[by_order].astype(np.int64) << 32) + rg_of[by_order]}).write_parquet(
            self.out / "blocks.parquet")
        n_docs = sum(pq.ParquetFile(self.out / "text" / n).metadata.num_rows for n in names)
        size = sum(p.stat().st_size for p in self.out.rglob("*") if p.is_file())
        meta = {"version": VERSION, "block": BLOCK, "docs": _docs_key(self.doc_files), "n_docs": n_docs,
                "codes": CODES if self._codes is not None else None, "trigrams": True,
                "n_blocks": n_blocks, "n_words": int(first.size), "n_postings": int(postings.size),
                "cpu_s": round(self._cpu + time.process_time() - c0, 3), "bytes": size}
        if wall_start is not None:
            meta["wall_s"] = round(time.perf_counter() - wall_start, 3)
        (self.out / "index.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return meta


    def _write_codes(self, names: list[str], by_order: np.ndarray, gid: np.ndarray, bases: dict[str, int]) -> None:
        """codes.npy: each file's word codes put in block order; code_starts.npy; dicts.npy (file x code)."""
        assert self._codes is not None
        per_block = np.concatenate([self._codes[n][0] for n in names]) if names else np.zeros(0, np.int64)
        starts = np.r_[0, np.cumsum(per_block[by_order])].astype(np.int64)
        out = np.lib.format.open_memmap(self.out / "codes.npy", mode="w+", dtype=np.uint8,
                                        shape=(int(starts[-1]),))
        for n in names:
            part_path = self.out / "codes-parts" / f"{n}.npy"
            part = np.load(part_path)
            pos = np.r_[0, np.cumsum(self._codes[n][0])]
            for r in range(len(pos) - 1):
                g = int(gid[bases[n] + r])
                out[starts[g]:starts[g + 1]] = part[pos[r]:pos[r + 1]]
            part_path.unlink()
        out.flush()
        del out
        (self.out / "codes-parts").rmdir()
        np.save(self.out / "code_starts.npy", starts)
        tables = np.stack([self._codes[n][1] for n in names]) if names else np.zeros((0, N_CODES), np.uint64)
        np.save(self.out / "dicts.npy", tables)


def phrase_in_blocks(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Whether buf[lo[j]:hi[j]] (block j's word codes; lo ascending, blocks apart) holds rows[j] (the phrase's
    codes in block j's file) in a row. Vectorized: every position holding the phrase's rarest pair of words
    in a row (on average over the blocks, the largest codes; one pass per distinct pair of codes it has in
    these files, usually one), then its other words checked at those positions only."""
    nb_, k = rows.shape
    keep = np.zeros(nb_, dtype=np.bool_)
    if nb_ == 0 or buf.size == 0:
        return keep
    score = rows.astype(np.int64).sum(0)
    a = int(np.argmax(score[:-1] + score[1:]))
    found_s, found_j = [], []
    for v, w in np.unique(rows[:, a:a + 2], axis=0).tolist():
        m = buf[:-1] == v
        m &= buf[1:] == w
        start = np.flatnonzero(m) - a
        start = start[start >= lo[0]]
        j = np.searchsorted(lo, start, side="right") - 1
        ok = (rows[j, a] == v) & (rows[j, a + 1] == w) & (start + k <= hi[j])
        found_s.append(start[ok])
        found_j.append(j[ok])
    start, j = np.concatenate(found_s), np.concatenate(found_j)
    for t in range(k):
        if t not in (a, a + 1) and start.size:
            m = buf[start + t] == rows[j, t]
            start, j = start[m], j[m]
    keep[j] = True
    return keep


_POOLS: dict[str, Any] = {}
_BUFS = threading.local()


def _pool(name: str = "phrase") -> Any:
    """A helper thread, made on first use: "phrase" runs half of the phrase kernel, "ahead" reads ahead."""
    if name not in _POOLS:
        from concurrent.futures import ThreadPoolExecutor

        _POOLS[name] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    return _POOLS[name]


class TextIndex:
    """A run's search index, opened for reading (`TextIndex.open` returns None when it is absent or stale)."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder = folder
        self.meta = meta
        self.keys = np.load(folder / "keys.npy", mmap_mode="r")
        self.starts = np.load(folder / "starts.npy", mmap_mode="r")
        self.postings = np.load(folder / "postings.npy", mmap_mode="r")
        blocks = pl.read_parquet(folder / "blocks.parquet")
        self.block_file = blocks["file"].to_numpy()
        self.block_rg = blocks["rg"].to_numpy()
        self.block_min = blocks["min_order"].to_numpy()
        self.block_key = blocks["blk"].to_numpy()
        self.n_blocks = blocks.height
        self.rgs_per_file = dict(blocks.group_by("file").len().iter_rows())
        self.has_preview = self.n_blocks > 0 and "preview" in pl.read_parquet_schema(
            folder / "text" / str(self.block_file[0]))
        self.codes: Path | None = None  # codes.npy, read with pread (see `_phrase_part`)
        self._codes_fd: int | None = None
        if meta.get("codes") == CODES and "fi" in blocks.columns:
            self._codes_off = int(np.load(folder / "codes.npy", mmap_mode="r").offset)  # its header's length
            self._codes_fd = os.open(folder / "codes.npy", os.O_RDONLY)
            self.codes = folder / "codes.npy"
            self.code_starts = np.load(folder / "code_starts.npy")
            self.dicts = np.load(folder / "dicts.npy")
            self.block_fi = blocks["fi"].to_numpy().astype(np.int64)
        self.has_order = bool((self.block_min >= 0).all()) and self.n_blocks > 0 and "order" in pl.read_parquet_schema(
            folder / "text" / str(self.block_file[0]))

    def __del__(self) -> None:
        if getattr(self, "_codes_fd", None) is not None:
            os.close(self._codes_fd)

    @classmethod
    def open(cls, folder: Path, doc_files: list[Path]) -> TextIndex | None:
        try:
            meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if meta.get("version") != VERSION or meta.get("docs") != _docs_key(doc_files):
            return None  # built from other documents (the parent run was curated again): not used
        try:
            return cls(folder, meta)
        except (OSError, ValueError, pl.exceptions.PolarsError):
            return None

    def file_min_orders(self) -> dict[str, int]:
        """Each docs file's smallest input position (from the block list): where a run's first page is."""
        mins: dict[str, int] = {}
        for f, m in zip(self.block_file.tolist(), self.block_min.tolist(), strict=True):
            if f not in mins or m < mins[f]:
                mins[f] = m
        return mins

    def postings_of(self, word: str, trigram: bool = False) -> np.ndarray:
        h = np.uint64(trigram_hash(word) if trigram else word_hash(word))
        i = int(np.searchsorted(self.keys, h))
        if i >= len(self.keys) or self.keys[i] != h:
            return np.zeros(0, dtype=np.uint32)
        return np.asarray(self.postings[self.starts[i]:self.starts[i + 1]])

    def candidates(self, query: str, whole_words: bool) -> np.ndarray:
        """Block numbers (ascending: corpus order) that may hold a match of the lowercased `query`."""
        words = query_words(query, whole_words)
        tris = query_trigrams(query, whole_words) if self.meta.get("trigrams") else []
        if not words and not tris:
            return np.arange(self.n_blocks, dtype=np.uint32)
        lists = sorted([*(self.postings_of(w) for w in words), *(self.postings_of(t, True) for t in tris)], key=len)
        got = lists[0]
        for other in lists[1:]:
            if got.size == 0:
                break
            got = np.intersect1d(got, other, assume_unique=True)
        return got

    def query_codes(self, words: list[str]) -> np.ndarray:
        """(file x word) the code of each phrase word in each file: its rank among the file's commonest words,
        else N_CODES + its bucket."""
        qh = np.array([word_hash(w) for w in words], dtype=np.uint64)
        eq = self.dicts[None, :, :] == qh[:, None, None]
        other = (N_CODES + bucket_of(qh)).astype(np.int64)[:, None]
        return np.where(eq.any(2), eq.argmax(2), other).astype(np.uint8).T.copy()

    def _code_runs(self, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where these blocks' codes are: (start, end) of each block in codes.npy's array, and the runs of
        blocks less than 64 KB apart read as one range (index of each run's first and last block)."""
        b = np.asarray(blocks, dtype=np.int64)
        lo, hi = self.code_starts[b], self.code_starts[b + 1]
        new_run = np.r_[True, lo[1:] > hi[:-1] + (1 << 16)] if len(b) else np.zeros(0, dtype=bool)
        firsts = np.flatnonzero(new_run)
        lasts = np.r_[firsts[1:] - 1, len(b) - 1].astype(np.int64) if len(b) else firsts
        return lo, hi, firsts, lasts

    def prefetch_codes(self, blocks: np.ndarray) -> None:
        """Ask the OS to read these blocks' codes into its page cache now, in the background (fadvise
        WILLNEED): on a cold cache the scan then finds them there instead of waiting for each read."""
        if self._codes_fd is None or not len(blocks):
            return
        lo, hi, firsts, lasts = self._code_runs(blocks)
        for a, z in zip(lo[firsts].tolist(), hi[lasts].tolist(), strict=True):
            try:
                os.posix_fadvise(self._codes_fd, self._codes_off + a, z - a, os.POSIX_FADV_WILLNEED)
            except (OSError, AttributeError):
                return

    def _phrase_part(self, blocks: np.ndarray, qcodes: np.ndarray) -> np.ndarray:
        """Read these blocks' codes (one read per run of near blocks, into memory of this call's own, so the
        codes never count in the process's resident memory after it) and test each block for the phrase:
        vectorized numpy (no numba import in the app: that costs ~0.6 s of a first search)."""
        lo, hi, firsts, lasts = self._code_runs(blocks)
        run_lo, run_hi = lo[firsts], hi[lasts]
        base = np.r_[0, np.cumsum(run_hi - run_lo)].astype(np.int64)
        mine = getattr(_BUFS, "buf", None)  # one buffer per thread, kept: fresh memory costs a page fault a page
        if mine is None or mine.size < base[-1]:
            mine = _BUFS.buf = np.empty(max(int(base[-1]), 16 << 20), dtype=np.uint8)
        buf = mine[:int(base[-1])]
        for r, (a, z) in enumerate(zip(run_lo.tolist(), run_hi.tolist(), strict=True)):
            view, pos = memoryview(buf)[base[r]:base[r] + z - a], 0
            while pos < z - a:
                if hasattr(os, "preadv"):
                    got = os.preadv(self._codes_fd, [view[pos:]], self._codes_off + a + pos)
                else:  # no preadv (some Unixes): one copy more
                    chunk = os.pread(self._codes_fd, z - a - pos, self._codes_off + a + pos)
                    view[pos:pos + len(chunk)] = chunk
                    got = len(chunk)
                if got <= 0:
                    raise OSError(f"{self.folder / 'codes.npy'}: shorter than its block list says")
                pos += got
        run_of = np.repeat(np.arange(len(firsts)), lasts - firsts + 1)
        shift = base[:-1][run_of] - run_lo[run_of]  # array position -> position in buf
        return phrase_in_blocks(buf, lo + shift, hi + shift, qcodes[self.block_fi[np.asarray(blocks, dtype=np.int64)]])

    def phrase_blocks(self, blocks: np.ndarray, qcodes: np.ndarray) -> np.ndarray:
        """The blocks whose word codes hold the phrase's codes in a row (the others cannot hold a match)."""
        if len(blocks) > 2 * MAX_BATCH:  # bounded reads: the buffers stay small whoever asks
            step = 2 * MAX_BATCH
            return np.concatenate([self.phrase_blocks(blocks[i:i + step], qcodes)
                                   for i in range(0, len(blocks), step)])
        if len(blocks) < 16:
            return blocks[self._phrase_part(blocks, qcodes)]
        h = len(blocks) // 2  # two threads (the kernel releases the GIL, reads run in parallel)
        other = _pool().submit(self._phrase_part, blocks[h:], qcodes)
        first = self._phrase_part(blocks[:h], qcodes)
        return blocks[np.r_[first, other.result()]]

    def _scan(self, blocks: np.ndarray, test: pl.Expr) -> pl.LazyFrame:
        """One scan of these blocks' rows that pass `test`, over the copy files holding them (Polars reads the
        files in parallel and skips other row groups by the `blk` column's statistics)."""
        names = list(dict.fromkeys(self.block_file[blocks].tolist()))
        lf = pl.scan_parquet([self.folder / "text" / n for n in names], include_file_paths="_copy")
        if len(blocks) < sum(self.rgs_per_file[n] for n in names):
            lf = lf.filter(pl.col("blk").is_in(self.block_key[blocks].tolist()))
        return lf.filter(test).select("id", *(["order"] if self.has_order else []),
                                      *(["preview"] if self.has_preview else []), "_copy")

    def search(self, query: str, whole_words: bool) -> Iterator[tuple[pl.DataFrame, int | None]]:
        """(ids of matching documents in a batch of blocks, smallest input position of the blocks not read yet
        or None when none are left), batch after batch in corpus order: a caller stops when it has enough."""
        q = query.strip() if whole_words else query
        q = pl.select(pl.lit(q).str.to_lowercase()).item()
        test = (pl.col("text").str.contains(whole_word_pattern(q)) if whole_words
                else pl.col("text").str.contains(q, literal=True))
        cands = self.candidates(q, whole_words)
        words = phrase_words(q, whole_words)
        qcodes = self.query_codes(words) if len(words) >= 2 and self.codes is not None else None
        i, size, fetched = 0, FIRST_BATCH, 0
        while i < len(cands):
            batch = cands[i:i + size]
            i += len(batch)
            size = min(MAX_BATCH, size * 2)
            if qcodes is not None:
                if fetched < i + 2 * MAX_BATCH:  # the next batches' codes are read ahead while this one is tested
                    ahead = min(len(cands), i + 4 * MAX_BATCH)
                    _pool("ahead").submit(self.prefetch_codes, cands[max(fetched, i):ahead])
                    fetched = ahead
                batch = self.phrase_blocks(batch, qcodes)
            hits = self._scan(batch.astype(np.int64), test).collect() if len(batch) else \
                pl.DataFrame(schema={"id": pl.String, **({"order": pl.Int64} if self.has_order else {}),
                                     **({"preview": pl.String} if self.has_preview else {}), "_copy": pl.String})
            nxt = int(self.block_min[cands[i]]) if i < len(cands) else None
            yield hits, nxt


def index_wanted(doc_files: list[Path], when: str = "auto") -> bool:
    """Whether `mix` indexes these docs files: `when` is the recipe's `search_index` ("never"; "always"; "auto":
    only for runs of INDEX_FROM_DOCS documents or more, where reading the docs files would be too slow for the
    app and the index pays for its cost, ~35% of mix's CPU and a lowercased copy of the text on disk); none can
    be built without docs files or numba."""
    if when == "never" or not doc_files or not numba_available():
        return False
    return when != "auto" or sum(pq.ParquetFile(f).metadata.num_rows for f in doc_files) >= INDEX_FROM_DOCS


def search_index_builder(out: Path, doc_files: list[Path], when: str = "auto") -> IndexBuilder | None:
    """The builder `mix` feeds in its own pass over the text, or None when `index_wanted` says no."""
    return IndexBuilder(out, doc_files) if index_wanted(doc_files, when) else None


def build_index(run: Path, out: Path | None = None, threads: int = 2) -> dict[str, Any]:
    """Index a run's docs files as `mix` does (same per-file pass, two threads): for runs laid out by other
    means, such as the app benchmark's synthesized million-document run."""
    import os
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    from curation.store import doc_files

    t0 = time.perf_counter()
    files = doc_files(Path(run))
    final = Path(out) if out is not None else Path(run) / "search"
    # built beside its place and moved in whole (as mix does): a reader never meets half an index, and a
    # build killed half-way leaves only a temporary folder, removed by the next build
    tmp = final.with_name(f".{final.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    builder = IndexBuilder(tmp, files)

    def one(path: Path) -> None:
        builder.add(path, pl.read_parquet(path, columns=["id", "order", "text"]))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, files))
    meta = builder.finish(t0)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return meta
