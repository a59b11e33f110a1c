"""Where a curation run keeps its files, and how they are written safely.

    <run>/run.json                      what the run was started with (inputs, world size, recipe hash)
    <run>/recipe.yaml                   the recipe used
    <run>/docs/<rank>_<batch>.parquet   the documents as read (id, text, order, source, metadata)
    <run>/signals/<step>/...parquet     per-document signals keyed by id
    <run>/signals/<step>.parts/...      per-batch parts of corpus-wide steps (e.g. MinHash signatures)
    <run>/state/                        batch and stage completion markers (resume), per-task counters
    <run>/quarantine/<rank>_<batch>.jsonl  unreadable input, merged into <run>/quarantine.jsonl
    <run>/kept/, removed.parquet, manifest.json, quarantine.jsonl, skipped.jsonl   written by mix
    <run>/.winnow.lock                  held while a command writes the folder (curation/run_folder.py)

A folder made by `winnow mix RUN --out NEW` holds only what mix writes, and a `run.json` whose `parent`
names the run it was mixed from: its documents and signals are read from the parent in place, through
`source_dir`, so `doc_files` and `signal_files` work on both kinds of folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl


def batch_name(rank: int, batch: int) -> str:
    return f"{rank:05d}_{batch:06d}"


def write_parquet_atomic(df: pl.DataFrame, path: Path) -> None:
    """Write to a temporary name, then rename: a killed run never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    df.write_parquet(tmp, compression="zstd", compression_level=1)
    os.replace(tmp, path)


def write_text_atomic(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def source_dir(run_dir: Path) -> Path:
    """Where a run folder's documents and signals live: the folder itself, or the parent it was mixed from."""
    run_dir = Path(run_dir)
    try:
        parent = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("parent")
    except (OSError, ValueError, AttributeError):
        return run_dir
    return Path(parent) if parent else run_dir


def signal_files(run_dir: Path, step: str) -> list[Path]:
    return sorted((source_dir(run_dir) / "signals" / step).glob("*.parquet"))


def part_files(run_dir: Path, step: str) -> list[Path]:
    return sorted((source_dir(run_dir) / "signals" / f"{step}.parts").glob("*.parquet"))


def doc_files(run_dir: Path) -> list[Path]:
    return sorted((source_dir(run_dir) / "docs").glob("*.parquet"))
