"""The offline benchmark store: `<root>/<folder>/<split>.jsonl` plus a `checksums.json` per folder.

The folders and schemas mirror the Hugging Face hub datasets lm-eval reads, so lm-eval's own task
preprocessing runs unchanged on them. Checksums make a report say exactly which data it scored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.errors import WinnowError
from curation.jsonl import iter_jsonl_objects

CHECKSUMS = "checksums.json"
SYNTHETIC_MARKER = "SYNTHETIC.txt"


@dataclass(frozen=True)
class Folder:
    """One benchmark folder of the store and the hub dataset it mirrors."""

    name: str
    hub_path: str
    hub_name: str | None
    splits: tuple[str, ...]  # splits `data pull` fetches
    required: tuple[str, ...]  # splits an evaluation cannot run without


FOLDERS: dict[str, Folder] = {
    "arc_easy": Folder("arc_easy", "allenai/ai2_arc", "ARC-Easy", ("test", "validation", "train"), ("test",)),
    "arc_challenge": Folder("arc_challenge", "allenai/ai2_arc", "ARC-Challenge", ("test", "validation", "train"),
                            ("test",)),
    "hellaswag": Folder("hellaswag", "Rowan/hellaswag", None, ("validation", "train"), ("validation",)),
    "mmlu": Folder("mmlu", "cais/mmlu", "all", ("test", "dev"), ("test", "dev")),
    "truthfulqa_mc": Folder("truthfulqa_mc", "truthfulqa/truthful_qa", "multiple_choice", ("validation",),
                            ("validation",)),
    "truthfulqa_gen": Folder("truthfulqa_gen", "truthfulqa/truthful_qa", "generation", ("validation",),
                             ("validation",)),
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def count_rows(path: Path) -> int:
    """Non-empty lines of a JSONL file (counted in binary chunks, no JSON parsing)."""
    n, last = 0, b"\n"
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (0 if last == b"\n" else 1)


def _file_record(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "rows": count_rows(path), "bytes": path.stat().st_size}


def folder_checksums(folder: Path) -> dict[str, dict[str, Any]]:
    """`{split file: {sha256, rows, bytes}}` of the files as they are now: every file is hashed each time.

    A recorded sha256 was trusted while the byte size was unchanged, so an in-place edit that kept the size
    (an answer key rotated A->B) left a stale fingerprint and stale derived files (MMLU's per-subject split).
    Hashing is cheap next to an evaluation (the whole real store, 23 MB with MMLU and HellaSwag, hashes in
    about 0.02 s), so no cache is kept; `checksums.json` only saves the row count of an unchanged file.
    """
    recorded: dict[str, Any] = {}
    ck = folder / CHECKSUMS
    if ck.exists():
        try:
            recorded = json.loads(ck.read_text(encoding="utf-8")).get("files", {})
        except (json.JSONDecodeError, AttributeError):
            raise WinnowError(f"{ck}: not a valid checksums file (delete it and run `winnow data import` "
                              "again)") from None
    out: dict[str, dict[str, Any]] = {}
    for f in sorted(folder.glob("*.jsonl")):
        sha = sha256_file(f)
        rec = recorded.get(f.name)
        if isinstance(rec, dict) and rec.get("sha256") == sha and isinstance(rec.get("rows"), int):
            out[f.name] = {"sha256": sha, "rows": rec["rows"], "bytes": f.stat().st_size}
        else:
            out[f.name] = {"sha256": sha, "rows": count_rows(f), "bytes": f.stat().st_size}
    return out


def write_checksums(folder: Path, source: str | None = None) -> dict[str, dict[str, Any]]:
    files = {f.name: _file_record(f) for f in sorted(folder.glob("*.jsonl"))}
    doc = {"folder": folder.name, "source": source, "files": files}
    (folder / CHECKSUMS).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return files


def verify_folder(folder: Path) -> list[str]:
    """Files whose content no longer matches `checksums.json` (empty when all match or none recorded)."""
    ck = folder / CHECKSUMS
    if not ck.exists():
        return []
    recorded = json.loads(ck.read_text(encoding="utf-8")).get("files", {})
    bad = []
    for name, rec in recorded.items():
        p = folder / name
        if not p.exists() or sha256_file(p) != rec.get("sha256"):
            bad.append(name)
    return bad


def is_synthetic(data_dir: Path, folders: Iterable[str] = ()) -> bool:
    """A `SYNTHETIC.txt` marker at the store root, or in any of the benchmark folders used."""
    return (data_dir / SYNTHETIC_MARKER).exists() or any((data_dir / f / SYNTHETIC_MARKER).exists()
                                                          for f in folders)


def pull_command(folder: str) -> str:
    return f"winnow data pull {folder}"


def require(data_dir: Path, folder: str) -> Path:
    """The folder's path, or a WinnowError that says which file is missing and the command that gets it."""
    spec = FOLDERS[folder]
    root = data_dir / folder
    missing = [s for s in spec.required if not (root / f"{s}.jsonl").exists()]
    if missing:
        files = ", ".join(str(root / f"{s}.jsonl") for s in missing)
        raise WinnowError(
            f"benchmark data '{folder}' is not in the store (missing {files}); get it with "
            f"`{pull_command(folder)}` (online) or `winnow data import DIR` from a copy, or pass --data-dir")
    return root


def list_store(data_dir: Path) -> list[dict[str, Any]]:
    """One row per known folder: present or not, and rows per split."""
    rows = []
    for name, spec in FOLDERS.items():
        root = data_dir / name
        splits = {f.stem: count_rows(f) for f in sorted(root.glob("*.jsonl"))} if root.is_dir() else {}
        complete = all(s in splits for s in spec.required)
        rows.append({"folder": name, "present": complete, "splits": splits,
                     "synthetic": is_synthetic(data_dir, [name]),
                     "checksums": (root / CHECKSUMS).exists(), "hub": spec.hub_path
                     + (f" ({spec.hub_name})" if spec.hub_name else "")})
    return rows


def _check_jsonl(path: Path) -> None:
    """Every line parses as a JSON object (named by file and line when one does not)."""
    for _ in iter_jsonl_objects(path):
        pass


def import_dir(src: Path, store: Path, folders: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Copy known benchmark folders from `src` into the store, validating lines and recording checksums.

    `src` is either a store-like folder (with `arc_easy/`, `mmlu/`, ...) or one benchmark folder itself.
    """
    src = Path(src)
    if not src.is_dir():
        raise WinnowError(f"{src}: not a folder")
    if src.name in FOLDERS and any(src.glob("*.jsonl")):
        pairs = [(src.name, src)]
    else:
        pairs = [(n, src / n) for n in FOLDERS if (src / n).is_dir()]
    if folders:
        wanted = set(folders)
        unknown = wanted - set(FOLDERS)
        if unknown:
            raise WinnowError(f"unknown benchmark folder(s) {sorted(unknown)}; known: {', '.join(FOLDERS)}")
        pairs = [p for p in pairs if p[0] in wanted]
    if not pairs:
        raise WinnowError(f"{src}: no benchmark folders found (expected some of: {', '.join(FOLDERS)})")
    done = []
    for name, folder in pairs:
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            continue
        for f in files:
            _check_jsonl(f)
        dest = store / name
        dest.mkdir(parents=True, exist_ok=True)
        for f in files:
            if f.resolve() != (dest / f.name).resolve():
                shutil.copyfile(f, dest / f.name)
        # the synthetic marker travels with each folder, so real data imported later is not mislabelled
        marker = src / SYNTHETIC_MARKER if (src / SYNTHETIC_MARKER).exists() else folder / SYNTHETIC_MARKER
        if marker.exists():
            if marker.resolve() != (dest / SYNTHETIC_MARKER).resolve():
                shutil.copyfile(marker, dest / SYNTHETIC_MARKER)
        else:
            (dest / SYNTHETIC_MARKER).unlink(missing_ok=True)
        recs = write_checksums(dest, source=str(folder.resolve()))
        done.append({"folder": name, "files": {k: v["rows"] for k, v in recs.items()},
                     "synthetic": marker.exists()})
    return done


def dataset_to_jsonl(ds: Any, path: Path) -> int:
    """Write a `datasets.Dataset` as JSONL in the hub schema (nested fields kept); return the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in ds:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def _offline() -> bool:
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def check_pull(folders: Iterable[str]) -> list[str]:
    """Known folder names and online mode, or a WinnowError at once."""
    names = list(folders)
    unknown = [n for n in names if n not in FOLDERS]
    if unknown:
        raise WinnowError(f"unknown benchmark folder(s) {unknown}; known: {', '.join(FOLDERS)}")
    if _offline():
        raise WinnowError("cannot pull benchmarks: offline mode is on (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE); "
                          "unset it when online, or use `winnow data import DIR` from a local copy")
    host = _hub_unreachable()
    if host:
        raise WinnowError(f"cannot pull benchmarks: the Hugging Face hub ({host}) is not reachable from here; "
                          "use `winnow data import DIR` from a local copy")
    return names


def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """The hub host when a TCP connection to it fails (so offline fails in seconds, not after retries)."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return host
    return None


def pull(folders: Iterable[str], store: Path) -> list[dict[str, Any]]:
    """Download benchmark folders from the hub with `datasets` into the store (fails at once offline)."""
    names = check_pull(folders)
    import datasets

    done = []
    for name in names:
        spec = FOLDERS[name]
        dest = store / name
        counts = {}
        for split in spec.splits:
            try:
                ds = datasets.load_dataset(spec.hub_path, spec.hub_name, split=split)
            except Exception as e:  # noqa: BLE001 - network/hub errors vary; report them as one line
                if split in spec.required:
                    raise WinnowError(f"could not download {spec.hub_path} ({spec.hub_name}) split {split}: "
                                      f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
                continue
            counts[split] = dataset_to_jsonl(ds, dest / f"{split}.jsonl")
        write_checksums(dest, source=f"hf://{spec.hub_path}/{spec.hub_name or ''}")
        done.append({"folder": name, "files": counts})
    return done
