"""Batch PII detection with Presidio's recognizers: one regex pass per pattern over a whole batch.

`AnalyzerEngine.analyze` runs every recognizer's every regex once per document, builds Python objects for
each match and runs `phonenumbers` over the full text once per phone region. Here the documents of a batch
are joined into one buffer (separated by a blank line) and each Presidio pattern is run once over it with
the same `regex` flags; a match is mapped back to its document with a binary search over the offsets. A
match that runs across a separator (a pattern that may span newlines) is discarded and that pattern is
re-run on the documents involved alone, so results equal a per-document run. Checksums and validators are
Presidio's own (`validate_result` / `invalidate_result`), cached per distinct matched string. Phone numbers
use `phonenumbers.PhoneNumberMatcher` exactly as `PhoneRecognizer` does (same regions and leniency) but only
on candidate windows: each match of phonenumbers' own candidate pattern with at least 4 digits, plus the one
character on either side that the matcher's boundary check reads.

After Presidio's steps (per-recognizer duplicate removal, context words, global duplicate removal), the
engine fixes two weak spots measured in STACK.md (`fix_overlaps`): a PHONE_NUMBER that overlaps an
IP_ADDRESS is dropped (IPv4 addresses read as phones) and a URL that overlaps an EMAIL_ADDRESS is dropped
(parts of email addresses read as URLs). Neither fix removes a span of the entity that is kept, so recall is
unchanged. With an NER model (see `ner.py`), its PERSON/LOCATION/NRP/DATE_TIME spans join the same final
duplicate removal, as Presidio's `SpacyRecognizer` results do.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np

from curation.pii.phone_candidates import candidate_runs, consumable_ascii, decimal_digits
from curation.pii.prefilter import Utf8Text, candidate_starts, re2_scanners
from curation.pii.recognizers import RecognizerSet, build_recognizer_set, email_is_valid

Span = tuple[str, int, int, float]  # entity_type, start, end, score (character offsets, end exclusive)

SEPARATOR = "\n\n"
CONTEXT_FACTOR = 0.35  # LemmaContextAwareEnhancer defaults
CONTEXT_MIN_SCORE = 0.4
CONTEXT_PREFIX_WORDS = 5
_WORD = re.compile(r"\w+")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")  # str.isalpha()'s letters, found in C
try:
    from phonenumbers.phonenumbermatcher import _TIME_STAMPS_SUFFIX as _TIME_SUFFIX
except ImportError:  # internals moved: fall back to full text windows (slower, same results)
    _TIME_SUFFIX = None
MIN_PHONE_DIGITS = 4
_PHONE_SCORE = 0.4  # PhoneRecognizer.SCORE  # no 3-digit candidate is a phone in Presidio's default regions (measured)


def token_safe(pattern: str) -> bool:
    """True when a regex can never match whitespace (nor use ^/$), so each match lies inside one
    whitespace-delimited token and the pattern can run over the interesting tokens only."""
    s = pattern.replace("[^\\s", "[")  # a negated class that excludes whitespace cannot match it
    s = re.sub(r"\\.", lambda m: "\x00" if m.group() in (r"\s", r"\W", r"\D") else "x", s)
    s = re.sub(r"\[[^\]]*\]", lambda m: "\x00" if (" " in m.group() or m.group().startswith("[^")) else "c", s)
    s = s.replace("(?", "")
    return not any(ch in s for ch in ("\x00", " ", ".", "^", "$"))


def anchored_finditer(compiled: Any, starts: np.ndarray, buf: str) -> list[Any]:
    """`compiled.finditer(buf)` when every match starts at one of `starts` (sorted; a superset is fine):
    the pattern is tried only there (lookbehinds still see the text before each position), giving the same
    leftmost, non-overlapping matches."""
    out = []
    last_end = 0
    for pos in starts.tolist():
        if pos < last_end:
            continue
        m = compiled.match(buf, pos)
        if m is not None and m.end() > m.start():
            out.append(m)
            last_end = m.end()
    return out


def _iban_starts(views: TokenViews) -> np.ndarray:
    """Where Presidio's IBAN regex can start: two characters its case-insensitive `[A-Z]` can match (ASCII
    letters; any non-ASCII character, a superset covering the Kelvin sign and long s) and two ASCII digits."""
    a = views.letter | views.nonascii
    d = views.digit
    return np.nonzero(a[:-3] & a[1:-2] & d[2:-1] & d[3:])[0] if d.size >= 4 else np.zeros(0, dtype=np.int64)


@functools.cache
def _anchor_regex(anchor: str) -> Any:
    import regex

    return regex.compile(anchor)


def _regex_starts(anchor: str) -> Any:
    def starts(views: TokenViews) -> np.ndarray:
        rx = _anchor_regex(anchor)
        return np.fromiter((m.start() for m in rx.finditer(views.buf, overlapped=True)), dtype=np.int64)
    return starts


# Patterns that may span spaces (so cannot run on token views) but must begin with a fixed shape are tried
# only where that shape occurs: (prefix of a Presidio regex, positions where a match of it can start).
# The anchors are flag-free ASCII scans, ~10x faster than the full case-insensitive pattern with its `\b`.
# A regex not listed is scanned whole; tests check each listed one against a full scan.
_ANCHORS = (
    ("(?<![A-Z0-9])([A-Z]{2}[0-9]{2}", _iban_starts),  # IBAN_CODE
    (r"\b([0-9]{3})[- .]([0-9]{2})[- .]", _regex_starts(r"[0-9]{3}[- .][0-9]{2}[- .]")),  # US_SSN (SSN5)
    (r"\b([0-9]{3})[- ]?([0-9]{3})", _regex_starts(r"(?<![0-9])[0-9]{3}[- ]?[0-9]{3}")),  # UK_NHS
)


def anchor_for(pattern: str) -> Any | None:
    """The start-position finder for a pattern (see `_ANCHORS`), or None to scan the whole buffer."""
    return next((starts for prefix, starts in _ANCHORS if pattern.startswith(prefix)), None)


def remove_duplicates(spans: list[Span]) -> list[Span]:
    """Presidio's `EntityRecognizer.remove_duplicates`: drop zero scores and spans contained in another
    span of the same type with an equal or higher score."""
    if len(spans) < 2:
        return [s for s in spans if s[3] > 0]
    ordered = sorted(set(spans), key=lambda x: (x[0], x[1], -(x[2] - x[1]), -x[3]))
    out: list[Span] = []
    active: list[Span] = []
    ent = None
    for s in ordered:
        if s[3] == 0:
            continue
        if s[0] != ent:
            ent, active = s[0], []
        active = [a for a in active if a[2] >= s[1]]
        if any(a[1] <= s[1] and s[2] <= a[2] and s[3] <= a[3] for a in active):
            continue
        out.append(s)
        active.append(s)
    return out


# A phone number inside one of these (with a higher score) is a reading of that value, not a phone:
# IPv4 addresses, Luhn-valid cards, mod-97-valid IBANs, SSNs, dates, emails and URLs. UK_NHS is left out on
# purpose: about 1 in 11 real 10-digit phone numbers passes its checksum.
PHONE_BLOCKERS = frozenset({"IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "DATE_TIME", "EMAIL_ADDRESS",
                            "URL"})


_NHS_CONTEXT = ("nhs", "health")


def fix_overlaps(spans: list[Span], text: str | None = None) -> list[Span]:
    """Presidio's weak spots: drop PHONE_NUMBER spans overlapping an IP_ADDRESS or lying inside a
    higher-scored blocker span (`PHONE_BLOCKERS`), URL spans overlapping an EMAIL_ADDRESS, and (given the
    text) a UK_NHS reading of a phone number unless NHS context words precede it: the NHS mod-11 checksum
    accepts about 1 in 11 ten-digit phone numbers."""
    phones = [(s[1], s[2]) for s in spans if s[0] == "PHONE_NUMBER"]
    if text is not None and phones:
        def nhs_context(start: int) -> bool:
            prev = [w.lower() for w in _WORD.findall(text, max(0, start - 120), start)[-CONTEXT_PREFIX_WORDS:]]
            return any(c in w for c in _NHS_CONTEXT for w in prev)

        spans = [s for s in spans if not (s[0] == "UK_NHS" and any(a < s[2] and s[1] < b for a, b in phones)
                                          and not nhs_context(s[1]))]
    ips = [(s[1], s[2]) for s in spans if s[0] == "IP_ADDRESS"]
    mails = [(s[1], s[2]) for s in spans if s[0] == "EMAIL_ADDRESS"]
    blockers = [s for s in spans if s[0] in PHONE_BLOCKERS]
    if not blockers:
        return spans
    out = []
    for s in spans:
        if s[0] == "PHONE_NUMBER":
            if any(a < s[2] and s[1] < b for a, b in ips):
                continue
            if any(b[1] <= s[1] and s[2] <= b[2] and b[3] > s[3] for b in blockers):
                continue
        elif s[0] == "URL" and any(a < s[2] and s[1] < b for a, b in mails):
            continue
        out.append(s)
    return out


def drop_ner_inside_patterns(ner: list[Span], patterns: list[Span], min_score: float = 0.4) -> list[Span]:
    """Drop NER spans lying inside a pattern span of another type (spaCy's small model tags the digits
    of phone numbers and cards as DATE, for example)."""
    strong = [p for p in patterns if p[3] >= min_score]
    if not strong:
        return ner
    return [n for n in ner if not any(p[0] != n[0] and p[1] <= n[1] and n[2] <= p[2] for p in strong)]


class PiiEngine:
    """Detects PII in batches of texts; `analyze_batch(texts)` -> one list of spans per text."""

    def __init__(self, entities: list[str] | None = None, *, language: str = "en",
                 use_context: bool = True, fix: bool = True, score_threshold: float = 0.0,
                 ner: Any | None = None) -> None:
        self.recognizers: RecognizerSet = build_recognizer_set(language, entities)
        self.use_context = use_context
        self.fix = fix
        self.score_threshold = score_threshold
        self.ner = ner
        self._valid_cache: dict[int, dict[str, float]] = defaultdict(dict)
        self._phone_cache: dict[str, list[tuple[int, int]]] = {}
        self._phone_pattern = _phone_candidate_pattern()
        self._phone_min_len: dict[str, int] | None = None
        self._token_safe = [token_safe(j.regex) for j in self.recognizers.jobs]
        self._anchors = [anchor_for(j.regex) for j in self.recognizers.jobs]
        # RE2 finds where the rest can start (see prefilter.py); the anchored ones are cheaper as they are
        scan = [i for i, a in enumerate(self._anchors) if a is None]
        self._scanners: list[Any | None] = [None] * len(self._anchors)
        jobs = self.recognizers.jobs
        for i, sc in zip(scan, re2_scanners([(jobs[i].regex, jobs[i].flags) for i in scan]), strict=True):
            self._scanners[i] = sc

    @property
    def entities(self) -> list[str]:
        ents = set(self.recognizers.entities)
        if self.ner is not None:
            ents |= set(self.ner.entities)
        return sorted(ents)

    # -- pattern recognizers -------------------------------------------------------------------
    def _score(self, job_idx: int, job: Any, text: str) -> float:
        cache = self._valid_cache[job_idx]
        hit = cache.get(text)
        if hit is not None:
            return hit
        rec = job.recognizer
        score = job.score
        valid = email_is_valid(text) if job.entity == "EMAIL_ADDRESS" else rec.validate_result(text)
        if valid is not None:
            score = 1.0 if valid else 0.0
        if not job.iban_groups:
            inval = rec.invalidate_result(text)
            if inval:
                score = 0.0
        if len(cache) > 100_000:  # bounded memory on long runs
            cache.clear()
        cache[text] = score
        return score

    def _iban_match(self, job_idx: int, job: Any, text: str, base: int, m: Any) -> Span | None:
        """IbanRecognizer's own analyze: keep the longest prefix (by trailing group) that validates."""
        start = m.start(0)
        for g in range(len(m.groups()), 0, -1):
            ge = m.span(g)[1]
            end = ge if ge > 0 else m.end(0)
            cur = text[start - base:end - base]
            if not cur:
                continue
            score = self._score(job_idx, job, cur)
            if score > 0:
                return (job.entity, start - base, end - base, score)
        return None

    def _patterns(self, texts: list[str], per_rec: dict[tuple[int, int], list[Span]],
                  batch: Batch | None = None) -> None:
        batch = batch or Batch(texts)
        starts, ends, buf, views = batch.starts, batch.ends, batch.buf, batch.views
        rec_ids = {id(j.recognizer): i for i, j in enumerate(self.recognizers.jobs)}
        for ji, job in enumerate(self.recognizers.jobs):
            on_sub = self._token_safe[ji] and not job.iban_groups
            kind = _VIEW_FOR_ENTITY.get(job.entity, "any") if on_sub else None
            if on_sub:
                sub, submap = views.view(kind)
            if self._scanners[ji] is not None:  # the regex is compiled only once RE2 finds a place to try it
                cand = candidate_starts(self._scanners[ji], views.utf8(kind))
                ms = anchored_finditer(job.compiled, cand, sub if on_sub else buf) if cand.size else []
            elif on_sub:
                ms = list(job.compiled.finditer(sub))
            elif self._anchors[ji] is not None:
                ms = anchored_finditer(job.compiled, self._anchors[ji](views), buf)
            else:
                ms = list(job.compiled.finditer(buf))
            if not ms:
                continue
            mstart = np.fromiter((m.start() for m in ms), dtype=np.int64, count=len(ms))
            mend = np.fromiter((m.end() for m in ms), dtype=np.int64, count=len(ms))
            keep = mend > mstart
            if on_sub:  # back to offsets in the joined buffer (a match lies inside one token)
                mstart = np.where(keep, submap[mstart], 0)
                mend = np.where(keep, submap[np.maximum(mend - 1, 0)] + 1, 0)
            doc = np.searchsorted(starts, mstart, side="right") - 1
            bad = keep & (mend > ends[doc])
            redo: set[int] = set()
            if bad.any():
                last = np.searchsorted(starts, mend[bad] - 1, side="right") - 1
                for a, b in zip(doc[bad].tolist(), last.tolist(), strict=True):
                    redo.update(range(a, b + 1))
            rid = rec_ids[id(job.recognizer)]
            for k, (d, s, e, ok) in enumerate(zip(doc.tolist(), mstart.tolist(), mend.tolist(), keep.tolist(),
                                                  strict=True)):
                if not ok or d in redo:
                    continue
                if job.iban_groups:
                    span = self._iban_match(ji, job, texts[d], int(starts[d]), ms[k])
                else:
                    b = int(starts[d])
                    sc = self._score(ji, job, buf[s:e])
                    span = (job.entity, s - b, e - b, sc) if sc > 0 else None
                if span is not None:
                    per_rec[(d, rid)].append(span)
            for d in sorted(redo):
                for m in job.compiled.finditer(texts[d]):
                    if m.end() == m.start():
                        continue
                    if job.iban_groups:
                        span = self._iban_match(ji, job, texts[d], 0, m)
                    else:
                        sc = self._score(ji, job, m.group())
                        span = (job.entity, m.start(), m.end(), sc) if sc > 0 else None
                    if span is not None:
                        per_rec[(d, rid)].append(span)

    # -- phone numbers -----------------------------------------------------------------------
    def _phones_in_window(self, window: str, regions: tuple[str, ...] | None = None) -> list[tuple[int, int]]:
        """Presidio's PhoneRecognizer spans in `window`, over `regions` (default: all it supports)."""
        hit = self._phone_cache.get(window)
        if hit is not None:
            return hit
        import phonenumbers

        rec = self.recognizers.phone
        found: set[tuple[int, int]] = set()
        whole = self._whole_candidate(window)
        for region in rec.supported_regions if regions is None else regions:
            for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=rec.leniency):
                found.add((match.start, match.end))
            # every later region's match lies inside the whole candidate and would be dropped by
            # remove_duplicates (same 0.4 score, contained): stop early, same final spans
            if whole in found:
                break
        out = sorted(found)
        if len(self._phone_cache) > 200_000:
            self._phone_cache.clear()
        self._phone_cache[window] = out
        return out

    def _phone_regions(self, candidate: str, n_digits: int, first_digit: str) -> tuple[str, ...]:
        """The supported regions in which `candidate` could be a valid number. A number written without
        "+", without letters (vanity numbers) and not starting with 0 (every region's international
        prefix does) is read as a national number of the region, and a valid national number has at
        least that region's shortest possible length: with fewer digits, the matcher finds nothing
        there. "2013" is tried only as a German number, not in all eight regions."""
        regions = self.recognizers.phone.supported_regions
        if "+" in candidate or _LETTER.search(candidate):
            return tuple(regions)
        if not n_digits or first_digit == "0":
            return tuple(regions)
        if self._phone_min_len is None:
            self._phone_min_len = _shortest_national_numbers(regions)
        n = n_digits
        return tuple(r for r in regions if n >= self._phone_min_len.get(r, 0))

    def _whole_candidate(self, window: str) -> tuple[int, int] | None:
        if self._phone_pattern is None:
            return None
        m = self._phone_pattern.search(window)
        return m.span() if m else None

    def _phone_candidates(self, texts: list[str], batch: Batch) -> Iterator[tuple[int, int, int, int]]:
        """(document, start, end, digits) of each match of phonenumbers' candidate pattern with at least
        `MIN_PHONE_DIGITS` digits, in document order: searched only in the runs of the batch that can hold one
        (see `phone_candidates.py`), or in every whole document when that reading is not available."""
        pat = self._phone_pattern
        table = consumable_ascii(pat.pattern, pat.flags)
        if table is None or not batch.buf:
            for d, text in enumerate(texts):
                for m in pat.finditer(text):
                    s, e = m.span()
                    n = len(_DIGIT.findall(text, s, e))
                    if n >= MIN_PHONE_DIGITS:
                        yield d, s, e, n
            return
        cp = batch.views.cp
        cd = np.zeros(cp.size + 1, dtype=np.int32)
        np.cumsum(decimal_digits(cp), dtype=np.int32, out=cd[1:])
        runs = candidate_runs(cp, table, cd, MIN_PHONE_DIGITS)
        if not len(runs):
            return
        docs = (np.searchsorted(batch.starts, runs[:, 0], side="right") - 1).tolist()
        bases = batch.starts.tolist()
        buf = batch.buf
        for (rs, rend), d in zip(runs.tolist(), docs, strict=True):
            base = bases[d]
            for m in pat.finditer(buf, rs, rend):
                s, e = m.span()
                n = int(cd[e] - cd[s])
                if n >= MIN_PHONE_DIGITS:
                    yield d, s - base, e - base, n

    def _phones(self, texts: list[str], per_rec: dict[tuple[int, int], list[Span]],
                blockers: list[list[tuple[int, int]]] | None = None, batch: Batch | None = None) -> None:
        """Phone spans; with `blockers`, a candidate inside one is skipped (`fix_overlaps` would drop
        any phone found in it, since phones score 0.4 and every blocker scores more)."""
        rec = self.recognizers.phone
        if rec is None:
            return
        rid = -1
        score = float(rec.SCORE)
        if self._phone_pattern is None:
            for d, text in enumerate(texts):
                for a, b in self._phones_in_window(text):
                    per_rec[(d, rid)].append(("PHONE_NUMBER", a, b, score))
            return
        for d, s, e, n in self._phone_candidates(texts, batch or Batch(texts)):
            text = texts[d]
            blk = blockers[d] if blockers else None
            if blk and any(a <= s and e <= b for a, b in blk):
                continue
            # the matcher reads only the character before and after a candidate (and ":ss" after a
            # time stamp), so the window is the candidate between canonical stand-ins for those
            pre = _char_class(text[s - 1]) if s > 0 else ""
            if _TIME_SUFFIX is not None and _TIME_SUFFIX.match(text, e):
                post = text[e:e + 3]
            else:
                post = _char_class(text[e]) if e < len(text) else ""
            ws = s - len(pre)
            if _only_short_parts(text[s:e], pre, post):
                continue
            window = pre + text[s:e] + post
            hit = self._phone_cache.get(window)
            if hit is None:
                regions = self._phone_regions(text[s:e], n, _DIGIT.search(text, s, e).group())
                hit = self._phones_in_window(window, regions) if regions else []
                self._phone_cache[window] = hit
            for a, b in hit:
                per_rec[(d, rid)].append(("PHONE_NUMBER", ws + a, ws + b, score))

    # -- context words ------------------------------------------------------------------------
    def _boost(self, text: str, spans: list[Span]) -> list[Span]:
        ctx = self.recognizers.context
        out = []
        for ent, s, e, sc in spans:
            words = ctx.get(ent)
            if words:
                prev = [w.lower() for w in _WORD.findall(text, max(0, s - 120), s)[-CONTEXT_PREFIX_WORDS:]]
                if any(c in w for c in words for w in prev):
                    sc = min(1.0, max(sc + CONTEXT_FACTOR, CONTEXT_MIN_SCORE))
            out.append((ent, s, e, sc))
        return out

    # -- the whole batch ----------------------------------------------------------------------
    def analyze_batch(self, texts: list[str]) -> list[list[Span]]:
        """Spans for each text, sorted by (start, end, entity)."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        # NER workers (when there are any) run while this process does the patterns
        ner_result = self.ner.start(texts) if self.ner is not None else None
        per_rec: dict[tuple[int, int], list[Span]] = defaultdict(list)
        batch = Batch(texts) if texts else None
        if texts:
            self._patterns(texts, per_rec, batch)
        per_doc: list[list[Span]] = [[] for _ in texts]
        for (d, _rid), spans in per_rec.items():
            per_doc[d].extend(remove_duplicates(spans))
        if texts:
            blockers = None
            if self.fix:
                blockers = [[(s[1], s[2]) for s in spans if s[0] in PHONE_BLOCKERS and s[3] > _PHONE_SCORE]
                            for spans in per_doc]
            phones: dict[tuple[int, int], list[Span]] = defaultdict(list)
            self._phones(texts, phones, blockers, batch)
            for (d, _rid), spans in phones.items():
                per_doc[d].extend(remove_duplicates(spans))
        ner_spans = ner_result() if ner_result is not None else None
        out: list[list[Span]] = []
        for d, spans in enumerate(per_doc):
            if self.use_context and spans:
                spans = self._boost(texts[d], spans)
            spans = remove_duplicates([s for s in spans if s[3] >= self.score_threshold])
            if self.fix:
                spans = fix_overlaps(spans, texts[d])
            if ner_spans is not None:
                extra = [s for s in ner_spans[d] if s[3] >= self.score_threshold]
                if self.fix:
                    extra = drop_ner_inside_patterns(extra, spans)
                spans = remove_duplicates(spans + extra)
            out.append(sorted(spans, key=lambda x: (x[1], x[2], x[0])))
        return out

    def analyze(self, text: str) -> list[Span]:
        return self.analyze_batch([text])[0]


class Batch:
    """The documents of a batch joined into one buffer (`SEPARATOR` between them), with each one's offsets
    and the buffer's token views."""

    def __init__(self, texts: list[str]) -> None:
        lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        self.starts = np.zeros(len(texts), dtype=np.int64)
        if len(texts) > 1:
            self.starts[1:] = np.cumsum(lens[:-1] + len(SEPARATOR))
        self.ends = self.starts + lens
        self.buf = SEPARATOR.join(texts)
        self.views = TokenViews(self.buf)


_SPACE_CODES = np.array([9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                         0x2028, 0x2029, 0x202F, 0x205F, 0x3000], dtype=np.uint32)
_SPACE_TABLE = np.zeros(int(_SPACE_CODES.max()) + 1, dtype=bool)  # a lookup: ~2x faster than np.isin
_SPACE_TABLE[_SPACE_CODES] = True


class TokenViews:
    """Sub-buffers of the whitespace-delimited tokens of `buf` that contain a trigger, each followed by
    its original whitespace character, with the map from their characters back to `buf` offsets.

    A token-safe pattern's match lies inside one token, so running it over the tokens that could hold a
    match gives the same matches as over the whole text. Triggers (supersets, checked against every
    pattern of Presidio's English set): `any` = a digit, `@`, `:`, a `.` or `-` before a word character,
    or any non-ASCII character; `dot` (URLs) = a `.` before a letter or non-ASCII character; `at` (emails)
    = `@`. Vectorised with numpy over the UTF-32 code points; plain words, most of a page, are skipped.
    """

    def __init__(self, buf: str) -> None:
        cp = np.frombuffer(buf.encode("utf-32-le"), dtype=np.uint32)
        self.buf = buf
        self.cp = cp
        self._views: dict[str, tuple[str, np.ndarray]] = {}
        self._utf8: dict[str | None, Utf8Text] = {}
        self.digit = digit = (cp >= 48) & (cp <= 57)
        self.letter = letter = ((cp | 32) >= 97) & ((cp | 32) <= 122)
        self.nonascii = nonascii = cp >= 128
        if cp.size == 0:
            return
        self.space = _SPACE_TABLE[np.minimum(cp, _SPACE_TABLE.size - 1)] & (cp < _SPACE_TABLE.size)
        # token id of each character (a space closes the token before it); int32: 4x faster than int64
        self.tok = np.cumsum(self.space, dtype=np.int32)
        nxt_word = np.zeros_like(digit)
        nxt_word[:-1] = digit[1:] | letter[1:] | (cp[1:] == 95) | nonascii[1:]
        nxt_alpha = np.zeros_like(digit)
        nxt_alpha[:-1] = letter[1:] | nonascii[1:]
        self.triggers = {
            "any": digit | nonascii | (cp == 64) | (cp == 58) | (((cp == 46) | (cp == 45)) & nxt_word),
            "dot": (cp == 46) & nxt_alpha,
            "at": cp == 64,
        }

    def utf8(self, kind: str | None = None) -> Utf8Text:
        """The UTF-8 form of a view (None: of the whole buffer), for RE2 scans."""
        if kind not in self._utf8:
            if kind is None:
                self._utf8[kind] = Utf8Text(self.buf, self.cp)
            else:
                sub, idx = self.view(kind)
                self._utf8[kind] = Utf8Text(sub, self.cp[idx] if idx.size else None)
        return self._utf8[kind]

    def view(self, kind: str = "any") -> tuple[str, np.ndarray]:
        if kind in self._views:
            return self._views[kind]
        if self.cp.size == 0:
            return "", np.zeros(0, dtype=np.int64)
        trig = self.triggers[kind] & ~self.space
        hot = np.zeros(int(self.tok[-1]) + 2, dtype=bool)
        hot[self.tok[trig]] = True
        keep = hot[self.tok] & ~self.space
        after = np.zeros_like(keep)  # keep the whitespace right after a kept token, so tokens stay apart
        after[1:] = keep[:-1] & self.space[1:]
        keep |= after
        idx = np.nonzero(keep)[0]
        out = (self.cp[idx].tobytes().decode("utf-32-le"), idx.astype(np.int64))
        self._views[kind] = out
        return out


def interesting_tokens(buf: str, kind: str = "any") -> tuple[str, np.ndarray]:
    """`TokenViews(buf).view(kind)`: the tokens that could hold a match, and their offsets in `buf`."""
    return TokenViews(buf).view(kind)


_VIEW_FOR_ENTITY = {"URL": "dot", "EMAIL_ADDRESS": "at"}


@functools.lru_cache(maxsize=65536)
def _char_class(ch: str) -> str:
    """A stand-in with the same meaning to phonenumbers' boundary check: Latin letter, invalid punctuation
    (% or a currency sign) or anything else."""
    from phonenumbers import PhoneNumberMatcher

    if PhoneNumberMatcher._is_latin_letter(ch):
        return "a"
    if PhoneNumberMatcher._is_invalid_punctuation_symbol(ch):
        return "%"
    return " "


def _only_short_parts(candidate: str, pre: str, post: str) -> bool:
    """True when phonenumbers cannot find a phone here: the whole candidate fails its boundary check
    (a Latin letter, `%` or a currency sign right before or after it, e.g. a price like "$501.61") and
    every inner part it would try next (its `_INNER_MATCHES` splits) has fewer than 4 digits."""
    try:
        from phonenumbers.phonenumbermatcher import _INNER_MATCHES, _LEAD_PATTERN
    except ImportError:
        return False
    before = pre in ("a", "%") and not _LEAD_PATTERN.match(candidate)
    after = post[:1] in ("a", "%")
    if not (before or after):
        return False
    for pat in _INNER_MATCHES:
        gm = pat.search(candidate)
        first = True
        while gm:
            if first and len(_DIGIT.findall(candidate, 0, gm.start())) >= MIN_PHONE_DIGITS:
                return False
            first = False
            if len(_DIGIT.findall(gm.group(1))) >= MIN_PHONE_DIGITS:
                return False
            gm = pat.search(candidate, gm.start() + 1)
    return True


def _shortest_national_numbers(regions: Any) -> dict[str, int]:
    """Each region's shortest possible national number length, from phonenumbers' metadata (0: unknown,
    so the region is always tried)."""
    from phonenumbers import PhoneMetadata

    out = {}
    for r in regions:
        md = PhoneMetadata.metadata_for_region(r)
        lengths = list(md.general_desc.possible_length or ()) if md is not None and md.general_desc else []
        out[r] = min(lengths) if lengths and min(lengths) > 0 else 0
    return out


def _phone_candidate_pattern() -> Any | None:
    """phonenumbers' own candidate regex (the matcher's first step), or None if its internals moved."""
    try:
        from phonenumbers import phonenumbermatcher

        return phonenumbermatcher._PATTERN
    except (ImportError, AttributeError):
        return None
