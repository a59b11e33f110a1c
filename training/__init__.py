"""Training: curated data -> SFT / DPO datasets -> model folders, with TRL's trainers doing the training.

Public entry points (the CLI in `app/commands/train.py` wraps them in the run registry):
- `training.config.load_config(yaml_path, overrides) -> TrainConfig`
- `training.sft.run_sft(cfg)` / `training.dpo.run_dpo(cfg)` -> `TrainResult` (output folder, steps, headline metrics)
- `training.data.load_sft(paths)` / `load_dpo(paths)`: detect, validate and normalise datasets
- `training.tiny.build_tiny_model(corpus_paths, out_dir, ...) -> Path`: an offline base model
- `training.callbacks.read_metrics(out_dir)`: the `<out>/metrics.jsonl` records the app draws curves from
"""
