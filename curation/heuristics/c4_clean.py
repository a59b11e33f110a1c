"""`c4_clean` transform: the text datatrove's `C4QualityFilter` passes on, for users who want the same bytes.

datatrove's C4 filter does not only keep or drop a document: a document it keeps leaves with its text
REPLACED by the lines that survived C4's line rules (stripped, citations removed, joined with "\\n", then
stripped). Winnow's `c4_quality` step only measures; this transform rewrites kept documents the same way
in `mix`, so a recipe with datatrove's rules and `transforms: {c4_clean: {}}` writes datatrove's output text.
Parameters are C4's line rules, the fields of the `c4_quality` step (keep them equal to that step's).
A kept document that C4 itself would drop (a recipe without C4's rules) gets its kept lines too, possibly none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from curation.errors import WinnowError
from curation.transforms import register_transform


def c4_clean_texts(texts: pl.Series, params: Any) -> pl.Series:
    """C4's kept lines of each text (a `curation.heuristics.c4.C4Params`), as datatrove writes them."""
    from curation.heuristics.c4 import c4_line_rules, kept_text

    # which lines survive needs no words (only sentence counts do): no tokenizing here
    t = texts.cast(pl.String).fill_null("")
    return kept_text(c4_line_rules(t, params), len(t)).alias("text")


@register_transform("c4_clean")
def c4_clean(kept: pl.DataFrame, params: dict[str, Any], run_dir: Path) -> pl.Series:
    """Recipe transform: replace each kept document's text with C4's kept lines (see the module docstring)."""
    from curation.steps.c4_quality import C4QualityConfig

    try:
        cfg = C4QualityConfig(**(params or {}))
    except ValidationError as e:
        msgs = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise WinnowError(f"transforms.c4_clean: {msgs}") from None
    return c4_clean_texts(kept["text"], cfg.params())
