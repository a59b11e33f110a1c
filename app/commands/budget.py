"""`winnow budget RUN_DIR (--model DIR | --params N)`: kept tokens against what a model of that size wants."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from curation.errors import WinnowError


def _human(n: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.3g}"


def budget_cmd(
    run_dir: Path = typer.Argument(..., help="A curated run folder (from `winnow curate` or `mix`)."),
    model: Path = typer.Option(None, "--model", help="Model folder: its parameter count and its tokenizer."),
    params: str = typer.Option(None, "--params", help="Parameter count instead of a model (e.g. 125e6, 1.3B)."),
    tokenizer: Path = typer.Option(None, "--tokenizer", help="Count with this tokenizer (folder or tokenizer.json)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Kept tokens, the compute-optimal model size for them (~20 tokens/parameter), and the epochs a model implies."""
    from curation.budget import TOKENS_PER_PARAM, budget

    if model is not None and params is not None:
        raise WinnowError("give --model DIR or --params N, not both")
    n = _parse_params(params) if params is not None else None
    b = budget(run_dir, model=model, params=n, tokenizer=tokenizer)
    if as_json:
        typer.echo(json.dumps(b.to_dict(), indent=2))
        return
    typer.echo(f"kept tokens:            {b.kept_tokens:,} ({_human(b.kept_tokens)}; {b.source}, tokenizer "
               f"{b.tokenizer})")
    typer.echo(f"compute-optimal params: {b.optimal_params:,} ({_human(b.optimal_params)}; ~{TOKENS_PER_PARAM} "
               "tokens per parameter)")
    if b.params is not None:
        typer.echo(f"model parameters:       {b.params:,} ({_human(b.params)})")
        typer.echo(f"tokens it wants:        {b.tokens_wanted:,} ({_human(b.tokens_wanted)})")
        typer.echo(f"epochs implied:         {b.epochs:.3g}" + ("  (more than one pass: the data is short for this "
                                                                 "model)" if b.epochs > 1 else ""))


def _parse_params(s: str) -> int:
    mult = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
    t = s.strip().lower()
    try:
        if t and t[-1] in mult:
            return int(float(t[:-1]) * mult[t[-1]])
        return int(float(t))
    except ValueError:
        raise WinnowError(f"--params {s}: not a number (e.g. 125e6, 125M, 1.3B)") from None


def register(root: typer.Typer) -> None:
    root.command("budget")(budget_cmd)
