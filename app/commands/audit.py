"""`winnow audit RUN --labels FILE`: each rule of a curated run measured against human quality labels."""

from __future__ import annotations

from pathlib import Path

import typer


def audit_cmd(
    run_dir: Path = typer.Argument(..., help="A curated run folder (from `winnow curate` or `mix`)."),
    labels: Path = typer.Option(..., "--labels", help="JSONL of human labels: one {id, label} object a line."),
    label_field: str = typer.Option("label", "--label-field", help="Field holding the label."),
    id_field: str = typer.Option("id", "--id-field", help="Field holding the document id."),
    positive_labels: list[str] = typer.Option(
        [], "--positive-labels", help="A label meaning high quality (repeatable; default 1/true/high/keep/good)."),
    as_json: bool = typer.Option(False, "--json", help="Print the audit as JSON."),
    show_all: bool = typer.Option(False, "--all", help="Also list rules that never fire on the labelled documents."),
) -> None:
    """Per rule: removals, precision (share humans call low quality), high-quality documents lost, and the
    score distributions of both classes."""
    from curation.audit import audit_run, report_json

    rep = audit_run(run_dir, labels, label_field=label_field, id_field=id_field,
                    positive_labels=positive_labels or None)
    typer.echo(report_json(rep) if as_json else rep.render(show_all=show_all))


def register(root: typer.Typer) -> None:
    root.command("audit")(audit_cmd)
