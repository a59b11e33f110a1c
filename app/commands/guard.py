"""`winnow guard`: guardrail scanners and policies (`scan`, `train`; bench, chat and probe join the group).

Every command is a registered run. `guard scan` exits 0 when the text passes the policy and 1 when a
scanner blocked it (scripts can branch on it); errors a user can fix exit 2, as everywhere.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer

from app.commands import groups
from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from curation.errors import WinnowError

POLICY_HELP = "Policy YAML (default: the policy shipped in guardrails/policies/default.yaml)."


def read_text_arg(text: str | None, file: Path | None) -> str:
    """The text to scan: --file (bytes decoded as UTF-8 with replacement), '-' for standard input, or TEXT."""
    if file is not None and text is not None:
        raise WinnowError("give a TEXT argument or --file, not both")
    if file is not None:
        if not file.is_file():
            raise WinnowError(f"file not found: {file}")
        return file.read_bytes().decode("utf-8", errors="replace")
    if text == "-":
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    if text is None:
        raise WinnowError("give a TEXT argument or --file")
    return text


def _short(s: str | None, n: int = 60) -> str:
    s = s or ""
    return repr(s if len(s) <= n else s[:n] + "...")


def format_result(result: Any, side: str) -> str:
    """The human form of a PolicyResult: one block per scanner, then the verdict and the sanitized text."""
    lines = []
    for v in result.verdicts:
        state = "FLAG" if not v.valid else "pass"
        extra = f" -> {v.action}" if v.action else ""
        late = " TIMED OUT" if v.timed_out else ""
        lines.append(f"{v.scanner:<18} {state}{extra:<10} score {v.score:.2f}  {v.latency_ms:7.2f} ms{late}")
        for r in v.reasons:
            lines.append(f"    {r}")
        for sp in v.spans[:20]:
            lines.append(f"    {sp.label:<22} {sp.start:>6}-{sp.end:<6} {_short(sp.text)}")
        if len(v.spans) > 20:
            lines.append(f"    ... {len(v.spans) - 20} more spans")
    verdict = "PASS" if result.valid else f"BLOCKED by {', '.join(result.blocked_by)}"
    warned = f" (warnings: {', '.join(result.warned_by)})" if result.warned_by else ""
    lines.append(f"--- {side}: {verdict}{warned}; {result.latency_ms:.2f} ms in all")
    lines.append(result.sanitized if len(result.sanitized) <= 4000 else result.sanitized[:4000] + " ...")
    return "\n".join(lines)


@groups.guard.command("scan")
def scan(
    text: str = typer.Argument(None, help="Text to scan ('-' reads standard input), or use --file."),
    file: Path = typer.Option(None, "--file", help="Scan this file's text instead."),
    policy: Path = typer.Option(None, "--policy", help=POLICY_HELP),
    output: bool = typer.Option(False, "--output", help="Scan TEXT as a model's answer with the output rails."),
    prompt: str = typer.Option(None, "--prompt", help="With --output: the prompt that produced the answer."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Run a policy's input rails (or output rails) on one text: each scanner's verdict, spans and latency."""
    from app.registry import registered_run
    from app.workspace import open_workspace
    from guardrails.policy import PolicyRunner, load_policy

    if prompt is not None and not output:
        raise WinnowError("--prompt goes with --output (the prompt that produced the answer being scanned)")
    content = read_text_arg(text, file)
    pol = load_policy(policy)  # validated before anything runs
    ws = open_workspace(workspace)
    side = "output" if output else "input"
    config = {"policy": str(policy) if policy else "default", "side": side, "chars": len(content),
              "file": str(file) if file else None}
    with registered_run(ws, "guard-scan", config) as (reg, run_id):
        t0 = time.perf_counter()
        runner = PolicyRunner(pol)
        load_s = time.perf_counter() - t0
        result = runner.scan_output(content, prompt) if output else runner.scan_input(content)
        reg.set_metrics(run_id, {"valid": result.valid, "blocked_by": result.blocked_by,
                                 "latency_ms": round(result.latency_ms, 3), "load_s": round(load_s, 3)})
    if as_json:
        typer.echo(json.dumps({"side": side, "policy": pol.name, **result.to_dict()}, indent=2, ensure_ascii=False))
    else:
        typer.echo(format_result(result, side))
    if not result.valid:
        raise typer.Exit(1)


@groups.guard.command("train")
def train(
    kind: str = typer.Argument(..., help="Which shipped model to rebuild: injection or toxicity."),
    data_dir: Path = typer.Option(Path("../shared/data"), "--data-dir",
                                  help="Folder laid out like ../shared/data (prompts/, sft/, preference/, toxicity/)."),
    out: Path = typer.Option(None, "--out", help="Model path (default: the shipped guardrails/models/<kind>.bin)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the held-out split, augmentation and fastText."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Train a guardrail model from public data; write it with its model card (command, data sha256, scores)."""
    from app.registry import registered_run
    from app.workspace import open_workspace
    from guardrails.train import KINDS, model_path, train_guard_model

    if kind not in KINDS:
        raise WinnowError(f"unknown guard model {kind!r}; known: {', '.join(KINDS)}")
    if not data_dir.is_dir():
        raise WinnowError(f"data folder not found: {data_dir} (pass --data-dir, laid out like ../shared/data)")
    ws = open_workspace(workspace)
    target = out or model_path(kind)
    run_dir = ws / "runs" / f"guard-train-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    command = f"winnow guard train {kind} --data-dir {data_dir}" + (f" --out {out}" if out else "") + \
        (f" --seed {seed}" if seed else "")
    config = {"kind": kind, "data_dir": str(data_dir), "out": str(target), "seed": seed}
    with registered_run(ws, f"guard-train-{kind}", config, run_dir) as (reg, run_id):
        card = train_guard_model(kind, data_dir, target, seed=seed, command=command, progress_dir=run_dir)
        reg.set_metrics(run_id, {name: round(m["f1"], 4) if "f1" in m else round(m["fpr"], 4)
                                 for name, m in card["scores"].items()})
    typer.echo(f"{kind} model -> {target} ({card['size_bytes']} bytes); card: {target.with_suffix('.md')}")
    for name, m in card["scores"].items():
        if "f1" in m:
            typer.echo(f"  {name:<14} n={m['n']:<5} precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
                       f"F1 {m['f1']:.3f}")
        else:
            typer.echo(f"  {name:<14} n={m['n']:<5} false-positive rate {m['fpr']:.3f} ({m['texts']})")


def register(root: typer.Typer) -> None:  # commands live on groups.guard
    return None
