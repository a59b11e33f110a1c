"""Run lm-eval (`simple_evaluate`) on store-backed tasks and write a fingerprinted report folder.

Everything that can fail on user input (benchmark names, data presence, model loading) is checked
before lm-eval starts. Model responses are cached in an SQLite file keyed by the model's weights and
every setting that changes a response, so rerunning the same evaluation skips the model entirely.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import WinnowError
from curation.progress import Progress
from curation.run_folder import manifest_kind, write_marker
from evaluation import report as rpt
from evaluation import store
from evaluation.contamination import curated_runs
from evaluation.model import ModelInfo, resolve_model
from evaluation.tasks import BENCHMARKS, PERPLEXITY_TASK, PRESETS, TaskSet, build_taskset


@dataclass
class EvalConfig:
    """One evaluation: which model, which benchmarks, and every setting that moves the numbers."""

    model: str
    out: Path
    data_dir: Path
    cache_dir: Path  # workspace cache: request cache, derived MMLU files, weight hashes
    benchmarks: list[str] = field(default_factory=list)
    preset: str | None = None
    num_fewshot: int | None = None
    limit: int | None = None
    batch_size: int = 1
    apply_chat_template: bool = False
    perplexity: Path | None = None
    dtype: str = "float32"
    device: str | None = None
    add_bos_token: bool | None = None
    use_cache: bool = True
    # the curated runs (or mixes) the model was trained on, each with the decontamination signal: scores are
    # split by the items any of them kept (one folder is taken as a list of one)
    contamination: list[Path] = field(default_factory=list)
    # training-data runs the lineage reaches that have no decontamination signal: recorded in the split
    contamination_unchecked: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        def paths(c: Any) -> list[Path]:  # noqa: ANN401 - None, one path or several
            return [] if c is None else [Path(c)] if isinstance(c, str | Path) else [Path(x) for x in c]

        self.contamination = paths(self.contamination)
        self.contamination_unchecked = paths(self.contamination_unchecked)

    def to_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:  # noqa: ANN401 - any config value
            return str(v) if isinstance(v, Path) else [plain(x) for x in v] if isinstance(v, list) else v

        return {k: plain(v) for k, v in self.__dict__.items()}


def _plan(cfg: EvalConfig) -> tuple[list[str], dict[str, int], dict[str, str]]:
    """Benchmarks, per-benchmark few-shot (preset: written into the task YAML) and headline metric per benchmark.

    A plain `--num-fewshot` goes to `simple_evaluate` as the lm-eval CLI passes it, so tasks fixed at
    0-shot (TruthfulQA) stay 0-shot exactly as lm-eval decides.
    """
    if cfg.preset:
        if cfg.preset not in PRESETS:
            raise WinnowError(f"unknown preset '{cfg.preset}'; known: {', '.join(PRESETS)}")
        if cfg.benchmarks:
            raise WinnowError("give either --benchmarks or --preset, not both")
        if cfg.num_fewshot is not None:
            raise WinnowError(f"--num-fewshot cannot be combined with --preset {cfg.preset} (it fixes few-shot "
                              "per task)")
        p = PRESETS[cfg.preset]
        return list(p), {b: fs for b, (fs, _) in p.items()}, {b: m for b, (_, m) in p.items()}
    if not cfg.benchmarks:
        if cfg.perplexity is not None:  # bits per byte on held-out text alone (recipe ablations)
            return [], {}, {}
        raise WinnowError("nothing to evaluate: give --benchmarks LIST, --preset leaderboard-v1 or --perplexity")
    unknown = [b for b in cfg.benchmarks if b not in BENCHMARKS]
    if unknown:
        raise WinnowError(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    return list(cfg.benchmarks), {}, {b: BENCHMARKS[b].headline for b in cfg.benchmarks}


def _device(cfg: EvalConfig) -> str:
    if cfg.device:
        return cfg.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_args(cfg: EvalConfig, info: ModelInfo) -> dict[str, Any]:
    """lm-eval's `hf` model arguments (the same a direct `lm_eval --model hf` run would get)."""
    args: dict[str, Any] = {"pretrained": info.pretrained, "dtype": cfg.dtype}
    if info.peft:
        args["peft"] = info.peft
        if info.tokenizer != info.pretrained:
            args["tokenizer"] = info.tokenizer
    if cfg.add_bos_token is not None:
        args["add_bos_token"] = cfg.add_bos_token
    return args


def cache_key(cfg: EvalConfig, info: ModelInfo, device: str) -> str:
    """Key of the request cache: lm-eval keys entries by request only, so the model and its settings go here
    (the model by the content of its weights, tokenizer and config files, not by their path)."""
    import lm_eval

    parts = {"weights": info.weights_sha256 or info.pretrained, "peft": bool(info.peft), "dtype": cfg.dtype,
             "batch_size": cfg.batch_size, "bos": cfg.add_bos_token,
             "chat": info.chat_template_sha256 if cfg.apply_chat_template else False,
             "device": device, "lm_eval": lm_eval.__version__, "model_files": info.model_files_sha256}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


class _ProgressLog(logging.Handler):
    """Turn lm-eval's own log lines into progress messages (its stages: build contexts, run requests)."""

    _PAT = re.compile(r"Building contexts for (\S+)|Running (\w+) requests|Cached requests: (\d+)")

    def __init__(self, prog: Progress, tasks: set[str]) -> None:
        super().__init__(logging.INFO)
        self.prog = prog
        self.tasks = tasks
        self.seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - never break the run over a log line
            return
        m = self._PAT.search(msg)
        if not m:
            return
        if m.group(1):
            task = m.group(1)
            top = "mmlu" if task.startswith("mmlu_") else task
            if top not in self.seen:
                self.seen.add(top)
                self.prog.update(1, msg=f"building {top}")
        elif m.group(2):
            self.prog.message(f"running {m.group(2)} requests")
        else:
            self.prog.message(msg.strip()[:120])


def _find(folder: Path, pattern: str) -> Path | None:
    hits = sorted(folder.rglob(pattern))
    return hits[-1] if hits else None


RUN_MARKER = ".winnow-eval.json"  # written before the first file of a report folder


def is_eval_run(out: Path) -> bool:
    """Whether `out` was written by `winnow eval run`: its marker, or (reports made before the marker) a
    manifest of kind eval."""
    return (out / RUN_MARKER).is_file() or manifest_kind(out) == "eval"


def check_out(cfg: EvalConfig) -> None:
    """Refuse a report folder eval must not write into: a non-empty folder that is not a previous report (a
    rerun replaces `lm_eval/`, `tasks/*.yaml` and `manifest.json`, which in someone else's folder are theirs),
    one that holds the model, the benchmark store or the held-out text, or one inside the store."""
    from curation.run_folder import check_inputs_outside, check_writable_dir, refuse_foreign_out

    out = cfg.out
    inputs = [p for p in (Path(cfg.model).expanduser(), cfg.perplexity, *cfg.contamination)
              if p is not None and p.exists()]
    for p in inputs:
        if p.resolve() == out.resolve() or p.resolve().is_relative_to(out.resolve()):
            raise WinnowError(f"--out {out} holds an input ({p}): choose a new folder for the report")
    check_inputs_outside(out, [cfg.data_dir])
    refuse_foreign_out(out, is_eval_run, "a Winnow eval report")
    check_writable_dir(out)


def prepare(cfg: EvalConfig) -> tuple[list[str], dict[str, int], dict[str, str], TaskSet, ModelInfo]:
    """All input checks and task YAML, before any evaluation work."""
    benches, fewshot, metrics = _plan(cfg)
    if cfg.limit is not None and cfg.limit <= 0:
        raise WinnowError("--limit must be a positive number of documents per task")
    if cfg.batch_size <= 0:
        raise WinnowError("--batch-size must be positive")
    if benches and not cfg.data_dir.is_dir():
        raise WinnowError(f"benchmark store {cfg.data_dir} does not exist; import data with "
                          f"`winnow data import DIR` or `winnow data pull FOLDER`, or pass --data-dir")
    if cfg.num_fewshot is not None and cfg.num_fewshot < 0:
        raise WinnowError("--num-fewshot must be 0 or more")
    from evaluation.contamination import has_signal

    for run in cfg.contamination:
        if not has_signal(run):
            raise WinnowError(f"--contamination {run}: no decontamination signal there "
                              "(signals/decontamination/); curate with the decontamination signal first")
    check_out(cfg)
    info = resolve_model(cfg.model, cfg.cache_dir / "weights-sha256.json")
    write_marker(cfg.out, RUN_MARKER, "winnow eval run")
    ts = build_taskset(benches, cfg.data_dir, cfg.out / "tasks", cfg.cache_dir / "derived", fewshot,
                       cfg.perplexity)
    return benches, fewshot, metrics, ts, info


def run_eval(cfg: EvalConfig, prepared: tuple | None = None) -> dict[str, Any]:
    """Evaluate and write `<out>/report.json`, lm-eval's files under `<out>/lm_eval/`, `<out>/scores.png`.

    `prepared` is `prepare(cfg)`'s result when the caller already checked the inputs.
    """
    t0 = time.time()
    prepared = prepared or prepare(cfg)  # checks --out before anything is written or removed there
    (cfg.out / "progress.jsonl").unlink(missing_ok=True)
    with Progress(cfg.out, "loading", total=None, unit="steps") as prog:
        benches, fewshot, metrics, ts, info = prepared
        prog.message(f"model {info.kind}: {info.pretrained}")
        import lm_eval
        from lm_eval.loggers import EvaluationTracker
        from lm_eval.tasks import TaskManager

        lm_dir = cfg.out / "lm_eval"
        shutil.rmtree(lm_dir, ignore_errors=True)
        tm = TaskManager(include_path=str(ts.include_dir), include_defaults=False)
        device = _device(cfg)
        margs = model_args(cfg, info)
        cache_path = None
        if cfg.use_cache:
            (cfg.cache_dir / "requests").mkdir(parents=True, exist_ok=True)
            cache_path = str(cfg.cache_dir / "requests" / cache_key(cfg, info, device))
    tracker = EvaluationTracker(output_path=str(lm_dir))
    with Progress(cfg.out, "evaluate", total=len(benches) + (1 if cfg.perplexity else 0), unit="tasks") as prog:
        handler = _ProgressLog(prog, set(ts.tasks))
        lm_logger = logging.getLogger("lm_eval")
        lm_logger.addHandler(handler)
        old_level = lm_logger.level
        if lm_logger.getEffectiveLevel() > logging.INFO:
            lm_logger.setLevel(logging.INFO)
        try:
            results = lm_eval.simple_evaluate(
                model="hf", model_args=margs, tasks=ts.tasks, num_fewshot=cfg.num_fewshot, batch_size=cfg.batch_size,
                device=device, use_cache=cache_path, limit=cfg.limit, log_samples=True,
                evaluation_tracker=tracker, apply_chat_template=cfg.apply_chat_template, task_manager=tm)
        finally:
            lm_logger.removeHandler(handler)
            lm_logger.setLevel(old_level)
        if results is None:
            raise WinnowError("lm-eval returned no results")
        samples = results.pop("samples")
        tracker.save_results_aggregated(results=results, samples=samples)
        for task_name in results["configs"]:
            tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
        for b in benches:
            if b not in handler.seen:
                prog.update(1, msg=f"scored {b}")
    report = build_report(cfg, results, ts, info, benches, fewshot, metrics, device, time.time() - t0)
    if cfg.contamination and report["scores"]:
        from evaluation.contamination import contamination_block

        report["contamination"] = contamination_block({**report, "_dir": str(cfg.out)}, cfg.contamination,
                                                      cfg.contamination_unchecked)
    rpt.write_report(cfg.out, report)
    write_manifest(cfg, info, benches, report)
    syn = " (SYNTHETIC data)" if report["fingerprint"]["synthetic_data"] else ""
    rpt.plot_scores(report["scores"], cfg.out / "scores.png", f"{Path(info.spec).name}{syn}")
    return report


def build_report(cfg: EvalConfig, results: dict[str, Any], ts: TaskSet, info: ModelInfo, benches: list[str],
                 fewshot: dict[str, int], metrics: dict[str, str], device: str, seconds: float) -> dict[str, Any]:
    import lm_eval

    out = cfg.out
    lm_dir = out / "lm_eval"
    res_file = _find(lm_dir, "results_*.json")
    sample_files: dict[str, str] = {}
    for task_name in results["configs"]:
        f = _find(lm_dir, f"samples_{task_name}_*.jsonl")
        if f is not None:
            sample_files[task_name] = str(f.relative_to(out))
    nshot = results.get("n-shot", {})

    def shots(b: str) -> int | None:
        if b == "mmlu":
            vals = {v for k, v in nshot.items() if k.startswith("mmlu_")}
            return vals.pop() if len(vals) == 1 else None
        return nshot.get(b)

    synthetic = store.is_synthetic(cfg.data_dir, {BENCHMARKS[b].folder for b in benches})
    fp = {
        "lm_eval_version": lm_eval.__version__,
        "transformers_version": results.get("transformers_version"),
        "task_config": dict(sorted(ts.config_hashes.items())),
        "task_versions": {b: results.get("versions", {}).get(b) for b in benches},
        "data": dict(sorted(ts.data_files.items())),
        "data_dir": str(cfg.data_dir.resolve()),
        "synthetic_data": synthetic,
        "model": {"path": info.spec, "kind": info.kind, "pretrained": info.pretrained, "peft": info.peft,
                  "weights_sha256": info.weights_sha256, "model_files_sha256": info.model_files_sha256},
        "dtype": cfg.dtype,
        "device": device,
        "num_fewshot": {b: shots(b) for b in benches},
        "batch_size": cfg.batch_size,
        "apply_chat_template": cfg.apply_chat_template,
        "chat_template_sha256": info.chat_template_sha256 if cfg.apply_chat_template else None,
        "limit": cfg.limit,
        "add_bos_token": cfg.add_bos_token,
        "bos": {"token": info.bos_token, "tokenizer_adds_bos": info.tokenizer_adds_bos,
                "lm_eval_add_bos_token": cfg.add_bos_token},
        "preset": cfg.preset,
        "seeds": {k: results.get("config", {}).get(k) for k in
                  ("random_seed", "numpy_seed", "torch_seed", "fewshot_seed")},
    }
    scores = rpt.headline(results, metrics)
    perplexity = None
    if cfg.perplexity is not None and PERPLEXITY_TASK in results["results"]:
        row = results["results"][PERPLEXITY_TASK]
        perplexity = {"file": str(cfg.perplexity), **{m: rpt._num(row.get(f"{m},none")) for m in
                                                      ("word_perplexity", "byte_perplexity", "bits_per_byte")}}
    notes = list(ts.notes)
    if synthetic:
        notes.insert(0, f"SYNTHETIC benchmark data (a {store.SYNTHETIC_MARKER} marker in {cfg.data_dir}): scores "
                     "say nothing about real benchmark ability")
    return {
        "version": rpt.REPORT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(seconds, 2),
        "fingerprint": fp,
        "scores": scores,
        "perplexity": perplexity,
        "notes": notes,
        "config": cfg.to_dict(),
        "files": {"results": str(res_file.relative_to(out)) if res_file else None, "samples": sample_files,
                  "tasks": "tasks", "scores_png": "scores.png"},
    }


def write_manifest(cfg: EvalConfig, info: ModelInfo, benches: list[str], report: dict[str, Any]) -> str:
    """`<out>/manifest.json`: the lineage block (model folder as parent, benchmark data and held-out text by
    fingerprint, command, config) and the report's fingerprint, so lineage reaches this report."""
    from curation.lineage_record import lineage_block, stamp_fingerprint

    parents = [p for p in dict.fromkeys([info.spec, info.peft, info.pretrained]) if p and Path(p).exists()]
    inputs: list[str | Path] = [cfg.data_dir / BENCHMARKS[b].folder for b in benches
                                if (cfg.data_dir / BENCHMARKS[b].folder).exists()]
    if cfg.perplexity is not None:
        inputs.append(cfg.perplexity)
    parents += curated_runs(report.get("contamination") or {})
    manifest: dict[str, Any] = {"kind": "eval", "created": report["created"], "scores": report["scores"],
                                "perplexity": report.get("perplexity")}
    manifest["lineage"] = lineage_block(inputs=inputs, parents=parents, config=cfg.to_dict(), kind="eval")
    outputs = [cfg.out / rpt.REPORT] + [cfg.out / rel for rel in report["files"].get("samples", {}).values()]
    fp = stamp_fingerprint(manifest, outputs)
    (cfg.out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    return fp
