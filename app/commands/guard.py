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
        if file.is_dir():
            raise WinnowError(f"--file {file} is a folder: give one file to scan")
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


SHOW_CHARS = 4000  # of the sanitized text on the terminal (--json keeps it whole)


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
    shown = result.sanitized[:SHOW_CHARS]
    lines.append(shown)
    if len(shown) < len(result.sanitized):
        lines.append(f"... (sanitized text: first {len(shown):,} of {len(result.sanitized):,} characters shown; "
                     f"--json prints it whole)")
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
    out: Path = typer.Option(None, "--out", help="Model path (default: the shipped one in guardrails/models/)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the held-out split, augmentation and fastText."),
    dim: int = typer.Option(None, "--dim", help="fastText vector size, toxicity (default: PARAMS)."),
    bucket: int = typer.Option(None, "--bucket", help="fastText hash buckets for n-grams (default: PARAMS)."),
    epoch: int = typer.Option(None, "--epoch", help="fastText epochs (default: PARAMS)."),
    minn: int = typer.Option(None, "--minn", help="fastText shortest character n-gram, toxicity; 0 with --maxn 0: "
                             "word-level, ~4x faster on documents (curation's model; default: PARAMS)."),
    maxn: int = typer.Option(None, "--maxn", help="fastText longest character n-gram, toxicity (default: PARAMS)."),
    word_ngrams: int = typer.Option(None, "--word-ngrams", help="fastText word n-gram length, toxicity "
                                    "(default: PARAMS)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Train a guardrail model from public data; write it with its model card (command, data sha256, scores)."""
    from app.registry import registered_run
    from app.workspace import open_workspace
    from guardrails.train import KINDS, check_model_out, model_path, train_guard_model

    if kind not in KINDS:
        raise WinnowError(f"unknown guard model {kind!r}; known: {', '.join(KINDS)}")
    if out:
        check_model_out(out)  # the card's .json/.md must not overwrite the model: refused before a run is recorded
    if not data_dir.is_dir():
        raise WinnowError(f"data folder not found: {data_dir} (pass --data-dir, laid out like ../shared/data)")
    ws = open_workspace(workspace)
    target = out or model_path(kind)
    run_dir = ws / "runs" / f"guard-train-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    overrides = {"dim": dim, "bucket": bucket, "epoch": epoch, "minn": minn, "maxn": maxn,
                 "word_ngrams": word_ngrams}
    command = " ".join([f"winnow guard train {kind} --data-dir {data_dir}", *([f"--out {out}"] if out else []),
                        *([f"--seed {seed}"] if seed else []),
                        *(f"--{k.replace('_', '-')} {v}" for k, v in overrides.items() if v is not None)])
    config = {"kind": kind, "data_dir": str(data_dir), "out": str(target), "seed": seed, **overrides}
    with registered_run(ws, f"guard-train-{kind}", config, run_dir) as (reg, run_id):
        card = train_guard_model(kind, data_dir, target, seed=seed, command=command, progress_dir=run_dir,
                                 overrides=overrides)
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


# -- part B: bench, chat, probe (guardrails/bench.py, chat.py, probe.py) -------------------------------------
# (added after part A's commands; part A: please keep this section when rewriting the file)
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
    from guardrails.bench import check_out_dir, load_labelled, render, run_bench, scanner_entries
    from guardrails.policy import load_policy

    load_policy(policy)  # a bad policy, bad rows or an --out it must not touch fail before a run is recorded
    load_labelled(data)
    if out:
        check_out_dir(out, [data, *([policy] if policy else [])])
    ws = open_workspace(workspace)
    cfg = {"data": str(data), "policy": str(policy) if policy else None, "evasions": evasions,
           "out": str(out) if out else None}
    with registered_run(ws, "guard-bench", cfg, out.expanduser().absolute() if out else None) as (reg, run_id):
        res = run_bench(data, policy, evasions=evasions, out=out)
        p = res["policy"]
        metrics = {k: p[k] for k in ("precision", "recall", "f1", "fpr", "p50_ms", "p95_ms")} if p["n"] else {}
        metrics.update({f"{name}/f1": e["f1"] for name, e in scanner_entries(res).items()})
        reg.set_metrics(run_id, metrics)
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
