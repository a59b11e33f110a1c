"""C4QualityFilter's line filter, vectorised: which lines survive, why the others go, and sentence counts.

datatrove's C4 filter walks the `str.splitlines()` lines of a document. A line is dropped (not the
document) when it has a word over 1000 characters, does not end in terminal punctuation after removing
citations, has fewer than 3 words, mentions javascript or a cookie/terms policy. The document is
dropped when a surviving-so-far line holds "lorem ipsum" or "{", or when the kept lines hold fewer than
5 sentences (spaCy's sentencizer, run per line). A passing document's text is REPLACED by its kept lines
joined with "\\n" (`kept_text` below), which is what the next filter in datatrove's chain (FineWeb) reads.

Sentence counting follows spaCy's `Sentencizer.predict`: a new sentence starts at the first token that
is neither punctuation nor a sentence-final character after a sentence-final token. Over the cached
word ids this is a few numpy operations; lines where spaCy would also emit whitespace tokens (runs of
whitespace other than one space, or lines changed by citation removal) take an exact per-line path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curation.heuristics.chars import CITATION_RE, NON_WS, PY_WHITESPACE, SPLITLINES_RE, WS
from curation.heuristics.words import Tokens, WordCache

END_PUNCTUATION = (".", "?", "!", '"', "'")
# The C4 paper (Raffel et al. 2020, 2.2) keeps lines ending in "a period, exclamation mark, question mark, or
# end quotation mark"; datatrove's list has only the straight quotes, so a line ending in a closing curly
# quote (news prose: `he said.”`) is dropped there. `sentences_paper` counts with these too.
PAPER_END_QUOTES = ("\u201d", "\u2019", "\u00bb")
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")


@dataclass(frozen=True)
class C4Params:
    """The parameters of datatrove's C4QualityFilter that change its statistics (split_paragraph=True)."""

    remove_citations: bool = True
    filter_no_terminal_punct: bool = True
    min_words_per_line: int = 3
    max_word_length: int = 1000
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


@dataclass
class C4Lines:
    """Per-line outcome (one row per line of every document) and per-document totals."""

    lines: pl.DataFrame  # doc, text (after citation removal), kept, reason flags, n_tokens, sentences
    docs: pl.DataFrame   # one row per document: the C4 statistics


def _sentences_vectorised(tk: Tokens, cache: WordCache, line_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sentences and words per line for lines in `line_mask` (their cached words are exact)."""
    n_lines = len(line_mask)
    sel = line_mask[tk.line]
    tok = tk.tok[sel]
    line = tk.line[sel]
    n_tok = np.bincount(line, minlength=n_lines)
    if not tok.size:
        return np.zeros(n_lines, dtype=np.int64), n_tok
    per = cache.p_sentp[tok]
    punct = cache.p_ispunct[tok] | per
    line_first = np.zeros(n_lines + 1, dtype=np.int64)
    np.cumsum(n_tok, out=line_first[1:])
    nonp = np.flatnonzero(~punct)
    # reference point: the previous non-punctuation word of the same line, else the line's start - 1
    prev = np.r_[-1, nonp[:-1]]
    ref = np.maximum(prev, line_first[line[nonp]] - 1)
    cper = np.zeros(tok.size + 1, dtype=np.int64)
    np.cumsum(per, out=cper[1:])
    boundary = (cper[nonp] - cper[ref + 1]) > 0
    sents = np.bincount(line[nonp], weights=boundary, minlength=n_lines).astype(np.int64)
    sents += (n_tok > 0)
    return sents, n_tok


def _sentences_exact(ids: list[int], cache: WordCache) -> int:
    """spaCy's sentencizer on one line's token ids (-1 = a whitespace token)."""
    if not ids:
        return 0
    sentp, ispunct = cache.t_sentp, cache.t_ispunct
    seen = False
    n = 1
    for t in ids:
        inp = t >= 0 and sentp[t]
        if seen and not inp and not (t >= 0 and ispunct[t]):
            n += 1
            seen = False
        elif inp:
            seen = True
    return n


def _split_lines(texts: pl.Series) -> pl.DataFrame:
    """One row per `str.splitlines()` line (`doc`, `raw`), plus an empty last line after a final break."""
    return (pl.DataFrame({"text": texts}).with_row_index("doc")
            .select(pl.col("doc").cast(pl.Int64),
                    pl.col("text").fill_null("").str.replace_all(SPLITLINES_RE, "\n").str.split("\n").alias("raw"))
            .explode("raw"))


def _chunk_stats(lines: pl.DataFrame, max_word_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Per line: `len(line.split())` and whether a whitespace-separated word is longer than `max_word_length`.

    Without the batch's words (what `c4_clean` needs): only lines longer than the limit can hold such a word.
    """
    f = lines.select(n=pl.col("raw").str.count_matches(f"{NON_WS}+"), long=pl.col("raw").str.len_chars())
    n_words = f["n"].cast(pl.Int64).to_numpy()
    long_word = np.zeros(lines.height, dtype=bool)
    if max_word_length != -1:
        idx = np.flatnonzero(f["long"].to_numpy() > max_word_length)
        for i, line in zip(idx, lines["raw"].gather(idx).to_list(), strict=True):
            long_word[i] = max(map(len, line.split()), default=0) > max_word_length
    return n_words, long_word


def c4_line_rules(texts: pl.Series, p: C4Params, tk: Tokens | None = None) -> pl.DataFrame:
    """C4's line rules over a batch: one row per line with `kept` and the reason flags (no sentences).

    `tk` (the batch's words, with splitlines line ids) supplies the word counts; without it they come
    from the lines themselves.
    """
    lines = _split_lines(texts)
    if tk is not None:
        if lines.height != len(tk.line_chunks):  # pragma: no cover - both split on the same breaks
            raise RuntimeError(f"C4 line split mismatch: {lines.height} lines vs {len(tk.line_chunks)}")
        n_words = tk.line_chunks
        long_word = np.zeros(lines.height, dtype=bool)
        if p.max_word_length != -1:
            long_word[tk.chunk_line[tk.chunk_len > p.max_word_length]] = True
    else:
        n_words, long_word = _chunk_stats(lines, p.max_word_length)
    stripped = pl.col("raw").str.strip_chars(PY_WHITESPACE)
    cited = stripped.str.replace_all(CITATION_RE, "") if p.remove_citations else stripped
    lines = lines.with_columns(text=cited, n_words=pl.Series(n_words), long_word=pl.Series(long_word))
    t = pl.col("text")
    low = t.str.to_lowercase()
    ends = pl.any_horizontal([t.str.ends_with(e) for e in END_PUNCTUATION])
    no_punct = (~ends | t.str.ends_with("...")) if p.filter_no_terminal_punct else pl.lit(False)
    quote_end = pl.any_horizontal([t.str.ends_with(e) for e in PAPER_END_QUOTES])
    few = pl.col("n_words") < p.min_words_per_line
    lines = lines.with_columns(
        no_punct=~pl.col("long_word") & no_punct,
        few_words=~pl.col("long_word") & ~no_punct & few,
        # a line only the paper's rule keeps: it ends in a closing curly quote and passes the other checks
        quote_only=(~pl.col("long_word") & no_punct & quote_end & ~few) if p.filter_no_terminal_punct
        else pl.lit(False),
    ).with_columns(eligible=~pl.col("long_word") & ~pl.col("no_punct") & ~pl.col("few_words"))
    # what each line mentions, computed once (on the lowercased text, itself computed once)
    off = pl.lit(False)
    lines = lines.with_columns(_low=low).with_columns(
        _lorem=pl.col("_low").str.contains("lorem ipsum", literal=True) if p.filter_lorem_ipsum else off,
        _js=pl.col("_low").str.contains("javascript", literal=True) if p.filter_javascript else off,
        _curly=t.str.contains("{", literal=True) if p.filter_curly_bracket else off,
        _policy=pl.col("_low").str.contains_any(list(POLICY_SUBSTRINGS)) if p.filter_policy else off,
    ).drop("_low")
    e = pl.col("eligible")
    m_lorem, m_js, m_curly, m_policy = pl.col("_lorem"), pl.col("_js"), pl.col("_curly"), pl.col("_policy")
    lorem = e & m_lorem
    js = e & ~m_lorem & m_js
    curly = e & ~m_lorem & ~m_js & m_curly
    policy = e & ~m_lorem & ~m_js & ~m_curly & m_policy
    q = pl.col("quote_only")
    q_drop = m_lorem | m_js | m_curly | m_policy
    lines = lines.with_columns(lorem=lorem, javascript=js, curly=curly, policy=policy).with_columns(
        kept=e & ~pl.col("lorem") & ~pl.col("javascript") & ~pl.col("curly") & ~pl.col("policy"),
        kept_paper_only=q & ~q_drop,
        # lines whose cached words are not spaCy's exact tokens of the kept text
        odd=(t != stripped) | t.str.contains(f"{WS}{{2,}}|[{WS[1:-1]}&&[^ ]]"),
    ).drop("_lorem", "_js", "_curly", "_policy")
    return lines


def c4_lines(texts: pl.Series, tk: Tokens, cache: WordCache, p: C4Params) -> C4Lines:
    """Run C4's line filter over a batch, with sentence counts; `tk` are the batch's words."""
    n_docs = len(texts)
    lines = c4_line_rules(texts, p, tk)
    kept = lines["kept"].to_numpy()
    counted = kept | lines["kept_paper_only"].to_numpy()
    odd = lines["odd"].to_numpy()
    sents, n_tok = _sentences_vectorised(tk, cache, counted & ~odd)
    sents = sents.copy()
    n_tok = n_tok.copy()
    odd_idx = np.flatnonzero(counted & odd)
    if odd_idx.size:
        texts_odd = lines["text"].gather(odd_idx).to_list()
        for i, s in zip(odd_idx, texts_odd, strict=True):
            ids = cache.line_token_ids(s)
            sents[i] = _sentences_exact(ids, cache)
            n_tok[i] = sum(1 for x in ids if x >= 0)
    lines = lines.with_columns(sentences=pl.Series(sents), n_tokens=pl.Series(n_tok))
    kept_expr = pl.col("kept")
    docs = (lines.group_by("doc").agg(
        lines=pl.len().cast(pl.Int64),
        kept_lines=kept_expr.sum().cast(pl.Int64),
        lorem_ipsum=pl.col("lorem").any(),
        curly_bracket=pl.col("curly").any(),
        sentences=pl.col("sentences").filter(kept_expr).sum().cast(pl.Int64),
        sentences_paper=pl.col("sentences").filter(kept_expr | pl.col("kept_paper_only")).sum().cast(pl.Int64),
        javascript_lines=pl.col("javascript").sum().cast(pl.Int64),
        policy_lines=pl.col("policy").sum().cast(pl.Int64),
        no_terminal_punct_lines=pl.col("no_punct").sum().cast(pl.Int64),
        few_words_lines=pl.col("few_words").sum().cast(pl.Int64),
        long_word_lines=pl.col("long_word").sum().cast(pl.Int64),
    ))
    full = pl.DataFrame({"doc": pl.int_range(0, n_docs, eager=True, dtype=pl.Int64)})
    docs = full.join(docs, on="doc", how="left").sort("doc")
    return C4Lines(lines=lines, docs=docs)


def kept_text(c4: C4Lines | pl.DataFrame, n_docs: int) -> pl.Series:
    """The text datatrove's C4 filter passes on: kept lines joined with "\\n", then stripped.

    `c4`: `c4_lines`' result or `c4_line_rules`' lines."""
    lines = c4.lines if isinstance(c4, C4Lines) else c4
    agg = (lines.filter(pl.col("kept")).group_by("doc", maintain_order=True)
           .agg(pl.col("text").str.join("\n")))
    full = pl.DataFrame({"doc": pl.int_range(0, n_docs, eager=True, dtype=pl.Int64)})
    return (full.join(agg, on="doc", how="left").sort("doc")
            .select(pl.col("text").fill_null("").str.strip_chars(PY_WHITESPACE))["text"])
