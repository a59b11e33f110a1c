"""`winnow pii eval` (precision/recall/F2 on a presidio-research file) and `winnow pii scan` (one text)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from app.commands import groups
from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from curation.errors import WinnowError

NER_HELP = ("spaCy NER for PERSON/LOCATION: off (default) or on (needs `pip install -e '.[ner]'`); installing "
            "the model never turns it on by itself.")


def _engine(ner: str, ner_model: str | None, n_process: int = 0, fix: bool = True):  # noqa: ANN202
    import logging

    from curation.pii.engine import PiiEngine
    from curation.pii.ner import load_ner

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    return PiiEngine(fix=fix, ner=load_ner(ner, ner_model, n_process=n_process))


@groups.pii.command("eval")
def pii_eval(
    data: Path = typer.Option(..., "--data", help="presidio-research JSON: records with full_text and spans."),
    as_json: bool = typer.Option(False, "--json", help="Print {ENTITY: {precision, recall, f2, support}}."),
    ner: str = typer.Option("off", "--ner", help=NER_HELP),
    ner_model: str = typer.Option(None, "--ner-model", help="spaCy pipeline name or folder for NER."),
    limit: int = typer.Option(None, "--limit", min=1, help="Score only the first N records."),
    ner_processes: int = typer.Option(1, "--ner-processes", help="NER worker processes (0: in this process)."),
    iou: float = typer.Option(0.5, "--iou", help="Span match rule: same entity type and IoU >= this."),
    no_fix: bool = typer.Option(False, "--no-fix", help="Keep Presidio's raw overlaps (IP-as-phone, email-as-URL)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Per-entity precision, recall and F2 of PII detection (dataset types mapped to Presidio's names)."""
    from app.registry import registered_run
    from curation.pii.evaluate import evaluate_file, format_table

    if not 0 < iou <= 1:
        raise WinnowError(f"--iou must be in (0, 1], got {iou}")
    if ner_processes < 0:
        raise WinnowError(f"--ner-processes must be 0 or more, got {ner_processes}")
    config = {"data": str(data), "ner": ner, "ner_model": ner_model, "ner_processes": ner_processes,
              "limit": limit, "iou": iou, "fix": not no_fix}
    with registered_run(workspace, "pii-eval", config) as (reg, run_id):
        engine = _engine(ner, ner_model, n_process=ner_processes, fix=not no_fix)
        metrics = evaluate_file(data, engine, limit=limit, iou=iou)
        scored = [m for m in metrics.values() if m["support"]]
        if scored:
            reg.set_metrics(run_id, {
                "macro_f2": round(sum(m["f2"] for m in scored) / len(scored), 4),
                "macro_recall": round(sum(m["recall"] for m in scored) / len(scored), 4),
                "entities": len(scored), "ner": engine.ner is not None})
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
    else:
        typer.echo(format_table(metrics))
        typer.echo(f"match rule: same entity type and IoU >= {iou}; NER: "
                   f"{engine.ner.name if engine.ner is not None else 'off'}")


@groups.pii.command("scan")
def pii_scan(
    text: str = typer.Argument(None, help="Text to scan (or use --file; '-' reads standard input)."),
    file: Path = typer.Option(None, "--file", help="Scan this text file instead."),
    ner: str = typer.Option("off", "--ner", help=NER_HELP),
    ner_model: str = typer.Option(None, "--ner-model", help="spaCy pipeline name or folder for NER."),
    mode: str = typer.Option("replace", "--mode", help="Scrubbing: replace (<TYPE>) or hash (needs --salt)."),
    salt: str = typer.Option(None, "--salt", help="Salt for --mode hash (at least 16 characters)."),
    min_score: float = typer.Option(0.0, "--min-score", help="Ignore spans scoring below this."),
    as_json: bool = typer.Option(False, "--json", help="Print entities and scrubbed text as JSON."),
) -> None:
    """Print the PII entities found in a text or file, and the scrubbed text."""
    from curation.pii.scrub import Scrubber

    if file is not None:
        if not file.is_file():
            raise WinnowError(f"file not found: {file}")
        content = file.read_text(encoding="utf-8", errors="replace")
    elif text == "-":
        content = sys.stdin.read()
    elif text is not None:
        content = text
    else:
        raise WinnowError("give a TEXT argument or --file")
    scrubber = Scrubber(mode, salt)
    spans = [s for s in _engine(ner, ner_model).analyze(content) if s[3] >= min_score]
    scrubbed = scrubber.scrub(content, spans)
    if as_json:
        typer.echo(json.dumps({"entities": [{"entity_type": e, "start": s, "end": t, "score": round(sc, 4),
                                             "text": content[s:t]} for e, s, t, sc in spans],
                               "scrubbed": scrubbed}, indent=2))
        return
    for e, s, t, sc in spans:
        typer.echo(f"{e:<18} {s:>6}-{t:<6} {sc:.2f}  {content[s:t]!r}")
    if not spans:
        typer.echo("no PII found")
    typer.echo("---")
    typer.echo(scrubbed)


def register(root: typer.Typer) -> None:  # commands live on groups.pii
    return None
