"""Command groups shared by several areas' modules (e.g. `data sample` and `data import`)."""

from __future__ import annotations

import typer


def _group(name: str, help_: str) -> typer.Typer:
    return typer.Typer(name=name, help=help_, no_args_is_help=True, rich_markup_mode=None,
                       context_settings={"help_option_names": ["-h", "--help"]})


data = _group("data", "Make, import and inspect datasets (sample corpus, SFT/DPO sets, benchmarks).")
model = _group("model", "Build and inspect local models.")
train = _group("train", "Fine-tune a model with TRL: SFT, then DPO.")
eval_ = _group("eval", "Evaluate models with lm-evaluation-harness and compare reports.")
guard = _group("guard", "Test guardrails on prompts and model outputs.")
pii = _group("pii", "Detect and scrub PII; measure detectors.")
classifier = _group("classifier", "Train and evaluate fastText quality and toxicity classifiers.")

ALL = {"data": data, "model": model, "train": train, "eval": eval_, "guard": guard, "pii": pii,
       "classifier": classifier}


def register(root: typer.Typer) -> None:
    for name, grp in ALL.items():
        root.add_typer(grp, name=name)
