"""`winnow ablate CORPUS... --recipes A.yaml B.yaml [...] --model BASE --out DIR`: did the recipe help?"""

from __future__ import annotations

from pathlib import Path

import typer

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from curation.errors import WinnowError

_YAML = (".yaml", ".yml")


def ablate_cmd(
    inputs: list[str] = typer.Argument(..., help="Corpus files or folders, then (after --recipes) more recipes."),
    recipes: list[str] = typer.Option(..., "--recipes", help="Recipe YAML files (or the built-in `default` and "
                                                             "`keep-everything`); the first is the reference arm. "
                                                             "`--recipes A.yaml B.yaml C.yaml` works."),
    model: Path = typer.Option(..., "--model", help="Base model folder every arm trains from."),
    out: Path = typer.Option(..., "--out", help="Ablation folder (resumable: rerun to continue)."),
    train_config: Path = typer.Option(None, "--train-config", help="Training YAML (as `winnow train sft --config`)."),
    eval_config: Path = typer.Option(None, "--eval-config", help="YAML: heldout, benchmarks, data_dir, limit, "
                                                                 "batch_size, num_fewshot."),
    heldout: Path = typer.Option(None, "--heldout", help="Held-out text for bits per byte (overrides eval config)."),
    heldout_clean: Path = typer.Option(None, "--heldout-clean",
                                       help="A labelled sample corpus (`winnow data sample`): its clean documents "
                                            "are the held-out text."),
    scored: Path = typer.Option(None, "--scored", help="Mix from this curated run's signals instead of scoring "
                                                       "the corpus again."),
    seeds: int = typer.Option(1, "--seeds", help="Training seeds per arm (paired across arms)."),
    budget_tokens: int = typer.Option(None, "--budget-tokens", help="Tokens per arm (default: the smallest arm's)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Training steps per arm (default: one pass)."),
    max_length: int = typer.Option(None, "--max-length", help="Training sequence length in tokens (overrides "
                                                              "--train-config; shorter is faster)."),
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Score once, mix every recipe, sample to one token budget, train and evaluate each arm, report paired
    differences against the first recipe with bootstrap CIs over items and seeds."""
    from app.ablate import BUILTIN, AblateConfig, load_eval_settings, run_ablation, summary_lines
    from app.registry import registered_run

    def is_recipe(x: str) -> bool:
        return x.lower().endswith(_YAML) or (x in BUILTIN and not Path(x).exists())

    corpus = [x for x in inputs if not is_recipe(x)]
    all_recipes = list(recipes) + [x for x in inputs if is_recipe(x)]
    if not corpus:
        raise WinnowError("no corpus given (CORPUS... before --recipes)")
    if len(all_recipes) < 2:
        raise WinnowError("an ablation needs at least two recipes (--recipes A.yaml B.yaml)")
    ev = load_eval_settings(eval_config)
    if heldout is not None and heldout_clean is not None:
        raise WinnowError("give --heldout or --heldout-clean, not both")
    if heldout_clean is not None:
        from app.ablate import clean_heldout

        heldout = clean_heldout(heldout_clean, out / "heldout.jsonl")
    if heldout is not None:
        ev = ev.model_copy(update={"heldout": str(heldout.expanduser().absolute())})
    cfg = AblateConfig(corpus=[str(Path(c).absolute()) for c in corpus],
                       recipes=[r if r in BUILTIN and not Path(r).exists() else str(Path(r).absolute())
                                for r in all_recipes], model=str(model.absolute()),
                       out=str(out.absolute()), train_config=str(train_config) if train_config else None, eval=ev,
                       seeds=seeds, budget_tokens=budget_tokens, max_steps=max_steps, max_length=max_length,
                       scored=str(scored.absolute()) if scored else None)
    with registered_run(workspace, "ablate", cfg.model_dump(mode="json"), cfg.out) as (reg, run_id):
        report = run_ablation(cfg, workspace, log=lambda m: typer.echo(m, err=True))
        heads = {f"{m}/{a}": d["diff"] for m, e in report["metrics"].items() for a, d in e["vs_first"].items()}
        reg.set_metrics(run_id, heads)
    for line in summary_lines(report):
        typer.echo(line)
    typer.echo(f"report: {Path(cfg.out) / 'ablation.md'}, plot: {Path(cfg.out) / 'ablation.png'}")


def register(root: typer.Typer) -> None:
    root.command("ablate")(ablate_cmd)
