"""`winnow ablate CORPUS... --recipes A.yaml B.yaml [...] --model BASE --out DIR`: did the recipe help?"""

from __future__ import annotations

from pathlib import Path

import typer

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from curation.errors import WinnowError

_YAML = (".yaml", ".yml")


def ablate_cmd(
    inputs: list[str] = typer.Argument(..., help="Corpus files or folders, then (after --recipes) more recipes."),
    recipes: list[str] = typer.Option(..., "--recipes", help="Recipe YAML files; the first is the reference arm. "
                                                             "`--recipes A.yaml B.yaml C.yaml` works."),
    model: Path = typer.Option(..., "--model", help="Base model folder every arm trains from."),
    out: Path = typer.Option(..., "--out", help="Ablation folder (resumable: rerun to continue)."),
    train_config: Path = typer.Option(None, "--train-config", help="Training YAML (as `winnow train sft --config`)."),
    eval_config: Path = typer.Option(None, "--eval-config", help="YAML: heldout, benchmarks, data_dir, limit, "
                                                                 "batch_size, num_fewshot."),
    heldout: Path = typer.Option(None, "--heldout", help="Held-out text for bits per byte (overrides eval config)."),
    seeds: int = typer.Option(1, "--seeds", help="Training seeds per arm (paired across arms)."),
    budget_tokens: int = typer.Option(None, "--budget-tokens", help="Tokens per arm (default: the smallest arm's)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Training steps per arm (default: one pass)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Score once, mix every recipe, sample to one token budget, train and evaluate each arm, report paired
    differences against the first recipe with bootstrap CIs over items and seeds."""
    from app.ablate import AblateConfig, load_eval_settings, run_ablation, summary_lines
    from app.registry import registered_run

    corpus = [x for x in inputs if not x.lower().endswith(_YAML)]
    all_recipes = list(recipes) + [x for x in inputs if x.lower().endswith(_YAML)]
    if not corpus:
        raise WinnowError("no corpus given (CORPUS... before --recipes)")
    if len(all_recipes) < 2:
        raise WinnowError("an ablation needs at least two recipes (--recipes A.yaml B.yaml)")
    ev = load_eval_settings(eval_config)
    if heldout is not None:
        ev = ev.model_copy(update={"heldout": str(heldout.expanduser().absolute())})
    cfg = AblateConfig(corpus=[str(Path(c).absolute()) for c in corpus],
                       recipes=[str(Path(r).absolute()) for r in all_recipes], model=str(model.absolute()),
                       out=str(out.absolute()), train_config=str(train_config) if train_config else None, eval=ev,
                       seeds=seeds, budget_tokens=budget_tokens, max_steps=max_steps)
    with registered_run(workspace, "ablate", cfg.model_dump(mode="json"), cfg.out) as (reg, run_id):
        report = run_ablation(cfg, workspace, log=lambda m: typer.echo(m, err=True))
        heads = {f"{m}/{a}": d["diff"] for m, e in report["metrics"].items() for a, d in e["vs_first"].items()}
        reg.set_metrics(run_id, heads)
    for line in summary_lines(report):
        typer.echo(line)
    typer.echo(f"report: {Path(cfg.out) / 'ablation.md'}, plot: {Path(cfg.out) / 'ablation.png'}")


def register(root: typer.Typer) -> None:
    root.command("ablate")(ablate_cmd)
