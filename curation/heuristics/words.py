"""datatrove's English word tokenizer (`spacy.blank("en")`), made fast by tokenizing each distinct chunk once.

spaCy splits a text on whitespace first (Python's `isspace`, exactly what `str.split()` does) and then
tokenizes every whitespace-free chunk on its own: prefixes, suffixes, infixes and special cases never
look across whitespace. datatrove drops whitespace-only tokens (`strip_strings`). So the words of a
document are the concatenation of the words of its chunks, and a chunk's words never change. `WordCache`
keeps chunk -> words for every distinct chunk it has seen (web text reuses a few hundred thousand
chunks), asks spaCy itself only about chunks it has not seen (all of them in one call), and answers a
whole batch with one C-level `str.split()` plus one dict lookup per chunk and numpy gathers.

Result of `WordCache.tokenize`: flat int32 token ids for every word of every document, in order, with
the document and the "line" (a `str.splitlines()` line, needed by C4) each word belongs to; per token
id, property arrays (length, alphabetic, punctuation-only, stop word, sentence punctuation, hashes).
"""

from __future__ import annotations

import gc
import itertools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from curation.heuristics.chars import SPLITLINES_RE, is_spacy_punct

# datatrove.utils.text.PUNCTUATION_SET, imported lazily (datatrove is heavy to import)
_RNG_SEED = 0x5EED_C0DE
_WS_SPLIT = re.compile(r"(\s+)")  # Python's \s is str.isspace() for str patterns
MAX_CHUNKS = 3_000_000  # forget the cache beyond this many distinct chunks (bounded memory)


def _punctuation_set() -> set[str]:
    from datatrove.utils.text import PUNCTUATION_SET

    return set(PUNCTUATION_SET)


_POW_CACHE: dict[int, np.ndarray] = {}


def _char_powers(base: int, size: int) -> np.ndarray:
    """base**k mod 2**64 for k < size (grown on demand)."""
    p = _POW_CACHE.get(base)
    if p is None or len(p) < size:
        size = max(size, 64, 2 * (len(p) if p is not None else 0))
        with np.errstate(over="ignore"):
            p = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, base, dtype=np.uint64)], dtype=np.uint64)
        _POW_CACHE[base] = p
    return p


class _Vocab(dict):
    """str -> dense id; unseen keys get the next id and are remembered in `new`."""

    def __init__(self) -> None:
        super().__init__()
        self.new: list[str] = []

    def __missing__(self, key: str) -> int:
        i = len(self)
        self[key] = i
        self.new.append(key)
        return i


@dataclass
class Tokens:
    """The words of a batch of documents, flattened."""

    tok: np.ndarray        # int32 token id per word
    doc: np.ndarray        # int64 document index (0..n_docs-1) per word
    line: np.ndarray       # int64 global line index per word (lines numbered in document order)
    doc_start: np.ndarray  # int64, n_docs + 1 offsets into tok
    line_start: np.ndarray  # int64, n_lines + 1 offsets into tok
    line_doc: np.ndarray   # int64 document of each line
    line_chunks: np.ndarray  # int64 whitespace-separated chunks per line (C4's `len(line.split())`)
    chunk_line: np.ndarray  # int64 line of every chunk
    chunk_len: np.ndarray   # int64 characters of every chunk
    chunk_tokens: np.ndarray | None = None  # int64 words of every chunk (its words are consecutive in `tok`)


class WordCache:
    """Chunk -> spaCy words, shared by all heuristic steps of a process."""

    STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")

    def __init__(self) -> None:
        # spaCy's English tokenizer settings (the same as `spacy.blank("en")`, which would first load every
        # installed spaCy plugin), cached as data so that spaCy itself is imported only if a chunk needs it
        from curation.heuristics.spacy_rules import english_rules

        r = english_rules()
        self._rules = r.exceptions
        self._prefix = r.prefix.search
        self._suffix = r.suffix.search
        self._infix = r.infix.finditer
        self._token_match = r.token.match if r.token is not None else None
        self._url_match = r.url.match if r.url is not None else None
        self._spacy_tok = None  # a real spaCy Tokenizer, built only if a chunk needs it
        self._punct = _punctuation_set()
        self._sent_punct = set(r.sentence_punct)
        self._stop = {w: i for i, w in enumerate(self.STOP_WORDS)}
        rng = np.random.default_rng(_RNG_SEED)
        self.base = int(rng.integers(1 << 62, 1 << 63)) | 1  # odd: invertible mod 2**64
        self._rng = rng
        # special cases spaCy re-applies after splitting (its PhraseMatcher): chunks whose words contain
        # such a pattern (the rule string split WITHOUT special cases) go to spaCy itself; they are rare
        self._matcher_first: dict[str, list[list[str]]] = {}
        for k in self._rules:
            if any(c.isspace() for c in k):
                continue
            pre, suf = self._prefix(k), self._suffix(k)
            if (pre is not None and pre.end() > pre.start()) or (suf is not None and suf.end() > suf.start()) \
                    or next(self._infix(k), None) is not None:
                seq = self._py_words(k, specials_on=False)
                self._matcher_first.setdefault(seq[0], []).append(seq)
        self.reset()

    def reset(self, sep_k: int = 0) -> None:
        self.chunks = _Vocab()
        self._memo: dict[str, list[str]] = {}
        self.tokens = _Vocab()
        # chunk tables (sentinels first: ids 0 and 1 are the line and document separators)
        self._c_off: list[int] = []
        self._c_n: list[int] = []
        self._c_len: list[int] = []
        self._flat: list[int] = []
        self._arrays_dirty = True
        # token property lists
        self.t_len: list[int] = []
        self.t_nonsym: list[bool] = []
        self.t_alpha: list[bool] = []
        self.t_stop: list[int] = []
        self.t_ispunct: list[bool] = []
        self.t_sentp: list[bool] = []
        self.t_chash: list[int] = []
        self.t_rand: list[int] = []
        self._set_separators(sep_k)

    # ---------------------------------------------------------------- vocabulary growth
    def _add_token_props(self, toks: list[str]) -> None:
        if not toks:
            return
        punct, sentp, stop = self._punct, self._sent_punct, self._stop
        self.t_len.extend(map(len, toks))
        self.t_nonsym.extend(not punct.issuperset(t) for t in toks)
        self.t_alpha.extend(t.isalpha() or any(map(str.isalpha, t)) for t in toks)
        self.t_stop.extend(stop.get(t, -1) for t in toks)
        self.t_ispunct.extend(not t.isalnum() and is_spacy_punct(t) for t in toks)
        self.t_sentp.extend(t in sentp for t in toks)
        # polynomial hash of the characters, sum((ord(c) + 1) * base**i) mod 2**64, for all tokens at once
        lens = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
        codes = np.frombuffer("".join(toks).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + np.uint64(1)
        starts = np.cumsum(lens) - lens
        pos = np.arange(codes.size, dtype=np.int64) - np.repeat(starts, lens)
        p = _char_powers(self.base, int(lens.max()) + 1)
        with np.errstate(over="ignore"):
            h = np.add.reduceat(codes * p[pos], starts)
        self.t_chash.extend(h.tolist())
        self.t_rand.extend(self._rng.integers(0, 1 << 63, len(toks), dtype=np.int64).tolist())

    def _py_words(self, string: str, specials_on: bool = True) -> list[str]:
        """spaCy's `Tokenizer._split_affixes` + `_attach_tokens`, in Python over spaCy's own rules/regexes.

        A port of spaCy 3.8's Cython (no Doc, no lexemes). One affix-loop iteration strips a prefix
        and/or suffix and the loop then restarts on the remainder exactly as if that remainder were a
        chunk of its own, so the remainder's words come from a memo (`_words`) instead of re-running the
        regexes: "word," costs one prefix and one suffix search once "word" is known.
        """
        specials = self._rules if specials_on else {}
        if self._token_match and self._token_match(string):  # pragma: no cover - None for English
            return self._attach(string, specials)
        if string in specials:
            return list(specials[string])
        rest = self._words if specials_on else (lambda x: self._py_words(x, False) if x else [])
        m = self._prefix(string)
        pre_len = (m.end() - m.start()) if m is not None else 0
        prefix = string[:pre_len]
        if pre_len:
            minus_pre = string[pre_len:]
            if minus_pre and minus_pre in specials:
                return [prefix, *specials[minus_pre]]
        m = self._suffix(string[pre_len:])
        suf_len = (m.end() - m.start()) if m is not None else 0
        if suf_len:
            suffix = string[-suf_len:]
            minus_suf = string[:-suf_len]
            if minus_suf and minus_suf in specials:
                return [*specials[minus_suf], suffix]
            if pre_len and (pre_len + suf_len) <= len(string):
                return [prefix, *rest(string[pre_len:-suf_len]), suffix]
            if not pre_len:
                return [*rest(minus_suf), suffix]
        if pre_len:
            return [prefix, *rest(string[pre_len:])]
        return self._attach(string, specials)

    def _attach(self, string: str, specials: dict[str, list[str]]) -> list[str]:
        """`_attach_tokens` for a string no affix rule strips: special case, URL, or infix split."""
        if string in specials:
            return list(specials[string])
        if (self._token_match and self._token_match(string)) or (self._url_match and self._url_match(string)):
            return [string]
        out: list[str] = []
        start = 0
        for match in self._infix(string):
            i0, i1 = match.start(), match.end()
            if i0 == 0:
                continue
            if i0 != start:
                out.append(string[start:i0])
            if i0 != i1:
                out.append(string[i0:i1])
            start = i1
        if string[start:]:
            out.append(string[start:])
        return out

    def _words(self, chunk: str) -> list[str]:
        """Words of one chunk (memoised; the fast path for letters-only and ASCII digits-only chunks)."""
        if not chunk:
            return []
        w = self._memo.get(chunk)
        if w is None:
            if (chunk.isalpha() or (chunk.isascii() and chunk.isdigit())) and chunk not in self._rules:
                w = [chunk]
            else:
                w = self._py_words(chunk)
            self._memo[chunk] = w
        return w

    def _spacy_words(self, chunks: list[str], force_spacy: bool = False) -> list[list[str]]:
        """Words of each chunk, exactly spaCy's tokens.

        Every chunk goes through `_py_words`; chunks that contain a special case spaCy's matcher re-applies
        then go through `_apply_special_matches`. `force_spacy` asks spaCy itself instead (the reference
        the tests compare with; one call per ~200k characters).
        """
        out: list[list[str]] = [[] for _ in chunks]
        hard = []
        first = self._matcher_first
        first_keys = first.keys()
        for i, c in enumerate(chunks):
            if force_spacy:
                hard.append(i)
                continue
            ws = self._words(c)
            if first_keys.isdisjoint(ws):  # the common case, at C speed
                out[i] = ws
                continue
            for j, w in enumerate(ws):
                if w in first and any(ws[j:j + len(q)] == q for q in first[w]):
                    out[i] = self._apply_special_matches(ws)
                    break
            else:
                out[i] = ws
        tok = self._tokenizer() if hard else None
        start = 0
        while start < len(hard):
            group, size = [], 0
            while start < len(hard) and size < 200_000:
                group.append(hard[start])
                size += len(chunks[hard[start]]) + 1
                start += 1
            # "\n" between chunks becomes a whitespace token, so no special case can span two chunks
            text = "\n".join(chunks[i] for i in group)
            doc = tok(text)
            gi, cur = 0, out[group[0]]
            for t in doc:
                s = t.text
                if s.isspace():
                    gi += 1
                    cur = out[group[gi]] if gi < len(group) else []
                    continue
                cur.append(s)
        return out

    def _apply_special_matches(self, ws: list[str]) -> list[str]:
        """spaCy's `Tokenizer._apply_special_cases` on one chunk's words (no spaCy import: ~3.5 s of CPU).

        spaCy's PhraseMatcher finds every (possibly overlapping) run of words equal to a special case's
        words split without special cases; `_filter_special_spans` takes them longest first, then leftmost,
        keeps one whose first and last words are not yet covered by an earlier one (every visited span,
        kept or not, covers its words), and each kept span becomes the special case's own words. Spans
        never cross chunks (a pattern holds no whitespace token), so one chunk at a time is exact.
        """
        first = self._matcher_first
        spans = [(s, s + len(q)) for s, w in enumerate(ws) if w in first
                 for q in first[w] if ws[s:s + len(q)] == q]
        spans = sorted(set(spans), key=lambda m: (m[0] - m[1], m[0]))
        seen: set[int] = set()
        kept = []
        for s, e in spans:
            if s not in seen and (e - 1) not in seen:
                kept.append((s, e))
            seen.update(range(s, e))
        out: list[str] = []
        i = 0
        for s, e in sorted(kept):
            out.extend(ws[i:s])
            out.extend(self._rules["".join(ws[s:e])])
            i = e
        out.extend(ws[i:])
        return out

    def _tokenizer(self) -> Any:
        """spaCy's English Tokenizer over a bare Vocab (the same rules as `spacy.blank("en")`)."""
        if self._spacy_tok is None:
            from curation.imports import absent

            with absent("torch", "cupy"):  # thinc (under spaCy) would import torch, unused by a tokenizer
                from spacy.lang.en import English
                from spacy.tokenizer import Tokenizer
                from spacy.vocab import Vocab

            d = English.Defaults
            self._spacy_tok = Tokenizer(Vocab(), rules=d.tokenizer_exceptions, prefix_search=self._prefix,
                                        suffix_search=self._suffix, infix_finditer=self._infix,
                                        token_match=d.token_match, url_match=d.url_match)
        return self._spacy_tok

    def _register(self, new_chunks: list[str]) -> None:
        gc_was = gc.isenabled()
        gc.disable()  # millions of small lists: generational GC passes would dominate
        try:
            self._register_chunks(new_chunks)
        finally:
            if gc_was:
                gc.enable()

    def _register_chunks(self, new_chunks: list[str]) -> None:
        words = self._spacy_words(new_chunks)
        counts = list(map(len, words))
        offs = np.cumsum([len(self._flat), *counts[:-1]]).tolist() if counts else []
        self._c_off.extend(offs)
        self._c_n.extend(counts)
        self._c_len.extend(map(len, new_chunks))
        self._flat.extend(map(self.tokens.__getitem__, itertools.chain.from_iterable(words)))
        self._add_token_props(self.tokens.new)
        self.tokens.new.clear()
        self._arrays_dirty = True

    def _arrays(self) -> None:
        if not self._arrays_dirty:
            return
        self.c_off = np.asarray(self._c_off, dtype=np.int64)
        self.c_n = np.asarray(self._c_n, dtype=np.int64)
        self.c_len = np.asarray(self._c_len, dtype=np.int64)
        self.flat = np.asarray(self._flat, dtype=np.int32)
        self.p_len = np.asarray(self.t_len, dtype=np.int64)
        self.p_nonsym = np.asarray(self.t_nonsym, dtype=bool)
        self.p_alpha = np.asarray(self.t_alpha, dtype=bool)
        self.p_stop = np.asarray(self.t_stop, dtype=np.int8)
        self.p_ispunct = np.asarray(self.t_ispunct, dtype=bool)
        self.p_sentp = np.asarray(self.t_sentp, dtype=bool)
        self.p_chash = np.asarray(self.t_chash, dtype=np.uint64)
        self.p_rand = np.asarray(self.t_rand, dtype=np.uint64)
        self._arrays_dirty = False

    # ---------------------------------------------------------------- batch tokenization
    def _set_separators(self, k: int) -> None:
        """Reserve chunk ids 0 and 1 for the line and document separators (strings absent from the text)."""
        self._sep_k = k
        self._sep_line, self._sep_doc = f"\x00\ufdd0L{k}", f"\x00\ufdd0D{k}"
        self._c_off += [0, 0]
        self._c_n += [0, 0]
        self._c_len += [0, 0]
        self.chunks[self._sep_line] = 0
        self.chunks[self._sep_doc] = 1
        self.chunks.new.clear()

    def _check_separators(self, texts: pl.Series) -> None:
        if not texts.str.contains("\x00\ufdd0", literal=True).any():
            return
        k = self._sep_k

        def used(k: int) -> bool:
            return bool(texts.str.contains(f"\x00\ufdd0L{k}", literal=True).any()
                        or texts.str.contains(f"\x00\ufdd0D{k}", literal=True).any())

        while used(k):
            k += 1
        if k != self._sep_k:  # a text holds our separator: start a cache with fresh separators
            self.reset(k)

    def tokenize(self, texts: pl.Series) -> Tokens:
        """Words of every text (datatrove's `split_into_words`), with line ids (`str.splitlines()` lines).

        Lines are numbered exactly as `str.splitlines()` would split them, plus one empty last line when
        a text ends with a line break (harmless: C4 ignores lines with fewer than 3 words).
        """
        if len(self.chunks) > MAX_CHUNKS:
            self.reset()
        self._check_separators(texts)
        sep_line, sep_doc = self._sep_line, self._sep_doc
        n_docs = len(texts)
        joined = texts.fill_null("").str.replace_all(SPLITLINES_RE, f" {sep_line} ").str.join(f" {sep_doc} ")
        chunks = joined.item().split() if n_docs else []
        cid = np.fromiter(map(self.chunks.__getitem__, chunks), dtype=np.int64, count=len(chunks))
        if self.chunks.new:
            self._register(self.chunks.new)
            self.chunks.new.clear()
        self._arrays()
        del chunks
        # chunk-level structure: separators mark line and document ends
        is_doc_sep = cid == 1
        is_sep = cid <= 1
        line_of_chunk = np.cumsum(is_sep) - is_sep  # separator belongs to the line it closes
        n_lines = int(is_sep.sum()) + (1 if n_docs else 0)
        doc_of_line = np.zeros(n_lines, dtype=np.int64)
        if n_docs:
            seps = np.flatnonzero(is_sep)
            # line k (k < n_lines-1) is closed by separator k; a doc separator starts a new document
            closes_doc = is_doc_sep[seps]
            doc_of_line[1:] = np.cumsum(closes_doc)
        body = ~is_sep
        bc = cid[body]
        bline = line_of_chunk[body]
        line_chunks = np.bincount(bline, minlength=n_lines).astype(np.int64)
        # expand chunks -> tokens
        counts = self.c_n[bc]
        total = int(counts.sum())
        starts = np.cumsum(counts) - counts
        idx = np.repeat(self.c_off[bc] - starts, counts) + np.arange(total, dtype=np.int64)
        tok = self.flat[idx]
        line = np.repeat(bline, counts)
        doc = doc_of_line[line]
        line_start = np.zeros(n_lines + 1, dtype=np.int64)
        np.cumsum(np.bincount(line, minlength=n_lines), out=line_start[1:])
        doc_start = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc, minlength=n_docs), out=doc_start[1:])
        return Tokens(tok=tok, doc=doc, line=line, doc_start=doc_start, line_start=line_start,
                      line_doc=doc_of_line, line_chunks=line_chunks, chunk_line=bline, chunk_len=self.c_len[bc],
                      chunk_tokens=counts)

    def line_token_ids(self, line: str) -> list[int]:
        """spaCy's tokens of one line as ids, whitespace tokens included as -1 (sentence splitting needs them).

        A whitespace run becomes a token unless it is a single " " (which spaCy keeps as trailing space);
        a leading run is always a token. For the rare lines C4 changes or that hold odd whitespace.
        """
        out: list[int] = []
        pieces = _WS_SPLIT.split(line)
        pending = [p for i, p in enumerate(pieces) if i % 2 == 0 and p and p not in self.chunks]
        if pending:
            for p in pending:
                self.chunks[p]
            self._register(self.chunks.new)
            self.chunks.new.clear()
        for i, p in enumerate(pieces):
            if not p:
                continue
            if i % 2:  # whitespace run
                if (i == 1 and not pieces[0]) or p != " ":
                    out.append(-1)
            else:
                c = self.chunks[p]
                o, n = self._c_off[c], self._c_n[c]
                out.extend(self._flat[o:o + n])
        return out

    def words_of(self, text: str) -> list[str]:
        """The words of one text as strings (tests and debugging)."""
        t = self.tokenize(pl.Series([text]))
        inv = list(self.tokens)
        return [inv[i] for i in t.tok]


_CACHE: WordCache | None = None


def word_cache() -> WordCache:
    """The process-wide cache (built on first use: loading spaCy takes ~1 s)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = WordCache()
    return _CACHE
