"""`winnow data sample`: write the built-in sample corpus, SFT/DPO pairs or the synthetic benchmark."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from pathlib import Path

import typer

from app.commands import groups
from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from curation.errors import WinnowError


class SampleKind(StrEnum):
    corpus = "corpus"
    sft = "sft"
    dpo = "dpo"
    bench = "bench"


_HELP = """Write deterministic sample data (same seed, same bytes).

--kind corpus (default): ~2 KB English web-like documents (JSONL, JSONL.gz or Parquet by --out suffix;
records id, text, source, metadata) plus <stem>.labels.parquet beside it (id, kind, source_id, jaccard,
target_jaccard, pii_types, pii_values). Planted kinds, share of documents: clean 61%, exact_dup 5%,
near_dup 9% (1.5% each at word-5-gram Jaccard ~0.95/0.9/0.85/0.8/0.7/0.5, measured value in the labels),
boilerplate 4%, short 4%, spam 4%, gibberish 3%, pii 5% (person names, emails, US phones, Luhn-valid
cards, IPv4), toxic 3%, bench_copy 2% (quotes questions of the --kind bench set with the same seed).

--kind sft: chat `messages` pairs (explain, list, summarise, rewrite, classify, arithmetic); --docs pairs.
--kind dpo: prompt/chosen/rejected; rejected is always an unhelpful ALL-CAPS stutter; --docs pairs.
--kind bench: synthetic ARC-schema multiple choice; --out is a folder (OUT/arc_easy/{train,validation,
test}.jsonl + OUT/SYNTHETIC.txt); --docs test questions (>= 50 holds every question the corpus quotes).
"""


@groups.data.command("sample", help=_HELP)
def sample(
    out: Path = typer.Option(..., "--out", help="Output file (.jsonl, .jsonl.gz, .parquet) or folder (bench)."),
    docs: int = typer.Option(1000, "--docs", help="Documents (corpus), pairs (sft, dpo) or test questions (bench)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed writes the same bytes."),
    kind: SampleKind = typer.Option(SampleKind.corpus, "--kind", help="What to write: corpus, sft, dpo or bench."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    from app.registry import registered_run
    from app.workspace import open_workspace

    if docs < 0 or (docs == 0 and kind == SampleKind.bench):
        raise WinnowError(f"--docs must be {'> 0' if kind == SampleKind.bench else '>= 0'}, got {docs}")
    if kind == SampleKind.corpus:
        from curation.samples.corpus import labels_path

        labels_path(out)  # checks the suffix before a run is recorded
    config = {"out": str(out), "docs": docs, "seed": seed, "kind": kind.value}
    ws = open_workspace(workspace)
    out_dir = out if kind == SampleKind.bench else out.parent
    with registered_run(ws, "data-sample", config, out_dir=out_dir) as (reg, run_id):
        metrics = _write(out, docs, seed, kind)
        reg.set_metrics(run_id, metrics)


def _write(out: Path, docs: int, seed: int, kind: SampleKind) -> dict:
    if kind == SampleKind.corpus:
        import polars as pl

        from curation.progress import Progress
        from curation.samples.corpus import write_sample_corpus

        with Progress(None, "sample corpus", total=docs, unit="docs") as prog:
            lpath = write_sample_corpus(out, docs, seed, progress=prog.update)
        counts = pl.read_parquet(lpath, columns=["kind"])["kind"].value_counts(sort=True)
        typer.echo(f"wrote {docs} documents to {out}")
        typer.echo(f"wrote labels to {lpath}")
        for k, c in counts.iter_rows():
            typer.echo(f"  {k:<12} {c:>8}")
        return {"docs": docs, **{f"n_{k}": c for k, c in counts.iter_rows()}}
    if kind in (SampleKind.sft, SampleKind.dpo):
        from curation.samples.chat import write_dpo, write_sft

        path = (write_sft if kind == SampleKind.sft else write_dpo)(out, docs, seed)
        typer.echo(f"wrote {docs} {kind.value.upper()} pairs to {path}")
        return {"pairs": docs}
    import orjson

    from curation.samples.bench import write_bench

    paths = write_bench(out, docs, seed)
    sizes = {}
    for split, p in paths.items():
        rows = [orjson.loads(x) for x in p.read_bytes().splitlines()]
        sizes[split] = len(rows)
        keys = Counter(r["answerKey"] for r in rows)
        typer.echo(f"wrote {len(rows)} {split} questions to {p} (answers {dict(sorted(keys.items()))})")
    typer.echo(f"marked synthetic in {out / 'SYNTHETIC.txt'}")
    return {f"n_{k}": v for k, v in sizes.items()}


def register(root: typer.Typer) -> None:
    """The command lives in the shared `data` group (registered by app.commands.groups)."""
