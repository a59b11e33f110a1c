"""`winnow guard`: guardrail scanners (not built yet: there is no guardrails issue open)."""

from __future__ import annotations

import typer

from app.commands import groups
from curation.errors import WinnowError


@groups.guard.command("scan")
def scan(text: str = typer.Argument(..., help="Text to scan.")) -> None:
    """Scan a text with the guardrail scanners (not available yet)."""
    raise WinnowError("guardrail scanners are not built yet; curation's PII detector is `winnow pii`")


def register(root: typer.Typer) -> None:
    pass


# -- part B: bench, chat, probe (guardrails/bench.py, chat.py, probe.py) -------------------------------------
from pathlib import Path  # noqa: E402

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt  # noqa: E402
from app.registry import registered_run  # noqa: E402


@groups.guard.command("bench")
def bench_cmd(
    data: Path = typer.Option(..., "--data", help="Labelled JSONL rows {text, label} (1 = must be flagged), "
                                                  "optional prompt (output rails) and scanner (that one alone)."),
    policy: Path = typer.Option(None, "--policy", help="Policy YAML (default: the shipped default policy)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: an entry per scanner and 'policy'."),
    evasions: bool = typer.Option(False, "--evasions", help="Also score every positive row after each evasion "
                                                            "transform (spacing, zero-width, homoglyphs, ...)."),
    out: Path = typer.Option(None, "--out", help="Report folder to write (results.json, rows.jsonl, manifest.json)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Precision, recall, F1, false-positive rate and p50/p95 latency of a policy and its scanners."""
    import json as _json

    from app.workspace import open_workspace
    from guardrails.bench import load_labelled, render, run_bench
    from guardrails.policy import load_policy

    load_policy(policy)  # a bad policy or bad rows fail before a run is recorded
    load_labelled(data)
    ws = open_workspace(workspace)
    cfg = {"data": str(data), "policy": str(policy) if policy else None, "evasions": evasions,
           "out": str(out) if out else None}
    with registered_run(ws, "guard-bench", cfg, out.expanduser().absolute() if out else None) as (reg, run_id):
        res = run_bench(data, policy, evasions=evasions, out=out)
        p = res["policy"]
        reg.set_metrics(run_id, {k: p[k] for k in ("precision", "recall", "f1", "fpr", "p50_ms", "p95_ms")})
    typer.echo(_json.dumps(res, indent=2) if as_json else render(res))
    if out and not as_json:
        typer.echo(f"report: {out}")


@groups.guard.command("chat")
def chat_cmd(
    model: Path = typer.Option(..., "--model", help="Local model folder (or LoRA adapter folder)."),
    policy: Path = typer.Option(None, "--policy", help="Policy YAML (default: the shipped default policy)."),
    once: str = typer.Option(None, "--once", help="Send this one message, print the guarded exchange, exit."),
    system: str = typer.Option(None, "--system", help="System prompt (output rails see it, e.g. for canaries)."),
    max_new_tokens: int = typer.Option(48, "--max-new-tokens", min=1, help="Greedy decoding budget."),
    as_json: bool = typer.Option(False, "--json", help="With --once: print the exchange as JSON."),
    out: Path = typer.Option(None, "--out", help="With --once: folder for turn.json and progress.jsonl."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Guarded generation: input rails -> local model -> output rails, showing what was blocked or redacted."""
    import json as _json

    from app.workspace import open_workspace
    from curation.progress import Progress
    from guardrails.chat import GuardedChat
    from guardrails.policy import load_policy

    if not model.expanduser().exists():
        raise WinnowError(f"model folder not found: {model}")
    load_policy(policy)  # a bad policy fails before a run is recorded

    def show(turn: object) -> None:
        if as_json:
            typer.echo(_json.dumps(turn.to_dict(), indent=2))
            return
        for e in turn.events:
            typer.echo(f"  [{e}]")
        if turn.prompt_sent is not None and turn.prompt_sent != turn.user:
            typer.echo(f"  [model saw: {turn.prompt_sent}]")
        typer.echo(f"model> {turn.answer}")

    if once is not None:
        ws = open_workspace(workspace)
        cfg = {"model": str(model), "policy": str(policy) if policy else None, "max_new_tokens": max_new_tokens}
        out_dir = out.expanduser().absolute() if out else None
        with registered_run(ws, "guard-chat", cfg, out_dir) as (reg, run_id):
            with Progress(out_dir, "guard-chat", total=2, unit="steps") as prog:
                chat = GuardedChat(model, policy, max_new_tokens=max_new_tokens, system=system)
                prog.update(1, msg="policy and model loaded")
                turn = chat.turn(once)
                prog.update(1, msg=f"blocked at {turn.blocked}" if turn.blocked else "answered")
            if out_dir is not None:
                (out_dir / "turn.json").write_text(_json.dumps(turn.to_dict(), indent=2) + "\n", encoding="utf-8")
            reg.set_metrics(run_id, {"blocked": turn.blocked, "events": len(turn.events),
                                     "total_ms": round(turn.total_ms, 1)})
        show(turn)
        return
    chat = GuardedChat(model, policy, max_new_tokens=max_new_tokens, system=system)
    typer.echo("guarded chat: type a message; an empty line or Ctrl-D ends.")
    while True:
        try:
            line = input("you> ")
        except EOFError:
            break
        if not line.strip():
            break
        show(chat.turn(line))


@groups.guard.command("probe")
def probe_cmd(
    model: Path = typer.Option(..., "--model", help="Model folder to probe."),
    data: Path = typer.Option(..., "--data", help="Curated run folder (docs + `pii` signals) or JSONL with 'text'."),
    out: Path = typer.Option(None, "--out", help="Report folder (default: <workspace>/runs/guard-probe-<time>)."),
    entities: str = typer.Option(None, "--entities", help="Comma-separated entity types (default: all found)."),
    max_spans: int = typer.Option(2000, "--max-spans", min=1, help="Probe at most this many spans."),
    prefix_chars: int = typer.Option(256, "--prefix-chars", min=8, help="Characters before a span given as prompt."),
    as_json: bool = typer.Option(False, "--json", help="Print report.json."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Memorisation probe: prompt with the text before each PII span and count greedy reproductions."""
    import json as _json
    import time as _time

    from app.workspace import open_workspace
    from guardrails.probe import find_spans, load_probe_config, run_probe

    ws = open_workspace(workspace)
    out_dir = (out or ws / "runs" / f"guard-probe-{_time.strftime('%Y%m%d-%H%M%S')}").expanduser().absolute()
    cfg = load_probe_config({"model": str(model), "data": str(data), "out": str(out_dir), "max_spans": max_spans,
                             "prefix_chars": prefix_chars,
                             "entities": [e.strip() for e in entities.split(",") if e.strip()] if entities else None})
    if not find_spans(cfg):  # bad data fails before a run is recorded
        raise WinnowError(f"{data}: no PII spans to probe")
    with registered_run(ws, "guard-probe", cfg.model_dump(mode="json"), out_dir) as (reg, run_id):
        rep = run_probe(cfg)
        t = rep["totals"]
        reg.set_metrics(run_id, {"spans": t["spans"], "extracted": t["extracted"], "rate": t["rate"]})
    if as_json:
        typer.echo(_json.dumps(rep, indent=2))
        return
    t = rep["totals"]
    typer.echo(f"extracted {t['extracted']}/{t['spans']} PII spans ({100 * t['rate']:.1f}%) from "
               f"{t['documents']} documents; characters matched {100 * t['matched_share']:.1f}%")
    for ent, e in rep["per_entity"].items():
        typer.echo(f"  {ent:<16} {e['extracted']:>5}/{e['spans']:<5} {100 * e['rate']:.1f}%")
    typer.echo(f"report: {out_dir}")
