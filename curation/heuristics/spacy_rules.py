"""spaCy's English tokenizer rules as plain data, cached on disk per spaCy version.

The heuristic steps tokenize like `spacy.blank("en")` but need only its settings: the special cases, the
prefix / suffix / infix regexes, the URL match and the sentencizer's punctuation. Importing spaCy to read
them costs ~0.85 s in every curate; the same data read back from a JSON file costs ~0.15 s (mostly
compiling the regexes). The file is keyed by spaCy's installed version, so an upgrade rebuilds it; it lives
in the Winnow cache folder (`$WINNOW_CACHE_DIR`, default `~/.cache/winnow`) and is only ever replaced
whole. Where the cache cannot be written, the rules come from spaCy each time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from curation.store import write_text_atomic

FORMAT = 1  # bump when the cached fields change


@dataclass(frozen=True)
class EnglishRules:
    """What `spacy.lang.en.English.Defaults` says about tokenizing, as plain Python objects."""

    exceptions: dict[str, list[str]]  # a special-case chunk -> the text (ORTH) of each of its tokens
    prefix: re.Pattern[str]
    suffix: re.Pattern[str]
    infix: re.Pattern[str]
    url: re.Pattern[str] | None
    token: re.Pattern[str] | None
    sentence_punct: frozenset[str]  # spaCy's Sentencizer.default_punct_chars


def _pattern(p: re.Pattern[str] | None) -> list | None:
    return None if p is None else [p.pattern, p.flags]


def _compile(v: list | None) -> re.Pattern[str] | None:
    return None if v is None else re.compile(v[0], v[1])


def _from_spacy() -> dict:
    from curation.imports import absent

    with absent("torch", "cupy"):  # thinc (under spaCy) would import torch: ~2.5 s, unused by a tokenizer
        from spacy.lang.en import English
        from spacy.pipeline import Sentencizer
        from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

    d = English.Defaults
    return {
        "format": FORMAT,
        "exceptions": {k: [t[65] for t in v] for k, v in d.tokenizer_exceptions.items()},  # 65 = ORTH
        "prefix": _pattern(compile_prefix_regex(d.prefixes)),
        "suffix": _pattern(compile_suffix_regex(d.suffixes)),
        "infix": _pattern(compile_infix_regex(d.infixes)),
        "url": _pattern(d.url_match.__self__) if d.url_match else None,
        "token": _pattern(d.token_match.__self__) if d.token_match else None,
        "sentence_punct": sorted(Sentencizer.default_punct_chars),
    }


def cache_path() -> Path:
    from curation.fingerprint import cache_dir

    return cache_dir() / f"spacy-en-rules-{version('spacy')}-v{FORMAT}.json"


def _load_or_build() -> dict:
    path = cache_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") == FORMAT:
            return data
    except (OSError, ValueError):
        pass
    data = _from_spacy()
    try:  # written whole or not at all (a temporary name, then a rename): a reader never sees half a file
        write_text_atomic(json.dumps(data), path)
    except OSError:
        pass
    return data


def english_rules() -> EnglishRules:
    """spaCy's English tokenizer settings, from the cache when it holds this spaCy version's."""
    d = _load_or_build()
    return EnglishRules(exceptions=d["exceptions"], prefix=_compile(d["prefix"]), suffix=_compile(d["suffix"]),
                        infix=_compile(d["infix"]), url=_compile(d["url"]), token=_compile(d["token"]),
                        sentence_punct=frozenset(d["sentence_punct"]))
