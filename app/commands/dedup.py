"""`winnow similar DIR ID`: near-duplicate look-up over the MinHash signatures stored with a curated run."""

from __future__ import annotations

import json

import typer


def similar(
    run_dir: str = typer.Argument(..., help="A run folder written by `winnow curate` with the minhash signal."),
    doc_id: str = typer.Argument(..., help="Id of the document to look up."),
    top: int = typer.Option(10, "--top", "-k", help="How many similar documents to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the documents most similar to one (estimated Jaccard, LSH Forest over stored signatures)."""
    from curation.dedup.similar import most_similar

    me, docs = most_similar(run_dir, doc_id, top)
    if as_json:
        typer.echo(json.dumps({"id": me.id, "snippet": me.snippet,
                               "similar": [d.__dict__ for d in docs]}, indent=2))
        return
    typer.echo(f"{me.id}" + (f"  {me.snippet}" if me.snippet else ""))
    if not docs:
        typer.echo("no similar documents found")
        return
    typer.echo(f"{'jaccard':>7}  id")
    for d in docs:
        typer.echo(f"{d.jaccard:7.3f}  {d.id}" + (f"  {d.snippet}" if d.snippet else ""))


def register(root: typer.Typer) -> None:
    root.command("similar")(similar)
