"""Audit a curated run's rules against human quality labels: is each rule removing what people would remove?

`audit_run(run_dir, labels_path)` joins the run's decisions (`removed.parquet`: the first failing rule and
every failing rule of each removed document; `kept/*.parquet`: the rest) with a JSONL file of human labels
(`{"id": ..., "label": ...}` per line) by document id, and reports per rule of the run's recipe:

* `fires`: labelled documents the rule fails (whether or not an earlier rule already removed them) and
  `first`: those it is the headline reason for (`rule` in removed.parquet);
* `precision`: the share of `fires` that humans call low quality (null when it never fires);
* `high_lost`: high-quality documents the rule fails, and `high_lost_only`: those no other rule fails (what
  loosening this rule alone would bring back);
* `quantiles`: the rule's column for high- and low-quality documents (q05, q25, q50, q75, q95), from the
  stored signals, so a threshold can be moved where the classes separate.

Labels: `label_field` (default `label`) holds the label; values in `positive_labels` (default 1, true,
"high", "keep", "good") mean high quality, anything else low. Numbers compare as numbers (a label 1.0 is 1). A
file where no label is a high-quality value and some are not a known low one (0, false, low, drop, bad) is
refused: its labels are in another vocabulary, and every document would count as low. A file whose documents
are all of one class is audited with a warning. The CLI is `winnow audit`; the app calls the same
function and shows `AuditReport.to_dict()`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curation.errors import WinnowError
from curation.jsonl import iter_jsonl_objects

DEFAULT_POSITIVE = ("1", "true", "high", "keep", "good")
KNOWN_NEGATIVE = ("0", "false", "low", "drop", "bad")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class RuleAudit:
    """One rule's record against the labels."""

    name: str
    signal: str
    column: str
    condition: str
    fires: int
    first: int
    low: int
    high: int
    precision: float | None
    high_lost: int
    high_lost_only: int
    quantiles: dict[str, dict[str, float | None]] = field(default_factory=dict)


@dataclass
class AuditReport:
    """The whole audit: totals, then one `RuleAudit` per rule in recipe order."""

    run_dir: str
    labels_path: str
    label_field: str
    positive_labels: list[str]
    labelled: int
    matched: int
    high: int
    low: int
    low_removed: int
    high_removed: int
    rules: list[RuleAudit]
    warnings: list[str] = field(default_factory=list)

    @property
    def low_removed_share(self) -> float | None:
        return self.low_removed / self.low if self.low else None

    @property
    def high_removed_share(self) -> float | None:
        return self.high_removed / self.high if self.high else None

    def rule(self, name: str) -> RuleAudit:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["low_removed_share"] = self.low_removed_share
        d["high_removed_share"] = self.high_removed_share
        return d

    def render(self, show_all: bool = False) -> str:
        """The table `winnow audit` prints (rules that never fire are left out unless `show_all`)."""
        def pct(x: float | None) -> str:
            return "-" if x is None else f"{100 * x:.0f}%"

        lines = [f"warning: {w}" for w in self.warnings]
        lines += [f"{self.matched} of {self.labelled} labelled documents are in the run: {self.high} high quality, "
                 f"{self.low} low",
                 f"removed: {self.low_removed} of {self.low} low ({pct(self.low_removed_share)}), "
                 f"{self.high_removed} of {self.high} high ({pct(self.high_removed_share)})",
                 f"{'rule':<40} {'fires':>5} {'first':>5} {'prec':>5} {'high lost':>9} {'only':>4}  "
                 f"q25 q50 q75 of high | of low"]
        shown = [r for r in self.rules if show_all or r.fires]
        for r in shown:
            qh, ql = r.quantiles.get("high", {}), r.quantiles.get("low", {})
            med = (" ".join(_fmt(qh.get(k)) for k in ("q25", "q50", "q75")) + " | "
                   + " ".join(_fmt(ql.get(k)) for k in ("q25", "q50", "q75"))) if qh or ql else ""
            lines.append(f"{r.name:<40} {r.fires:>5} {r.first:>5} {pct(r.precision):>5} {r.high_lost:>9} "
                         f"{r.high_lost_only:>4}  {med}")
        if len(shown) < len(self.rules):
            lines.append(f"{len(shown)} of {len(self.rules)} rules shown (the others never fire on the labelled "
                         "documents); use --all")
        return "\n".join(lines)


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}"


def _label_key(value: Any) -> str | float:
    """A label as it is compared: a number (1, 1.0 and "1.0" alike) or lowercased text (a JSON true is "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    try:
        return float(text)
    except ValueError:
        return text


def read_labels(path: str | Path, label_field: str = "label", id_field: str = "id",
                positive_labels: list[str] | tuple[str, ...] | None = None) -> pl.DataFrame:
    """`id` and `high` (bool) for every line of a JSONL labels file; a missing field is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise WinnowError(f"labels file not found: {path}")
    positive = {_label_key(v) for v in (positive_labels or DEFAULT_POSITIVE)}
    negative = {_label_key(v) for v in KNOWN_NEGATIVE} - positive
    ids: list[str] = []
    high: list[bool | None] = []  # None: an empty label (null, NaN, ""), left out of the audit
    unknown: dict[str, None] = {}  # labels neither high nor a known low value, in file order
    for line_no, row in iter_jsonl_objects(path):
        if id_field not in row or label_field not in row:
            missing = id_field if id_field not in row else label_field
            raise WinnowError(f"{path}:{line_no}: no `{missing}` field (use --label-field to name the label)")
        ids.append(str(row[id_field]))
        value = row[label_field]
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            high.append(None)
            continue
        key = _label_key(value)
        high.append(key in positive)
        if not high[-1] and key not in negative and len(unknown) < 5:
            unknown[json.dumps(value)] = None
    if not ids:
        raise WinnowError(f"{path}: no labels")
    if unknown and (positive_labels is None or not any(high)):
        # with the default vocabulary a value outside it ("yes" beside 1/0) is not silently low: with
        # --positive-labels every other value is low by definition, unless none is high at all
        shown = ", ".join(str(v) for v in (positive_labels or DEFAULT_POSITIVE))
        low = ", ".join(KNOWN_NEGATIVE)
        raise WinnowError(f"{path}: `{label_field}` holds {', '.join(unknown)}, neither a high-quality value ({shown}) "
                          f"nor a known low one ({low}): name the high-quality values with --positive-labels "
                          "(every other value then counts as low)")
    df = pl.DataFrame({"id": ids, "high": high}, schema={"id": pl.String, "high": pl.Boolean})
    dup = df.filter(pl.col("id").is_duplicated())
    if dup.height:
        raise WinnowError(f"{path}: id {dup['id'][0]!r} is labelled more than once")
    return df


def _decisions(run_dir: Path) -> pl.DataFrame:
    """`id`, `rule` (null when kept) and `rules` for every document the run decided on."""
    removed_p = run_dir / "removed.parquet"
    kept = sorted((run_dir / "kept").glob("*.parquet"))
    if not removed_p.is_file() and not kept:
        raise WinnowError(f"{run_dir}: not a curated run (no removed.parquet or kept/*.parquet); "
                          "run `winnow curate` first")
    frames = []
    if removed_p.is_file():
        frames.append(pl.read_parquet(removed_p, columns=["id", "rule", "rules"])
                      .with_columns(pl.col("id").cast(pl.Utf8)))
    if kept:
        frames.append(pl.scan_parquet(kept).select(pl.col("id").cast(pl.Utf8)).collect().with_columns(
            rule=pl.lit(None, pl.Utf8), rules=pl.lit([], pl.List(pl.Utf8))))
    return pl.concat(frames, how="vertical_relaxed").unique("id", keep="first")


def _condition(rule: Any) -> str:
    if rule.drop_if is not None:
        return f"drop if {rule.column} is {rule.drop_if}"
    if rule.keep_values is not None:
        return f"keep {rule.column} in {rule.keep_values}"
    if rule.drop_values is not None:
        return f"drop {rule.column} in {rule.drop_values}"
    parts = [f"{rule.column} >= {rule.min:g}" if rule.min is not None else "",
             f"{rule.column} <= {rule.max:g}" if rule.max is not None else ""]
    return "keep " + " and ".join(p for p in parts if p)


def _signal_values(run_dir: Path, signal: str, column: str, ids: pl.DataFrame) -> pl.DataFrame | None:
    files = sorted((run_dir / "signals" / signal).glob("*.parquet"))
    if not files:
        return None
    lf = pl.scan_parquet(files)
    if column not in lf.collect_schema().names():
        return None
    return (lf.select(pl.col("id").cast(pl.Utf8), pl.col(column).alias("v")).join(ids.lazy(), on="id", how="semi")
            .unique("id", keep="first").collect())


def _quantiles(values: pl.Series) -> dict[str, float | None]:
    v = values.drop_nulls()
    if v.dtype == pl.Boolean:
        v = v.cast(pl.Float64)
    if not v.dtype.is_numeric() or v.len() == 0:
        return {}
    v = v.cast(pl.Float64)
    return {f"q{int(q * 100):02d}": float(v.quantile(q, "linear")) for q in QUANTILES}


def audit_run(run_dir: str | Path, labels_path: str | Path, *, label_field: str = "label", id_field: str = "id",
              positive_labels: list[str] | tuple[str, ...] | None = None) -> AuditReport:
    """Join a curated run's decisions with human labels and measure every rule of its recipe."""
    from curation.recipe import load_recipe

    run_dir = Path(run_dir)
    labels = read_labels(labels_path, label_field, id_field, positive_labels)
    recipe_p = run_dir / "recipe.yaml"
    recipe = load_recipe(recipe_p) if recipe_p.is_file() else None
    dec = _decisions(run_dir)
    empty = int(labels["high"].is_null().sum())
    labels = labels.filter(pl.col("high").is_not_null())
    joined = labels.join(dec, on="id", how="inner")
    if joined.height == 0:
        first_run = dec["id"][0] if dec.height else None
        raise WinnowError(f"none of the {labels.height} labelled ids is a document of {run_dir} "
                          f"(first label id {labels['id'][0]!r}, first run id {first_run!r})")
    high_n = int(joined["high"].sum())
    low_n = joined.height - high_n
    warnings = []
    if empty:
        warnings.append(f"{empty} label(s) are empty (null, NaN or \"\") and were left out")
    if not high_n or not low_n:
        warnings.append(f"all {joined.height} labelled documents of the run are {'high' if high_n else 'low'} "
                        "quality, so precision and losses compare nothing; check --positive-labels and the labels")
    removed = joined.filter(pl.col("rule").is_not_null())
    rules = recipe.rules if recipe is not None else []
    out: list[RuleAudit] = []
    fired_sets = joined.select("id", "high", "rule", pl.col("rules").fill_null(pl.lit([], pl.List(pl.Utf8))))
    n_fail = fired_sets.select(pl.col("rules").list.len()).to_series()
    fired_sets = fired_sets.with_columns(n_fail=n_fail)
    for r in rules:
        fires = fired_sets.filter(pl.col("rules").list.contains(r.name))
        n = fires.height
        high_lost = int(fires["high"].sum())
        only = int(fires.filter(pl.col("n_fail") == 1)["high"].sum())
        q: dict[str, dict[str, float | None]] = {}
        vals = _signal_values(run_dir, r.signal, r.column, joined.select("id"))
        if vals is not None:
            v = joined.select("id", "high").join(vals, on="id", how="left")
            q = {"high": _quantiles(v.filter(pl.col("high"))["v"]), "low": _quantiles(v.filter(~pl.col("high"))["v"])}
        out.append(RuleAudit(
            name=r.name, signal=r.signal, column=r.column, condition=_condition(r), fires=n,
            first=int((removed["rule"] == r.name).sum()), low=n - high_lost, high=high_lost,
            precision=(n - high_lost) / n if n else None, high_lost=high_lost, high_lost_only=only, quantiles=q))
    return AuditReport(
        run_dir=str(run_dir), labels_path=str(labels_path), label_field=label_field,
        positive_labels=sorted({str(v).lower() for v in (positive_labels or DEFAULT_POSITIVE)}),
        labelled=labels.height, matched=joined.height, high=high_n, low=low_n,
        low_removed=int((~removed["high"]).sum()), high_removed=int(removed["high"].sum()), rules=out,
        warnings=warnings)


def report_json(report: AuditReport) -> str:
    return json.dumps(report.to_dict(), indent=2)
