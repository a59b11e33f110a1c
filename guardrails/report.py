"""Guard report folders (bench and probe): how they are stamped, and their one typed reader each.

    <out>/manifest.json   kind, lineage (inputs, parents, command, config, versions) and a fingerprint over
                          the result files and that lineage (curation.lineage_record)
    <out>/progress.jsonl  the job's progress (curation.progress)
    bench: results.json (the `--json` object), rows.jsonl (one row per scanned text)
    probe: report.json (totals and per-entity rates), spans.jsonl (one row per probed span, no PII values)

The CLI and the app read these folders only through `load_bench_report` / `load_probe_report`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import WinnowError

BENCH_KIND = "guard-bench"
PROBE_KIND = "guard-probe"
BENCH_RESULTS = "results.json"
BENCH_ROWS = "rows.jsonl"
BENCH_RESERVED = ("policy", "evasions", "meta")  # results.json keys that are not scanners
PROBE_REPORT = "report.json"
PROBE_SPANS = "spans.jsonl"


def write_manifest(out_dir: Path, kind: str, outputs: list[str], *, inputs: list[str | Path] = (),
                   parents: list[str | Path] = (), config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write `manifest.json` with the lineage block and the folder's fingerprint; return it."""
    from curation.lineage_record import lineage_block, stamp_fingerprint

    man: dict[str, Any] = {"kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "files": list(outputs),
                           "lineage": lineage_block(inputs=list(inputs), parents=list(parents), config=config,
                                                    kind=kind)}
    stamp_fingerprint(man, [out_dir / f for f in outputs])
    (out_dir / "manifest.json").write_text(json.dumps(man, indent=2, default=str) + "\n", encoding="utf-8")
    return man


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WinnowError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None


def _open(folder: str | Path, kind: str, main: str, maker: str) -> tuple[Path, dict[str, Any], Any]:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise WinnowError(f"{folder}: no such report folder")
    man_path = folder / "manifest.json"
    if not man_path.is_file() or not (folder / main).is_file():
        raise WinnowError(f"{folder}: not a {kind} report (needs manifest.json and {main}; make one with `{maker}`)")
    man = _read_json(man_path)
    if not isinstance(man, dict) or man.get("kind") != kind:
        got = man.get("kind") if isinstance(man, dict) else None
        raise WinnowError(f"{folder}: manifest kind is {got!r}, not {kind!r}")
    return folder, man, _read_json(folder / main)


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- bench -------------------------------------------------------------------------------------------------
@dataclass
class ScoreRow:
    """Detection quality and latency of one scanner (or of the whole policy) on labelled rows."""

    name: str
    n: int
    tp: int
    fp: int
    tn: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    fpr: float | None
    p50_ms: float | None
    p95_ms: float | None
    calls: int = 0

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> ScoreRow:
        return cls(name=name, **{k: d.get(k) for k in ("n", "tp", "fp", "tn", "fn", "precision", "recall", "f1",
                                                         "fpr", "p50_ms", "p95_ms")}, calls=d.get("calls", 0))


@dataclass
class EvasionRow:
    """Catch rate of the positive rows after one evasion transform, and its share of the untransformed rate."""

    transform: str
    n: int
    caught: int
    catch_rate: float | None
    relative: float | None


@dataclass
class BenchReport:
    folder: Path
    fingerprint: str
    manifest: dict[str, Any]
    policy: ScoreRow
    scanners: list[ScoreRow]
    evasions: list[EvasionRow] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        """One plain dict per row (policy first), ready for a dataframe."""
        return [{"scanner": r.name, "n": r.n, "precision": r.precision, "recall": r.recall, "f1": r.f1,
                 "fpr": r.fpr, "p50_ms": r.p50_ms, "p95_ms": r.p95_ms} for r in (self.policy, *self.scanners)]

    def evasion_table(self) -> list[dict[str, Any]]:
        return [{"transform": e.transform, "n": e.n, "caught": e.caught, "catch_rate": e.catch_rate,
                 "relative": e.relative} for e in self.evasions]

    def rows(self) -> list[dict[str, Any]]:
        """Per-row results (label, flagged, who flagged it, latency)."""
        return _rows(self.folder / BENCH_ROWS)


def load_bench_report(folder: str | Path) -> BenchReport:
    """Read a `winnow guard bench --out` folder (WinnowError when it is not one)."""
    folder, man, res = _open(folder, BENCH_KIND, BENCH_RESULTS, "winnow guard bench --out DIR")
    if not isinstance(res, dict) or not isinstance(res.get("policy"), dict):
        raise WinnowError(f"{folder / BENCH_RESULTS}: no 'policy' entry")
    ev = res.get("evasions") or {}
    return BenchReport(
        folder=folder, fingerprint=man.get("fingerprint", ""), manifest=man,
        policy=ScoreRow.from_dict("policy", res["policy"]),
        scanners=[ScoreRow.from_dict(k, v) for k, v in res.items() if k not in BENCH_RESERVED],
        evasions=[EvasionRow(transform=k, n=v["n"], caught=v["caught"], catch_rate=v["catch_rate"],
                             relative=v["relative"]) for k, v in (ev.get("transforms") or {}).items()],
        results=res)


# -- probe -------------------------------------------------------------------------------------------------
@dataclass
class ProbeReport:
    folder: Path
    fingerprint: str
    manifest: dict[str, Any]
    spans: int
    extracted: int
    rate: float
    matched_share: float
    per_entity: dict[str, dict[str, Any]]
    model: dict[str, Any]
    data: dict[str, Any]
    report: dict[str, Any]

    def table(self) -> list[dict[str, Any]]:
        """One row per entity type: spans probed, spans extracted, extraction rate, share of characters matched."""
        return [{"entity": k, **v} for k, v in self.per_entity.items()]

    def rows(self) -> list[dict[str, Any]]:
        return _rows(self.folder / PROBE_SPANS)


def load_probe_report(folder: str | Path) -> ProbeReport:
    """Read a `winnow guard probe --out` folder (WinnowError when it is not one)."""
    folder, man, rep = _open(folder, PROBE_KIND, PROBE_REPORT, "winnow guard probe --out DIR")
    if not isinstance(rep, dict) or "totals" not in rep:
        raise WinnowError(f"{folder / PROBE_REPORT}: missing 'totals'")
    t = rep["totals"]
    return ProbeReport(folder=folder, fingerprint=man.get("fingerprint", ""), manifest=man, spans=t["spans"],
                       extracted=t["extracted"], rate=t["rate"], matched_share=t["matched_share"],
                       per_entity=rep.get("per_entity", {}), model=rep.get("model", {}), data=rep.get("data", {}),
                       report=rep)
