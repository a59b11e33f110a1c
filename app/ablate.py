"""Recipe ablations: did this recipe make the model better? One command, strung across the three engines.

    score once  -> DIR/score            (curate with the union of the recipes' signals, no rules)
    mix each    -> DIR/arms/<recipe>    (curation.mix.mix from the same signals: principle 1 pays off)
    same budget -> DIR/samples/<recipe> (every arm sampled to the same number of tokens of the base tokenizer)
    train       -> DIR/models/<recipe>-s<seed>  (same base, seeds and steps; plain text: continued pretraining)
    evaluate    -> DIR/evals/<recipe>-s<seed>   (bits per byte on held-out text, plus any benchmarks named)
    report      -> DIR/ablation.json, DIR/ablation.md, DIR/ablation.png

A stage is reused on a rerun only when its key (the content fingerprints of what it reads, the upstream
stage's manifest fingerprint included, and every setting that moves its result) equals the key recorded in
DIR/stages.json when it was made, and the folder still carries the manifest fingerprint it was made with;
otherwise it is redone, and so is everything made from it (its fingerprint changes). A killed ablation
resumes; a changed recipe, step count or held-out file never reuses a stale result. Every stage is a
registered run and writes a manifest with lineage, so `winnow lineage DIR/evals/x` reaches the raw corpus.

Paired differences against the first recipe: over items (held-out documents or benchmark items, resampled
with replacement, the score recomputed as the arm's aggregate) and over seeds (the same seed trains every
arm, so seed s of arm B pairs with seed s of arm A). The verdict rests on both (`verdict`): with one seed the
items CI leaves out seed-to-seed variation, and no difference is called established.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curation.errors import WinnowError


class EvalSettings(BaseModel):
    """`--eval-config` YAML: how every arm is evaluated (the same way for all)."""

    model_config = ConfigDict(extra="forbid")
    heldout: str | None = Field(None, description="held-out text (.txt or .jsonl 'text') for bits per byte")
    benchmarks: list[str] = Field(default_factory=list, description="benchmarks from the store, e.g. arc_easy")
    data_dir: str | None = Field(None, description="benchmark store (default: <workspace>/benchmarks)")
    limit: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1)
    num_fewshot: int | None = Field(None, ge=0)


class AblateConfig(BaseModel):
    """Everything an ablation was asked to do; recorded in its manifest."""

    model_config = ConfigDict(extra="forbid")
    corpus: list[str] = Field(..., min_length=1)
    recipes: list[str] = Field(..., min_length=2)
    model: str
    out: str
    train_config: str | None = None
    eval: EvalSettings = Field(default_factory=EvalSettings)
    seeds: int = Field(1, ge=1)
    budget_tokens: int | None = Field(None, ge=1, description="tokens per arm (default: the smallest arm's)")
    max_steps: int | None = Field(None, ge=1, description="training steps per arm (default: one pass over the "
                                                          "budget)")
    max_length: int | None = Field(None, ge=8, description="training sequence length (overrides the train config)")
    sample_seed: int = 0
    scored: str | None = Field(None, description="an existing curated run to mix from instead of scoring again")
    bootstrap_iters: int = Field(2000, ge=100)


@dataclass
class Arm:
    name: str
    recipe_path: str
    mix_dir: Path
    sample_dir: Path
    tokens: int = 0
    docs: int = 0
    sampled_tokens: int = 0
    sampled_docs: int = 0
    models: dict[int, Path] = field(default_factory=dict)
    evals: dict[int, Path] = field(default_factory=dict)
    lens: np.ndarray | None = None  # tokens per kept document, in kept order (counted once, reused to sample)


def load_eval_settings(path: str | Path | None) -> EvalSettings:
    if path is None:
        return EvalSettings()
    p = Path(path)
    if not p.is_file():
        raise WinnowError(f"--eval-config {p}: no such file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        return EvalSettings.model_validate(data)
    except yaml.YAMLError as e:
        raise WinnowError(f"{p}: not valid YAML: {e}") from None
    except ValidationError as e:
        err = e.errors()[0]
        raise WinnowError(f"{p}: field '{'.'.join(map(str, err['loc']))}': {err['msg']}") from None


# ------------------------------------------------------------------------------------------- planning
def _arm_names(recipes: list[Any], paths: list[str]) -> list[str]:
    names: list[str] = []
    for r, p in zip(recipes, paths, strict=True):
        base = r.name if r.name and r.name != "custom" else Path(p).stem
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append("".join(c if c.isalnum() or c in "-_." else "-" for c in name))
    return names


BUILTIN = ("default", "keep-everything")


def load_recipes(paths: list[str]) -> list[Any]:
    """Recipe files, or the built-in names `default` (the shipped recipe) and `keep-everything` (the other
    recipes' signals with no rules: the no-curation baseline)."""
    from curation.recipe import Recipe, load_recipe

    loaded: list[Any] = [None if p == "keep-everything" and not Path(p).exists() else
                         load_recipe(None) if p == "default" and not Path(p).exists() else load_recipe(p)
                         for p in paths]
    others = [(r, p) for r, p in zip(loaded, paths, strict=True) if r is not None]
    if not others:
        raise WinnowError("keep-everything needs at least one other recipe to take its signals from")
    base = union_recipe([r for r, _ in others], [p for _, p in others])
    return [r if r is not None else Recipe(name="keep-everything", batch_size=base.batch_size, signals=base.signals,
                                           optional=base.optional, rules=[]) for r in loaded]


def union_recipe(recipes: list[Any], paths: list[str]) -> Any:
    """One recipe that scores every signal any arm reads, with no rules (keeps everything). Two recipes that
    set one signal differently cannot share a scoring pass: that is an error naming both."""
    from curation.recipe import Recipe

    signals: dict[str, dict[str, Any]] = {}
    owner: dict[str, str] = {}
    optional: set[str] = set()
    for r, p in zip(recipes, paths, strict=True):
        for name, params in r.signals.items():
            params = params or {}
            if name in signals and signals[name] != params:
                raise WinnowError(f"recipes {owner[name]} and {p} configure signal {name!r} differently "
                                  f"({signals[name]} vs {params}); an ablation scores once, so give both the same "
                                  "signal settings and vary only the rules")
            signals.setdefault(name, params)
            owner.setdefault(name, p)
        optional |= set(r.optional)
    tok = next((r.tokenizer for r in recipes if r.tokenizer), None)
    batch = min(r.batch_size for r in recipes)
    return Recipe(name="ablation-signals", batch_size=batch, signals=signals,
                  optional=sorted(optional & set(signals)), rules=[], tokenizer=tok)


def check_fit(recipes: list[Any], paths: list[str], scored: list[str]) -> None:
    """Every rule of every recipe must read a signal that was scored (an optional one may have been skipped,
    and mix then skips its rules with a note)."""
    for r, p in zip(recipes, paths, strict=True):
        for rule in r.rules:
            if rule.signal not in scored and rule.signal not in r.optional:
                raise WinnowError(f"recipe {p}: rule {rule.name!r} reads signal {rule.signal!r}, which the corpus "
                                  f"was not scored with (scored: {', '.join(scored) or 'none'})")


# ------------------------------------------------------------------------------------------- stages
STAGES_FILE = "stages.json"


def _content(value: Any) -> Any:
    """A setting with every file or folder it names replaced by its content fingerprint (curate's rule)."""
    from curation.pipeline import _by_content

    return _by_content(value)


class StageKeys:
    """`DIR/stages.json`: per stage folder, the key it was made with and the manifest fingerprint it got.

    The key is `curation.fingerprint.combine` over the stage's parts (input content fingerprints and the
    settings that move its result), so any change to them redoes the stage. Not in it: Winnow's and the
    packages' versions, and the device (as curate's own resume key)."""

    def __init__(self, out: Path) -> None:
        self.path = out / STAGES_FILE
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.rec: dict[str, Any] = data if isinstance(data, dict) else {}

    @staticmethod
    def key(parts: dict[str, Any]) -> str:
        from curation.fingerprint import combine

        return combine({k: json.dumps(v, sort_keys=True, default=str) for k, v in parts.items()})

    def reusable(self, folder: Path, parts: dict[str, Any], markers: tuple[str, ...] = ("manifest.json",)) -> bool:
        """Made with these parts, finished, and not changed since (same manifest fingerprint)."""
        from curation.fingerprint import folder_fingerprint

        r = self.rec.get(str(folder))
        return bool(isinstance(r, dict) and r.get("done") and r.get("key") == self.key(parts)
                    and all((folder / m).is_file() for m in markers)
                    and r.get("fingerprint") == folder_fingerprint(folder))

    def resumable(self, folder: Path, parts: dict[str, Any]) -> bool:
        """Started with these same parts and not finished (killed): the stage may continue what it wrote."""
        r = self.rec.get(str(folder))
        return bool(isinstance(r, dict) and not r.get("done") and r.get("key") == self.key(parts))

    def why(self, folder: Path, parts: dict[str, Any]) -> str:
        """Why a stage is redone, in words, for the log."""
        r = self.rec.get(str(folder))
        if not isinstance(r, dict):
            return "new" if not folder.exists() else "no key recorded for it"
        if r.get("key") == self.key(parts):
            return "unfinished" if not r.get("done") else "its output changed since it was made"
        old = r.get("parts") or {}
        changed = [k for k in parts if json.dumps(old.get(k), sort_keys=True, default=str)
                   != json.dumps(parts[k], sort_keys=True, default=str)]
        return "changed: " + (", ".join(changed) or "its settings")

    def start(self, folder: Path, parts: dict[str, Any]) -> None:
        self.rec[str(folder)] = {"key": self.key(parts), "parts": parts, "done": False}
        self._save()

    def finish(self, folder: Path) -> None:
        from curation.fingerprint import folder_fingerprint

        self.rec[str(folder)].update(done=True, fingerprint=folder_fingerprint(folder))
        self._save()

    def _save(self) -> None:
        from curation.store import write_text_atomic

        write_text_atomic(json.dumps(self.rec, indent=2, default=str), self.path)


def _stage(ws: Path, kind: str, config: dict[str, Any], out: Path, fn, keys: StageKeys,
           parts: dict[str, Any]) -> Any:
    """Run a stage as a registered run, its key recorded as started before and as finished after."""
    from app.registry import registered_run

    keys.start(out, parts)
    with registered_run(ws, kind, config, out) as (reg, run_id):
        res = fn()
        if isinstance(res, dict) and res.get("_metrics"):
            reg.set_metrics(run_id, res.pop("_metrics"))
    keys.finish(out)
    return res


def _kept_frame(mix_dir: Path):
    import polars as pl

    from curation.budget import kept_files

    try:
        files = kept_files(mix_dir)
    except WinnowError:
        return pl.DataFrame({"id": [], "text": []}, schema={"id": pl.String, "text": pl.String})
    return pl.concat([pl.read_parquet(f, columns=["id", "text"]) for f in files])


def _token_lengths(texts: list[str], tok_file: Path) -> np.ndarray:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tok_file))
    out = np.zeros(len(texts), dtype=np.int64)
    for i in range(0, len(texts), 2048):
        enc = tok.encode_batch(texts[i:i + 2048], add_special_tokens=False)
        out[i:i + len(enc)] = [len(e.ids) for e in enc]
    return out


def write_sample(arm: Arm, budget: int, seed: int, tok_file: Path) -> dict[str, Any]:
    """Shuffle the arm's kept documents (fixed seed) and take them until the token budget is reached: every
    arm gets the same number of tokens (to within one document), so no arm wins by having more data."""

    from curation.lineage_record import lineage_block, stamp_fingerprint

    df = _kept_frame(arm.mix_dir)
    lens = arm.lens if arm.lens is not None and arm.lens.shape[0] == df.height else \
        _token_lengths(df["text"].to_list(), tok_file)
    order = np.random.default_rng(seed).permutation(df.height)
    csum = np.cumsum(lens[order])
    n = int(np.searchsorted(csum, budget, side="left")) + 1
    n = min(n, df.height)
    take = np.sort(order[:n])
    sample = df[take.tolist()]
    arm.sample_dir.mkdir(parents=True, exist_ok=True)
    sample.write_parquet(arm.sample_dir / "sample.parquet")
    tokens = int(lens[take].sum())
    man: dict[str, Any] = {"kind": "sample", "docs": sample.height, "tokens": tokens, "budget": budget,
                           "seed": seed, "tokenizer": str(tok_file), "arm": arm.name}
    man["lineage"] = lineage_block(parents=[arm.mix_dir], config={"budget": budget, "seed": seed,
                                                                  "tokenizer": str(tok_file)}, kind="sample")
    stamp_fingerprint(man, [arm.sample_dir / "sample.parquet"])
    (arm.sample_dir / "manifest.json").write_text(json.dumps(man, indent=2), encoding="utf-8")
    return man


# ------------------------------------------------------------------------------------------- scoring
def heldout_items(report_dir: Path) -> np.ndarray:
    """Per held-out document: (log-likelihood, bytes) from lm-eval's per-sample file, in doc_id order."""
    from evaluation.tasks import PERPLEXITY_TASK

    files = sorted((report_dir / "lm_eval").rglob(f"samples_{PERPLEXITY_TASK}_*.jsonl"))
    if not files:
        raise WinnowError(f"{report_dir}: no per-sample file for the held-out text")
    rows = []
    for line in files[-1].read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            ll, nbytes = r["bits_per_byte"]
            rows.append((int(r["doc_id"]), float(ll), float(nbytes)))
    rows.sort()
    return np.array([(ll, b) for _, ll, b in rows], dtype=np.float64)


def bpb(items: np.ndarray) -> float:
    """lm-eval's bits per byte: -sum(loglik) / sum(bytes) / ln 2."""
    return float(-items[:, 0].sum() / items[:, 1].sum() / math.log(2))


def bench_items(report_dir: Path, bench: str) -> np.ndarray:
    from evaluation import report as rpt

    rep = rpt.load_report(report_dir)
    s = rep["scores"][bench]
    vals: list[float] = []
    for task in s.get("tasks", [bench]):
        d = rpt.read_samples(rep, task, s["metric"])
        vals += [d[k] for k in sorted(d)]
    return np.asarray(vals, dtype=np.float64)


def _ci(x: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    lo, hi = np.quantile(x, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def paired_stats(base: list[np.ndarray], arm: list[np.ndarray], score, iters: int, seed: int = 0
                 ) -> dict[str, Any]:
    """Difference arm - base of a score computed per seed, averaged over seeds; 95% bootstrap intervals
    resampling items (the same items for both arms and every seed) and resampling seeds (pairs kept)."""
    rng = np.random.default_rng(seed)
    per_seed = np.array([score(a) - score(b) for a, b in zip(arm, base, strict=True)])
    n_items = base[0].shape[0]
    item_means = np.empty(iters)
    for i in range(iters):
        idx = rng.integers(0, n_items, n_items)
        item_means[i] = np.mean([score(a[idx]) - score(b[idx]) for a, b in zip(arm, base, strict=True)])
    k = len(per_seed)
    seed_means = per_seed[rng.integers(0, k, size=(iters, k))].mean(axis=1)
    out: dict[str, Any] = {"diff": float(per_seed.mean()), "per_seed": per_seed.tolist(),
                           "ci_items": _ci(item_means), "ci_seeds": _ci(seed_means) if k > 1 else None}
    if k > 1:
        from scipy.stats import t

        se = float(per_seed.std(ddof=1) / math.sqrt(k))
        half = float(t.ppf(0.975, k - 1) * se)
        out["ci_seeds_t"] = (out["diff"] - half, out["diff"] + half)
    return out


SEED_NOTE = ("1 seed: seed-to-seed variation is not measured, so the 95% CIs over items understate the "
             "uncertainty and no difference is established across seeds (rerun with --seeds 3)")


def verdict(d: dict[str, Any], lower_is_better: bool, first: str) -> str:
    """What a paired difference establishes, in words: the same text in the terminal, ablation.md and the app.

    The items CI holds each model fixed and resamples items; it leaves out how much the difference moves when
    the arms are trained again with another seed, which can be larger (two seeds gave non-overlapping item
    CIs, +0.0085 and +0.0038). So a difference is established only when the 95% t interval over seeds
    excludes 0 as well as the items CI, on the same side; with one seed it never is."""
    lo, hi = d["ci_items"]
    k = len(d.get("per_seed") or [])
    if lo <= 0 <= hi:
        return "no clear difference (the 95% CI over items includes 0)"
    word = f"{'better' if (d['diff'] < 0) == lower_is_better else 'worse'} than {first}"
    seeds = d.get("ci_seeds_t")
    if k < 2 or not seeds:
        return (f"not established across seeds: {word} on these items with 1 seed, but seed-to-seed variation is "
                "not measured and the items CI understates the uncertainty (rerun with --seeds 3)")
    slo, shi = seeds
    if (lo > 0 and slo > 0) or (hi < 0 and shi < 0):
        return f"{word} (the 95% CIs over items and over {k} seeds exclude 0)"
    return f"not established across seeds (the 95% t interval over {k} seeds, [{slo:+.4f}, {shi:+.4f}], includes 0)"


# ------------------------------------------------------------------------------------------- the run
def run_ablation(cfg: AblateConfig, workspace: str | Path, log=print) -> dict[str, Any]:
    """Run (or resume) an ablation; returns the report dict also written to `<out>/ablation.json`."""
    from app.workspace import benchmarks_dir, open_workspace
    from curation.budget import tokenizer_file

    t_start = time.perf_counter()
    ws = open_workspace(workspace)
    out = Path(cfg.out).absolute()
    # every input check before any work
    recipes = load_recipes(cfg.recipes)
    names = _arm_names(recipes, cfg.recipes)
    for c in cfg.corpus:
        if not Path(c).exists():
            raise WinnowError(f"corpus {c}: no such file or folder")
    if not Path(cfg.model).is_dir():
        raise WinnowError(f"--model {cfg.model}: no such model folder")
    tok_file = tokenizer_file(cfg.model, "--model")
    ev = cfg.eval
    if ev.heldout is None and not ev.benchmarks:
        raise WinnowError("nothing to evaluate the arms on: give --heldout FILE (bits per byte) or benchmarks in "
                          "--eval-config")
    if ev.heldout is not None and not Path(ev.heldout).is_file():
        raise WinnowError(f"held-out text {ev.heldout}: no such file")
    data_dir = Path(ev.data_dir).absolute() if ev.data_dir else benchmarks_dir(ws)
    from training.config import load_config

    base_train = load_config(cfg.train_config, {"model": cfg.model, "data": ["-"], "max_length": cfg.max_length})
    union = union_recipe(recipes, cfg.recipes)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(cfg.model_dump_json(indent=2), encoding="utf-8")
    timings: dict[str, float] = {}

    # 1. score once
    from curation.fingerprint import file_fingerprint, fingerprint

    keys = StageKeys(out)
    t0 = time.perf_counter()
    score_dir = Path(cfg.scored).absolute() if cfg.scored else out / "score"
    if cfg.scored and not (score_dir / "run.json").is_file():
        raise WinnowError(f"--scored {cfg.scored}: not a curation run folder (no run.json)")
    if not cfg.scored:
        parts = {"corpus": [fingerprint(c) for c in cfg.corpus], "recipe": _content(union.model_dump(mode="json"))}
        if not keys.reusable(score_dir, parts):
            from curation.pipeline import curate

            resume = keys.resumable(score_dir, parts)
            log(f"scoring {len(cfg.corpus)} input(s) once with signals: {', '.join(union.signals) or 'none'}"
                + ("" if resume else f" ({keys.why(score_dir, parts)})"))
            _stage(ws, "curate", {"inputs": cfg.corpus, "recipe": union.model_dump(mode="json")}, score_dir,
                   lambda: curate(cfg.corpus, score_dir, union, workspace=ws,
                                  overwrite=not resume and (score_dir / "run.json").is_file()), keys, parts)
    scored = json.loads((score_dir / "run.json").read_text())["steps"]
    check_fit(recipes, cfg.recipes, scored)
    timings["score"] = time.perf_counter() - t0

    # 2. mix every recipe from the same signals
    t0 = time.perf_counter()
    from curation.mix import mix

    arms = [Arm(n, p, out / "arms" / n, out / "samples" / n) for n, p in zip(names, cfg.recipes, strict=True)]
    score_fp = fingerprint(score_dir)
    for arm, recipe in zip(arms, recipes, strict=True):
        parts = {"scored": score_fp, "recipe": _content(recipe.model_dump(mode="json"))}
        if not keys.reusable(arm.mix_dir, parts):
            log(f"mixing arm {arm.name} ({arm.recipe_path}; {keys.why(arm.mix_dir, parts)})")
            _stage(ws, "mix", {"run": str(score_dir), "recipe": arm.recipe_path, "out": str(arm.mix_dir)},
                   arm.mix_dir, lambda a=arm, r=recipe: mix(score_dir, r, out_dir=a.mix_dir), keys, parts)
        df = _kept_frame(arm.mix_dir)
        arm.docs = df.height
        arm.lens = _token_lengths(df["text"].to_list(), tok_file)
        arm.tokens = int(arm.lens.sum())
    timings["mix"] = time.perf_counter() - t0

    # 3. the same token budget for every arm
    smallest = min(arms, key=lambda a: a.tokens)
    if smallest.tokens == 0:
        raise WinnowError(f"arm {smallest.name} ({smallest.recipe_path}) kept no text: nothing to train on")
    budget = cfg.budget_tokens or smallest.tokens
    if budget > smallest.tokens:
        raise WinnowError(f"--budget-tokens {budget} is larger than the smallest arm: {smallest.name} "
                          f"({smallest.mix_dir}) keeps {smallest.tokens} tokens")
    t0 = time.perf_counter()
    tok_fp = file_fingerprint(tok_file)
    for arm in arms:
        parts = {"mix": fingerprint(arm.mix_dir), "budget": budget, "seed": cfg.sample_seed, "tokenizer": tok_fp}
        if not keys.reusable(arm.sample_dir, parts):
            log(f"sampling arm {arm.name} to {budget:,} tokens ({keys.why(arm.sample_dir, parts)})")
            _stage(ws, "sample", {"arm": str(arm.mix_dir), "budget": budget}, arm.sample_dir,
                   lambda a=arm: write_sample(a, budget, cfg.sample_seed, tok_file), keys, parts)
        man = json.loads((arm.sample_dir / "manifest.json").read_text())
        arm.sampled_tokens, arm.sampled_docs = man["tokens"], man["docs"]
    timings["sample"] = time.perf_counter() - t0

    # 4. train: same base, seeds and steps
    from training.sft import run_sft

    chunk = base_train.max_length * base_train.batch_size * base_train.grad_accum
    steps = cfg.max_steps or (base_train.max_steps if base_train.max_steps > 0 else
                              max(1, math.ceil(budget * base_train.epochs / chunk)))
    base_fp = fingerprint(cfg.model)
    t0 = time.perf_counter()
    for arm in arms:
        for s in range(cfg.seeds):
            mdir = out / "models" / f"{arm.name}-s{s}"
            arm.models[s] = mdir
            tc = load_config(cfg.train_config, {"model": cfg.model, "data": [str(arm.sample_dir)], "out": str(mdir),
                                                "seed": base_train.seed + s, "max_steps": steps,
                                                "max_length": cfg.max_length})
            settings = {k: v for k, v in tc.model_dump(mode="json").items() if k not in ("model", "data", "out")}
            parts = {"sample": fingerprint(arm.sample_dir), "base": base_fp, "train": settings}
            if keys.reusable(mdir, parts):
                continue
            log(f"training arm {arm.name} seed {s} ({steps} steps; {keys.why(mdir, parts)})")
            _stage(ws, "train-sft", tc.model_dump(mode="json"), mdir,
                   lambda tc=tc: {"_metrics": run_sft(tc).metrics}, keys, parts)
    timings["train"] = time.perf_counter() - t0

    # 5. evaluate every arm the same way
    from evaluation.runner import EvalConfig, prepare, run_eval
    from evaluation.tasks import BENCHMARKS

    heldout_fp = file_fingerprint(ev.heldout) if ev.heldout else None
    bench_fp = {b: fingerprint(data_dir / BENCHMARKS[b].folder) if b in BENCHMARKS and
                (data_dir / BENCHMARKS[b].folder).exists() else None for b in ev.benchmarks}
    t0 = time.perf_counter()
    for arm in arms:
        for s, mdir in arm.models.items():
            edir = out / "evals" / f"{arm.name}-s{s}"
            arm.evals[s] = edir
            ec = EvalConfig(model=str(mdir), out=edir, data_dir=data_dir, cache_dir=ws / "cache" / "eval",
                            benchmarks=list(ev.benchmarks), limit=ev.limit, batch_size=ev.batch_size,
                            num_fewshot=ev.num_fewshot,
                            perplexity=Path(ev.heldout).absolute() if ev.heldout else None, use_cache=False)
            settings = {k: v for k, v in ec.to_dict().items() if k not in ("model", "out", "data_dir", "cache_dir",
                                                                          "perplexity", "contamination_unchecked")}
            # ablate's evals split nothing; the key keeps the shape it had before contamination became a list,
            # so arms evaluated before that are reused, not evaluated again
            settings["contamination"] = settings["contamination"] or None
            parts = {"model": fingerprint(mdir), "heldout": heldout_fp, "benchmarks": bench_fp, "eval": settings}
            if keys.reusable(edir, parts, ("manifest.json", "report.json")):
                continue
            prep = prepare(ec)
            log(f"evaluating arm {arm.name} seed {s} ({keys.why(edir, parts)})")
            _stage(ws, "eval", ec.to_dict(), edir, lambda ec=ec, prep=prep: run_eval(ec, prep), keys, parts)
    timings["eval"] = time.perf_counter() - t0

    # 6. one report
    t0 = time.perf_counter()
    report = build_report(cfg, arms, budget, steps, str(tok_file))
    timings["report"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    report["timings"] = {k: round(v, 2) for k, v in timings.items()}
    report["max_length"] = base_train.max_length
    write_outputs(out, report, arms)
    return report


def build_report(cfg: AblateConfig, arms: list[Arm], budget: int, steps: int, tok: str) -> dict[str, Any]:
    base = arms[0]
    seeds = sorted(base.evals)
    metrics: dict[str, dict[str, Any]] = {}
    if cfg.eval.heldout:
        items = {a.name: [heldout_items(a.evals[s]) for s in seeds] for a in arms}
        metrics["bits_per_byte"] = {"lower_is_better": True, "n_items": int(items[base.name][0].shape[0]),
                                    "per_seed": {a: [bpb(x) for x in v] for a, v in items.items()},
                                    "score": bpb, "items": items}
    for b in cfg.eval.benchmarks:
        items = {a.name: [bench_items(a.evals[s], b) for s in seeds] for a in arms}
        metrics[b] = {"lower_is_better": False, "n_items": int(items[base.name][0].shape[0]),
                      "per_seed": {a: [float(x.mean()) for x in v] for a, v in items.items()},
                      "score": lambda x: float(x.mean()), "items": items}
    out_metrics: dict[str, Any] = {}
    for name, m in metrics.items():
        entry = {"lower_is_better": m["lower_is_better"], "n_items": m["n_items"], "per_seed": m["per_seed"],
                 "mean": {a: float(np.mean(v)) for a, v in m["per_seed"].items()}, "vs_first": {}}
        for a in arms[1:]:
            st = paired_stats(m["items"][base.name], m["items"][a.name], m["score"], cfg.bootstrap_iters)
            st["verdict"] = verdict(st, m["lower_is_better"], base.name)
            entry["vs_first"][a.name] = st
        out_metrics[name] = entry
    return {"version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "first": base.name,
            "budget_tokens": budget, "steps": steps, "seeds": seeds, "tokenizer": tok,
            "arms": [{"name": a.name, "recipe": a.recipe_path, "mix": str(a.mix_dir), "kept_docs": a.docs,
                      "kept_tokens": a.tokens, "sample_docs": a.sampled_docs, "sample_tokens": a.sampled_tokens,
                      "models": {s: str(p) for s, p in a.models.items()},
                      "evals": {s: str(p) for s, p in a.evals.items()}} for a in arms],
            "metrics": out_metrics}


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The headline: per metric, each arm's mean over seeds and its difference from the first with CIs."""
    lines = [f"ablation: {len(report['arms'])} arms x {len(report['seeds'])} seed(s), {report['budget_tokens']:,} "
             f"tokens and {report['steps']} steps each"]
    if len(report["seeds"]) < 2:
        lines.append(f"note: {SEED_NOTE}")
    for name, m in report["metrics"].items():
        better = "lower is better" if m["lower_is_better"] else "higher is better"
        lines.append(f"{name} ({better}; {m['n_items']} items):")
        for a in report["arms"]:
            seeds = ", ".join(f"{v:.4f}" for v in m["per_seed"][a["name"]])
            line = f"  {a['name']:<20} {m['mean'][a['name']]:.4f}  (seeds: {seeds})"
            d = m["vs_first"].get(a["name"])
            if d:
                lo, hi = d["ci_items"]
                line += f"   diff vs {report['first']}: {d['diff']:+.4f}  95% CI items [{lo:+.4f}, {hi:+.4f}]"
                if d.get("ci_seeds_t"):
                    slo, shi = d["ci_seeds_t"]
                    line += f", seeds [{slo:+.4f}, {shi:+.4f}]"
            lines.append(line)
            if d:
                lines.append(f"  {'':<20} verdict: {verdict(d, m['lower_is_better'], report['first'])}")
    return lines


def write_outputs(out: Path, report: dict[str, Any], arms: list[Arm]) -> None:
    from curation.lineage_record import lineage_block, stamp_fingerprint

    (out / "ablation.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (out / "ablation.md").write_text("```\n" + "\n".join(summary_lines(report)) + "\n```\n", encoding="utf-8")
    plot(report, out / "ablation.png")
    man: dict[str, Any] = {"kind": "ablation", "first": report["first"], "budget_tokens": report["budget_tokens"]}
    cfg = json.loads((out / "config.json").read_text())
    man["lineage"] = lineage_block(parents=[p for a in arms for p in a.evals.values()], config=cfg, kind="ablation")
    stamp_fingerprint(man, [out / "ablation.json"])
    (out / "manifest.json").write_text(json.dumps(man, indent=2), encoding="utf-8")


def plot(report: dict[str, Any], path: Path) -> Path | None:
    """One panel per metric: each seed's score per arm (dots) and the mean with the items CI of the
    difference from the first arm drawn around the first arm's mean."""
    if not report["metrics"]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = list(report["metrics"].items())
    fig, axes = plt.subplots(1, len(ms), figsize=(4.5 * len(ms), 3.6), squeeze=False)
    names = [a["name"] for a in report["arms"]]
    for ax, (mname, m) in zip(axes[0], ms, strict=True):
        first = m["mean"][report["first"]]
        for i, n in enumerate(names):
            ys = m["per_seed"][n]
            ax.plot([i] * len(ys), ys, "o", color="#4C72B0", alpha=0.6)
            d = m["vs_first"].get(n)
            if d:
                lo, hi = d["ci_items"]
                ax.errorbar([i], [first + d["diff"]], yerr=[[d["diff"] - lo], [hi - d["diff"]]], fmt="s",
                            color="#C44E52", capsize=5)
            else:
                ax.plot([i], [first], "s", color="#C44E52")
        ax.set_xticks(range(len(names)), names, rotation=15)
        one = len(report["seeds"]) < 2
        ax.set_title(f"{mname} ({'lower' if m['lower_is_better'] else 'higher'} is better)"
                     + ("\nbars: items CI; 1 seed, seed variation not measured" if one else ""), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def clean_heldout(sample_corpus: str | Path, out: Path) -> Path:
    """The clean documents of a labelled sample corpus (labels beside it, from `winnow data sample`) as a
    held-out JSONL: text the model should model well whatever the recipe kept."""
    import polars as pl

    from curation.samples.corpus import labels_path

    src = Path(sample_corpus)
    lab = labels_path(src)
    if not src.is_file() or not lab.is_file():
        raise WinnowError(f"--heldout-clean {src}: needs a sample corpus with its labels beside it ({lab.name}); "
                          "make one with `winnow data sample --docs N --seed S --out FILE`")
    clean = pl.read_parquet(lab, columns=["id", "kind"]).filter(pl.col("kind") == "clean").select("id")
    docs = (pl.read_parquet(src) if src.name.endswith(".parquet") else pl.read_ndjson(src)).select("id", "text")
    docs = docs.join(clean, on="id", how="semi")
    if docs.height == 0:
        raise WinnowError(f"--heldout-clean {src}: no clean documents in it")
    out.parent.mkdir(parents=True, exist_ok=True)
    docs.select("text").write_ndjson(out)
    return out
