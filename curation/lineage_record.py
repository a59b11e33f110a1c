"""The `lineage` block every job writes into its `manifest.json`, so lineage is walked from folders alone.

A job records what it read (raw files and plain folders by content fingerprint; Winnow folders, its
*parents*, by the fingerprint their own manifest carries), the command and config as given, and the code
and package versions. `stamp_fingerprint` then gives the manifest its own fingerprint over its outputs and
that record, so a child that recorded an older fingerprint of its parent can be flagged as stale.

    manifest["lineage"] = lineage_block(inputs=files, parents=[curated_dir], command=argv, config=cfg)
    stamp_fingerprint(manifest, [out / "kept", out / "removed.parquet"])
    write(manifest)

Kept free of heavy imports: curation, training and evaluation all call it.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from curation.fingerprint import combine, file_fingerprint, fingerprint, folder_fingerprint

SCHEMA = 1
PACKAGES = ["winnow", "polars", "pyarrow", "numpy", "datatrove", "datasketch", "presidio-analyzer",
            "presidio-anonymizer", "fasttext-numpy2-wheel", "spacy", "torch", "transformers", "trl", "peft",
            "accelerate", "datasets", "lm-eval", "tokenizers"]
# Files in an output folder that describe the job rather than being its output.
_NOT_OUTPUT = {"manifest.json", "progress.jsonl", "run.lock", ".lock"}


@lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            continue
    return tuple(out.items())


def package_versions() -> dict[str, str]:
    """Python and the installed versions of the packages a result can depend on (read once a process)."""
    return dict(_versions())


def code_version() -> dict[str, str | None]:
    """Winnow's version and, in a git checkout, the commit (read from .git without a subprocess)."""
    root = Path(__file__).resolve().parent.parent
    commit = None
    try:
        head = (root / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            ref_file = root / ".git" / ref
            if ref_file.exists():
                commit = ref_file.read_text().strip()
            else:
                packed = root / ".git" / "packed-refs"
                for line in packed.read_text().splitlines() if packed.exists() else []:
                    if line.endswith(" " + ref):
                        commit = line.split(" ", 1)[0]
        else:
            commit = head
    except OSError:
        commit = None
    try:
        v = version("winnow")
    except PackageNotFoundError:
        v = None
    return {"winnow": v, "git_commit": commit}


def _is_winnow_folder(p: Path) -> bool:
    return p.is_dir() and (p / "manifest.json").is_file()


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


def lineage_block(*, inputs: list[str | Path] = (), parents: list[str | Path] = (),
                  command: list[str] | None = None, config: dict | None = None,
                  kind: str | None = None) -> dict:
    """What a job read and how it was asked to run, for `manifest["lineage"]`.

    `inputs` are raw files or folders (a folder that is itself a Winnow output is recorded as a parent);
    `parents` are Winnow output folders (curated run, model, report). `command` defaults to this
    process's argv; `config` is the config as given (after `--set` overrides). `kind` names what the job
    made ("curated", "mix", "sft", "dpo", "pretrain", "eval", ...)."""
    ins: list[dict[str, Any]] = []
    pars: list[dict[str, Any]] = []
    seen: set[str] = set()
    for raw in list(parents) + list(inputs):
        p = Path(raw).absolute()
        if str(p) in seen:
            continue
        seen.add(str(p))
        if _is_winnow_folder(p):
            pars.append({"path": str(p), "fingerprint": folder_fingerprint(p), "kind": _folder_kind(p)})
        elif p.is_file():
            ins.append({"path": str(p), "fingerprint": file_fingerprint(p), "type": "file"})
        elif p.is_dir():
            ins.append({"path": str(p), "fingerprint": fingerprint(p), "type": "folder"})
        else:
            ins.append({"path": str(p), "fingerprint": None, "type": "missing"})
    return {
        "schema": SCHEMA,
        "kind": kind,
        "inputs": ins,
        "parents": pars,
        "command": list(command) if command is not None else list(sys.argv),
        "config": _jsonable(config) if config is not None else None,
        "code": code_version(),
        "versions": package_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _folder_kind(p: Path) -> str | None:
    try:
        m = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    lin = m.get("lineage") if isinstance(m, dict) else None
    return lin.get("kind") if isinstance(lin, dict) else None


def output_fingerprints(outputs: list[str | Path]) -> dict[str, str]:
    """name -> content fingerprint of each output; a folder contributes one entry per file (relative
    names), skipping the manifest and progress files, which describe the job rather than its output."""
    out: dict[str, str] = {}
    for raw in outputs:
        p = Path(raw)
        if p.is_file():
            out[p.name] = file_fingerprint(p)
        elif p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                rel = f.relative_to(p)
                if rel.name in _NOT_OUTPUT and len(rel.parts) == 1:
                    continue
                out[f"{p.name}/{rel.as_posix()}"] = file_fingerprint(f)
    return out


def manifest_fingerprint(outputs: dict[str, str], lineage: dict | None) -> str:
    """One fingerprint over a job's outputs and what it was made from and how."""
    parts = {f"out:{k}": v for k, v in outputs.items()}
    if lineage:
        for i, x in enumerate(lineage.get("inputs", [])):
            parts[f"in:{i}:{x.get('path')}"] = str(x.get("fingerprint"))
        for i, x in enumerate(lineage.get("parents", [])):
            parts[f"parent:{i}:{x.get('path')}"] = str(x.get("fingerprint"))
        parts["config"] = json.dumps(lineage.get("config"), sort_keys=True, default=str)
    return combine(parts)


def stamp_fingerprint(manifest: dict, outputs: list[Path]) -> str:
    """Fingerprint `outputs` (files or folders), record them under `manifest["lineage"]["outputs"]` and
    set `manifest["fingerprint"]`; returns it. Call last, just before writing the manifest."""
    outs = output_fingerprints(outputs)
    lin = manifest.get("lineage")
    if isinstance(lin, dict):
        lin["outputs"] = outs
    else:
        manifest["outputs_fingerprints"] = outs
    fp = manifest_fingerprint(outs, lin if isinstance(lin, dict) else None)
    manifest["fingerprint"] = fp
    return fp
