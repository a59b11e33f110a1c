"""Lineage walked from the folders alone: raw files -> curated run -> model(s) -> evaluation report.

Every Winnow output folder has a `manifest.json` whose `lineage` block (curation/lineage_record.py) names
its inputs (raw files by content fingerprint) and parents (Winnow folders by the fingerprint their manifest
carried when the job ran). Walking up follows those records; walking down (`down=True`) scans the workspace
folders for manifests that name a folder as a parent. The run registry is only an index (run ids, extra
folders to scan): with it gone, the walk still works.

A node is *stale* when something it was made from changed after it was made: a parent's manifest now
carries a different fingerprint (re-mixed with another recipe, retrained) or a raw file's bytes changed.
Staleness propagates: whatever was made from a stale node is stale too. A parent folder that is gone is a
*gap*: the walk shows what it can see and marks the hole.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from curation.errors import WinnowError
from curation.fingerprint import file_fingerprint, fingerprint

# How deep under a scan root a Winnow folder may sit (workspace/runs/ablation/arms/x is 4).
SCAN_DEPTH = 4
# Folders inside a Winnow output that never hold another output: not descended into.
_SKIP_DIRS = {"docs", "signals", "kept", "state", "logs", "checkpoints", "lm_eval", "tasks", "quarantine",
              "cache", "__pycache__", ".git"}


@dataclass
class Node:
    """One artifact: a raw input (file or plain folder) or a Winnow output folder."""

    path: str
    kind: str  # raw-file, raw-folder, curated, mix, sft, dpo, pretrain, eval, model, ablation, missing, ...
    fingerprint: str | None = None
    exists: bool = True
    run_id: int | None = None
    label: str | None = None  # recipe name, metric, ... for display
    stale: bool = False
    stale_reasons: list[str] = field(default_factory=list)


@dataclass
class Edge:
    """`child` was made from `parent`; `recorded` is the parent's fingerprint when the child was made."""

    parent: str
    child: str
    recorded: str | None
    current: str | None
    stale: bool


@dataclass
class LineageGraph:
    """The typed graph the CLI prints and the app draws."""

    root: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    def parents(self, path: str) -> list[Edge]:
        return [e for e in self.edges if e.child == path]

    def children(self, path: str) -> list[Edge]:
        return [e for e in self.edges if e.parent == path]

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "nodes": [asdict(n) for n in self.nodes.values()],
                "edges": [asdict(e) for e in self.edges], "gaps": self.gaps,
                "stale": [p for p, n in self.nodes.items() if n.stale]}


# ------------------------------------------------------------------------------------------- manifests
def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    try:
        with open(os.path.join(folder, "manifest.json"), "rb") as fh:
            m = orjson.loads(fh.read())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def _kind(folder: Path, m: dict[str, Any]) -> str:
    lin = m.get("lineage") or {}
    if lin.get("kind"):
        return str(lin["kind"])
    k = str(m.get("kind") or "")
    if k.startswith("train-"):
        return k[6:]
    if k:
        return k
    if "recipe" in m and "kept" in m:
        return "curated"
    if (folder / "report.json").exists():
        return "eval"
    return "folder"


def _label(kind: str, m: dict[str, Any]) -> str | None:
    if kind in ("curated", "mix"):
        r = m.get("recipe") or {}
        name = r.get("name") if isinstance(r, dict) else None
        kept = m.get("kept")
        return f"recipe {name or '?'}, kept {kept}" if kept is not None else f"recipe {name or '?'}"
    if kind == "eval":
        s = m.get("scores") or {}
        parts = [f"{b} {v['value']:.4g}" for b, v in s.items() if isinstance(v, dict)
                 and isinstance(v.get("value"), (int, float))]
        p = m.get("perplexity") or {}
        if isinstance(p, dict) and isinstance(p.get("bits_per_byte"), (int, float)):
            parts.append(f"bpb {p['bits_per_byte']:.4f}")
        return ", ".join(parts) or None
    if kind in ("sft", "dpo", "pretrain"):
        met = m.get("metrics") or {}
        return f"loss {met['final_loss']:.4g}" if isinstance(met.get("final_loss"), (int, float)) else None
    return None


def recorded_links(folder: Path, m: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(inputs, parents) a manifest records; manifests written before the lineage block are read best-effort
    (curation's `inputs`, training's `data` + base model, a report's model) with unknown fingerprints."""
    lin = m.get("lineage")
    if isinstance(lin, dict):
        return list(lin.get("inputs") or []), list(lin.get("parents") or [])
    ins: list[dict[str, Any]] = []
    pars: list[dict[str, Any]] = []
    for x in m.get("inputs") or []:
        if isinstance(x, dict) and x.get("path"):
            ins.append({"path": x["path"], "fingerprint": None, "type": "file"})
    cfg = m.get("config") if isinstance(m.get("config"), dict) else {}
    for d in (cfg.get("data") or []) if str(m.get("kind", "")).startswith("train-") else []:
        p = Path(d)
        (pars if (p / "manifest.json").exists() else ins).append({"path": str(p.absolute()), "fingerprint": None})
    if cfg.get("model") and Path(cfg["model"]).exists():
        p = Path(cfg["model"])
        (pars if (p / "manifest.json").exists() else ins).append({"path": str(p.absolute()), "fingerprint": None})
    return ins, pars


# ------------------------------------------------------------------------------------------- scanning
@dataclass
class WorkspaceIndex:
    """Every Winnow folder found under the scan roots: path -> manifest, and who names whom as a parent."""

    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_fingerprint: dict[str, str] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    run_ids: dict[str, int] = field(default_factory=dict)


def _walk_dirs(root: str, depth: int):
    """Folders holding a manifest.json under `root` (plain strings and scandir: this runs per folder)."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    dirs = []
    for e in entries:
        if e.name == "manifest.json":
            yield root
        elif depth > 0 and e.name not in _SKIP_DIRS and not e.name.startswith(".") and e.is_dir(follow_symlinks=False):
            dirs.append(e.path)
    for d in dirs:
        yield from _walk_dirs(d, depth - 1)


def index_workspace(workspace: str | Path | None, extra_roots: list[Path] = ()) -> WorkspaceIndex:
    """Scan the workspace (and any extra roots) for Winnow folders; the registry, when present, adds the
    folders it knows of elsewhere and their run ids."""
    idx = WorkspaceIndex()
    roots: list[Path] = [Path(r) for r in extra_roots]
    ws = Path(workspace).absolute() if workspace else None
    if ws is not None and ws.is_dir():
        roots.insert(0, ws)
        if (ws / "runs.sqlite").exists():
            idx.run_ids = _registry_index(ws)
            prefixes = tuple(os.path.join(os.path.abspath(r), "") for r in roots)
            roots += [Path(p) for p in idx.run_ids if not os.path.join(p, "").startswith(prefixes)]
    seen: set[str] = set()
    extra = {os.path.abspath(r) for r in extra_roots}
    for root in roots:
        # a target's own neighbourhood (outside the workspace) is scanned shallowly: it may be a home folder
        depth = 3 if os.path.abspath(root) in extra else SCAN_DEPTH
        for key in _walk_dirs(os.path.abspath(root), depth):
            if key in seen:
                continue
            seen.add(key)
            m = read_manifest(key)
            if m is None:
                continue
            idx.manifests[key] = m
            if isinstance(m.get("fingerprint"), str):
                idx.by_fingerprint[m["fingerprint"]] = key
            lin = m.get("lineage")
            pars = lin.get("parents") or [] if isinstance(lin, dict) else recorded_links(Path(key), m)[1]
            for p in pars:
                idx.children.setdefault(str(p.get("path")), []).append(key)
    return idx


def _registry_index(ws: Path) -> dict[str, int]:
    """out_dir -> run id from the registry; an unreadable registry is no index, not an error."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{ws / 'runs.sqlite'}?mode=ro", uri=True, timeout=5)
        rows = conn.execute("SELECT out_dir, id FROM runs WHERE out_dir IS NOT NULL ORDER BY id").fetchall()
        conn.close()
    except sqlite3.Error:
        return {}
    return {os.path.abspath(o): int(i) for o, i in rows}


def resolve_target(target: str, workspace: str | Path | None) -> Path:
    """A folder (or file) path, or a run id looked up in the registry."""
    p = Path(target).expanduser()
    if p.exists():
        return p.absolute()
    if target.isdigit() and workspace:
        ws = Path(workspace).absolute()
        ids = {v: k for k, v in _registry_index(ws).items()} if (ws / "runs.sqlite").exists() else {}
        if int(target) in ids:
            return Path(ids[int(target)])
        raise WinnowError(f"no run with id {target} in the registry of {ws} (pass the output folder instead)")
    raise WinnowError(f"{target}: no such folder or file")


# ------------------------------------------------------------------------------------------- walking
class _Walker:
    def __init__(self, idx: WorkspaceIndex, workspace: Path | None = None) -> None:
        self.idx = idx
        self._lazy_ws = workspace  # scanned only when a recorded parent is not where it was
        self.g: LineageGraph | None = None
        self._fp_cache: dict[str, str | None] = {}

    def current_fp(self, path: str) -> str | None:
        if path not in self._fp_cache:
            p = Path(path)
            if path in self.idx.manifests:
                fp = self.idx.manifests[path].get("fingerprint")
            elif (p / "manifest.json").is_file():
                m = read_manifest(p)
                fp = m.get("fingerprint") if m else None
            elif p.is_file():
                fp = file_fingerprint(p)
            elif p.is_dir():
                fp = fingerprint(p)
            else:
                fp = None
            self._fp_cache[path] = fp if isinstance(fp, str) else None
        return self._fp_cache[path]

    def manifest(self, path: str) -> dict[str, Any] | None:
        if path not in self.idx.manifests:
            m = read_manifest(path)
            if m is not None:
                self.idx.manifests[path] = m
        return self.idx.manifests.get(path)

    def add_folder(self, path: str) -> Node:
        g = self.g
        assert g is not None
        if path in g.nodes:
            return g.nodes[path]
        p = Path(path)
        m = self.manifest(path)
        if m is None:
            if p.is_file():
                node = Node(path, "raw-file", self.current_fp(path))
            elif p.is_dir():
                node = Node(path, "raw-folder", self.current_fp(path))
            else:
                node = Node(path, "missing", None, exists=False)
                g.gaps.append(path)
        else:
            kind = _kind(p, m)
            node = Node(path, kind, m.get("fingerprint") if isinstance(m.get("fingerprint"), str) else None,
                        label=_label(kind, m))
        node.run_id = self.idx.run_ids.get(path)
        g.nodes[path] = node
        return node

    def resolve_parent(self, rec: dict[str, Any]) -> str:
        """The recorded path, or (moved or renamed) the folder now carrying the recorded fingerprint."""
        path = str(rec.get("path"))
        if Path(path).exists():
            return path
        fp = rec.get("fingerprint")
        if fp and fp not in self.idx.by_fingerprint and self._lazy_ws is not None:
            full = index_workspace(self._lazy_ws)
            self._lazy_ws = None
            full.manifests.update(self.idx.manifests)
            self.idx = full
        if fp and fp in self.idx.by_fingerprint:
            return self.idx.by_fingerprint[fp]
        return path

    def link(self, parent_rec: dict[str, Any], child: str) -> str:
        g = self.g
        assert g is not None
        parent = self.resolve_parent(parent_rec)
        pnode = self.add_folder(parent)
        recorded = parent_rec.get("fingerprint")
        current = pnode.fingerprint if pnode.exists else None
        stale = bool(recorded and pnode.exists and current != recorded)
        if not any(e.parent == parent and e.child == child for e in g.edges):
            g.edges.append(Edge(parent, child, recorded, current, stale))
        if stale:
            cnode = g.nodes[child]
            cnode.stale = True
            what = "its bytes" if pnode.kind.startswith("raw") else "its manifest fingerprint"
            cnode.stale_reasons.append(f"{parent} changed after this was made ({what}: recorded "
                                       f"{_short(recorded)}, now {_short(current)})")
        elif not pnode.exists:
            g.nodes[child].stale_reasons.append(f"{parent} is missing (gap in the lineage)")
        return parent

    def up(self, path: str, seen: set[str]) -> None:
        if path in seen:
            return
        seen.add(path)
        m = self.manifest(path)
        if m is None:
            return
        ins, pars = recorded_links(Path(path), m)
        for rec in pars + ins:
            parent = self.link(rec, path)
            if self.g.nodes[parent].exists and self.g.nodes[parent].kind not in ("raw-file", "raw-folder"):
                self.up(parent, seen)

    def down(self, path: str, seen: set[str]) -> None:
        if path in seen:
            return
        seen.add(path)
        for child in self.idx.children.get(path, []):
            self.add_folder(child)
            m = self.manifest(child) or {}
            _, pars = recorded_links(Path(child), m)
            for rec in pars:
                if str(rec.get("path")) == path:
                    self.link(rec, child)
            self.down(child, seen)


def _short(fp: str | None) -> str:
    if not fp:
        return "none"
    return fp.split(":", 1)[-1][:10]


def _propagate(g: LineageGraph) -> None:
    """Whatever was made from a stale node is stale too (in topological order by repeated passes)."""
    changed = True
    while changed:
        changed = False
        for e in g.edges:
            p, c = g.nodes[e.parent], g.nodes[e.child]
            if p.stale and not any(r.startswith("made from stale") and e.parent in r for r in c.stale_reasons):
                c.stale = True
                c.stale_reasons.append(f"made from stale {e.parent}")
                changed = True


def lineage(target: str | Path, workspace: str | Path | None = None, *, down: bool = False,
            index: WorkspaceIndex | None = None) -> LineageGraph:
    """The lineage graph of an output folder (or run id): its ancestry and, with `down`, its descendants."""
    root = resolve_target(str(target), workspace)
    ws = Path(workspace).absolute() if workspace else None
    lazy = None
    if index is None:
        if down:  # the target's own neighbourhood is scanned too, so folders outside the workspace are found
            inside = ws is not None and os.path.join(str(root), "").startswith(os.path.join(str(ws), ""))
            index = index_workspace(ws, [] if inside else [root.parent])
        else:  # walking up needs no scan unless a parent moved: then the workspace is scanned once
            index = WorkspaceIndex(run_ids=_registry_index(ws) if ws and (ws / "runs.sqlite").exists() else {})
            lazy = ws if ws and ws.is_dir() else None
    w = _Walker(index, lazy)
    g = LineageGraph(root=str(root))
    w.g = g
    w.add_folder(str(root))
    w.up(str(root), set())
    if down:
        w.down(str(root), set())
    _propagate(g)
    return g


# ------------------------------------------------------------------------------------------- printing
def render_text(g: LineageGraph, down: bool = False) -> str:
    """The ancestry as an indented tree (the root first, its inputs under it), then descendants."""
    lines: list[str] = []

    def describe(n: Node) -> str:
        bits = [n.kind, n.path]
        if n.run_id is not None:
            bits.append(f"run {n.run_id}")
        if n.label:
            bits.append(f"({n.label})")
        if not n.exists:
            bits.append("[GAP: folder missing]")
        if n.stale:
            bits.append("[STALE]")
        return "  ".join(bits)

    def tree(path: str, prefix: str, edges_of, seen: set[str]) -> None:
        es = edges_of(path)
        for i, e in enumerate(es):
            nxt = e.parent if edges_of == g.parents else e.child
            last = i == len(es) - 1
            lines.append(prefix + ("└─ " if last else "├─ ") + describe(g.nodes[nxt])
                         + (" (see above)" if nxt in seen else ""))
            if nxt not in seen:
                seen.add(nxt)
                tree(nxt, prefix + ("   " if last else "│  "), edges_of, seen)

    lines.append(describe(g.nodes[g.root]))
    tree(g.root, "", g.parents, {g.root})
    if down:
        kids = g.children(g.root)
        lines.append("made from it:" if kids else "made from it: nothing found in the workspace")
        tree(g.root, "", g.children, {g.root})
    stale = [n for n in g.nodes.values() if n.stale]
    for n in stale:
        for r in n.stale_reasons:
            lines.append(f"stale: {n.path}: {r}")
    for gap in g.gaps:
        lines.append(f"gap: {gap} is missing; lineage beyond it is unknown")
    return "\n".join(lines)
