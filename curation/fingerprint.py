"""Content fingerprints of files and Winnow folders: what a run key and lineage say an input *is*.

A file's fingerprint is a fast hash (xxh3-128) of its bytes. Hashing a large corpus on every rerun would
cost a full read, so results are cached by (path, size, mtime_ns, ctime_ns, inode): an edit in place
changes ctime even when a tool restores mtime, so a cached value is never reused for other bytes. The cache
is an SQLite file (safe with several writers) under `$WINNOW_CACHE_DIR` (default `~/.cache/winnow`); when it
cannot be opened, every call hashes.

A Winnow output folder (curated run, model, report) is fingerprinted by the `fingerprint` its
`manifest.json` records, so lineage never rehashes a model's weights.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import xxhash

_CHUNK = 8 << 20
_lock = threading.Lock()
_conn: sqlite3.Connection | None = None
_conn_pid: int | None = None


def cache_dir() -> Path:
    return Path(os.environ.get("WINNOW_CACHE_DIR") or Path.home() / ".cache" / "winnow")


def _cache() -> sqlite3.Connection | None:
    global _conn, _conn_pid
    if _conn is not None and _conn_pid == os.getpid():
        return _conn
    try:
        d = cache_dir()
        d.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(d / "fingerprints.sqlite", timeout=10, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS fp (path TEXT PRIMARY KEY, stat TEXT NOT NULL, digest TEXT NOT NULL)")
    except (OSError, sqlite3.Error):
        return None
    _conn, _conn_pid = conn, os.getpid()
    return conn


def _stat_key(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"


def hash_bytes_of(path: str | Path) -> str:
    """xxh3-128 of a file's bytes, read in chunks (no cache)."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return "xxh3-128:" + h.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """Content fingerprint of one file, cached by its stat so an unchanged file is not read again."""
    p = Path(path).absolute()
    st = p.stat()
    key = _stat_key(st)
    with _lock:
        conn = _cache()
        if conn is not None:
            try:
                row = conn.execute("SELECT stat, digest FROM fp WHERE path = ?", (str(p),)).fetchone()
            except sqlite3.Error:
                row = None
            if row is not None and row[0] == key:
                return row[1]
    digest = hash_bytes_of(p)
    if _stat_key(p.stat()) != key:  # written while we read it: do not cache a torn read
        return digest
    with _lock:
        conn = _cache()
        if conn is not None:
            try:
                with conn:
                    conn.execute("INSERT OR REPLACE INTO fp VALUES (?, ?, ?)", (str(p), key, digest))
            except sqlite3.Error:
                pass
    return digest


def folder_fingerprint(path: str | Path) -> str | None:
    """The fingerprint a Winnow folder's manifest records, or None when it has none."""
    try:
        return manifest_fingerprint((Path(path) / "manifest.json").read_bytes())
    except OSError:
        return None


def manifest_fingerprint(manifest: bytes | str) -> str | None:
    """The fingerprint in a manifest.json's text (read from a folder or an object store), or None."""
    try:
        data = json.loads(manifest)
    except ValueError:
        return None
    fp = data.get("fingerprint") if isinstance(data, dict) else None
    return fp if isinstance(fp, str) else None


def fingerprint(path: str | Path) -> str:
    """A file's content fingerprint, or a Winnow folder's manifest fingerprint; a plain folder is
    fingerprinted by its files' relative paths and fingerprints."""
    p = Path(path)
    if p.is_file():
        return file_fingerprint(p)
    fp = folder_fingerprint(p)
    if fp is not None:
        return fp
    h = xxhash.xxh3_128()
    for f in sorted(x for x in p.rglob("*") if x.is_file()):
        h.update(f"{f.relative_to(p).as_posix()}\0{file_fingerprint(f)}\n".encode())
    return "xxh3-128:" + h.hexdigest()


def combine(parts: list[str] | dict[str, str]) -> str:
    """One fingerprint over several (a manifest's own fingerprint over its outputs)."""
    items = sorted(parts.items()) if isinstance(parts, dict) else [(str(i), v) for i, v in enumerate(parts)]
    h = xxhash.xxh3_128()
    for k, v in items:
        h.update(f"{k}\0{v}\n".encode())
    return "xxh3-128:" + h.hexdigest()
