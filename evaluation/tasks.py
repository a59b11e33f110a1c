"""lm-eval's own tasks pointed at the local store through generated task YAML.

Each generated YAML `include:`s the built-in task file and overrides only where the data comes from
(`dataset_path: json`, `dataset_name: null`, `dataset_kwargs.data_files`, the splits), so lm-eval's
prompts, preprocessing (`utils.py`) and metrics run unchanged and results keep lm-eval's task names.
MMLU's 57 subject tasks each read a per-subject file derived once from the store's single file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curation.errors import WinnowError
from evaluation import store


@dataclass(frozen=True)
class Benchmark:
    """A benchmark name the CLI accepts: an lm-eval task (or group) and the store folder it reads."""

    task: str
    folder: str
    builtin: str  # YAML under lm_eval/tasks/ (for mmlu: the subject-file folder)
    headline: str  # metric shown as the headline score


BENCHMARKS: dict[str, Benchmark] = {
    "arc_easy": Benchmark("arc_easy", "arc_easy", "arc/arc_easy.yaml", "acc_norm"),
    "arc_challenge": Benchmark("arc_challenge", "arc_challenge", "arc/arc_challenge.yaml", "acc_norm"),
    "hellaswag": Benchmark("hellaswag", "hellaswag", "hellaswag/hellaswag.yaml", "acc_norm"),
    "mmlu": Benchmark("mmlu", "mmlu", "mmlu/default", "acc"),
    "truthfulqa_mc1": Benchmark("truthfulqa_mc1", "truthfulqa_mc", "truthfulqa/truthfulqa_mc1.yaml", "acc"),
    "truthfulqa_mc2": Benchmark("truthfulqa_mc2", "truthfulqa_mc", "truthfulqa/truthfulqa_mc2.yaml", "acc"),
}

# Open LLM Leaderboard v1: task -> (few-shot, headline metric)
PRESETS: dict[str, dict[str, tuple[int, str]]] = {
    "leaderboard-v1": {"arc_challenge": (25, "acc_norm"), "hellaswag": (10, "acc_norm"), "mmlu": (5, "acc"),
                       "truthfulqa_mc2": (0, "acc")},
}

PERPLEXITY_TASK = "winnow_perplexity"
MMLU_GROUP_FILES = ("_mmlu.yaml", "_mmlu_stem.yaml", "_mmlu_other.yaml", "_mmlu_social_sciences.yaml",
                    "_mmlu_humanities.yaml")


def lm_eval_tasks_dir() -> Path:
    import lm_eval

    return Path(lm_eval.__file__).parent / "tasks"


def parse_benchmarks(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise WinnowError("--benchmarks is empty; give a comma-separated list of: " + ", ".join(BENCHMARKS))
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise WinnowError(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    return list(dict.fromkeys(names))


def mmlu_subjects() -> list[str]:
    """The 57 subjects, read from lm-eval's own subject files."""
    d = lm_eval_tasks_dir() / "mmlu" / "default"
    return sorted(p.stem.removeprefix("mmlu_") for p in d.glob("mmlu_*.yaml"))


@dataclass
class TaskSet:
    """The generated include folder plus what the report needs to know about it."""

    include_dir: Path
    tasks: list[str]  # names passed to lm-eval
    data_files: dict[str, str] = field(default_factory=dict)  # store file -> sha256
    config_hashes: dict[str, str] = field(default_factory=dict)  # benchmark -> hash of its config (no paths)
    notes: list[str] = field(default_factory=list)


def _hash_chain(yaml_path: Path, h: Any) -> None:
    """Feed a built-in YAML, everything it includes and its `utils.py` into the hash."""
    text = yaml_path.read_text(encoding="utf-8")
    h.update(text.encode())
    utils = yaml_path.parent / "utils.py"
    if "!function" in text and utils.exists():
        h.update(utils.read_bytes())
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(("include:", '"include":')):
            inc = s.split(":", 1)[1].strip().strip("\"'")
            _hash_chain(yaml_path.parent / inc, h)


def _config_hash(builtin: Path, overrides: dict[str, Any]) -> str:
    h = hashlib.sha256()
    _hash_chain(builtin, h)
    h.update(json.dumps(overrides, sort_keys=True).encode())
    return h.hexdigest()[:16]


def _split_overrides(files: dict[str, Path], builtin_cfg: dict[str, Any]) -> dict[str, Any]:
    """Point each split key at a present file, or null it so lm-eval does not ask for an absent split."""
    out: dict[str, Any] = {}
    for key in ("training_split", "validation_split", "test_split", "fewshot_split"):
        split = builtin_cfg.get(key)
        if split is None:
            continue
        out[key] = split if split in files else None
    return out


def _read_builtin(path: Path) -> dict[str, Any]:
    from lm_eval.tasks._yaml_loader import load_yaml

    return load_yaml(path, resolve_func=False, recursive=True)


def _write(path: Path, cfg: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")


def _is_str_list(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _row_problem(folder: str, split: str, row: dict[str, Any]) -> str | None:
    """What in one store row would break lm-eval's prompt templates or preprocessing, or None.

    The fields are those lm-eval's task files read (doc_to_text/choice/target, utils.process_docs).
    """
    def need(name: str, ok: Any, what: str) -> str | None:
        if name not in row or row[name] is None:
            return f"missing field '{name}'"
        return None if ok(row[name]) else f"field '{name}' is not {what}"

    checks: list[tuple[str, Any, str]]
    if folder in ("arc_easy", "arc_challenge"):
        checks = [("question", lambda v: isinstance(v, str), "a string"),
                  ("choices", lambda v: isinstance(v, dict) and _is_str_list(v.get("text"))
                   and _is_str_list(v.get("label")) and len(v["text"]) == len(v["label"]) > 0,
                   "an object with equal-length string lists 'text' and 'label'"),
                  ("answerKey", lambda v: isinstance(v, str), "a string")]
    elif folder == "hellaswag":
        checks = [(n, lambda v: isinstance(v, str), "a string") for n in ("activity_label", "ctx_a", "ctx_b")]
        checks.append(("endings", lambda v: _is_str_list(v) and len(v) > 0, "a list of strings"))
        if split != "test":  # the hub's test split has blank labels; lm-eval scores validation
            checks.append(("label", lambda v: isinstance(v, int | str) and str(v).strip().isdigit(),
                           "a number (the index of the right ending)"))
    elif folder == "truthfulqa_mc":
        checks = [("question", lambda v: isinstance(v, str), "a string")]
        checks += [(n, lambda v: isinstance(v, dict) and _is_str_list(v.get("choices")) and isinstance(
            v.get("labels"), list) and len(v["labels"]) == len(v["choices"]) > 0,
            "an object with lists 'choices' (strings) and 'labels' of the same length")
                   for n in ("mc1_targets", "mc2_targets")]
    elif folder == "mmlu":
        checks = [("question", lambda v: isinstance(v, str), "a string"),
                  ("subject", lambda v: isinstance(v, str), "a string"),
                  ("choices", lambda v: _is_str_list(v) and len(v) == 4, "a list of 4 strings"),
                  ("answer", lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 4,
                   "an integer 0-3")]
    else:
        return None
    for name, ok, what in checks:
        problem = need(name, ok, what)
        if problem:
            return problem
    if folder in ("arc_easy", "arc_challenge") and row["answerKey"] not in row["choices"]["label"]:
        return f"answerKey {row['answerKey']!r} is not one of choices.label {row['choices']['label']}"
    return None


def check_rows(path: Path, folder: str) -> None:
    """Every row of a store file is UTF-8 JSON with the fields its benchmark's lm-eval task reads: a bad row
    fails here with its file, line and field, not inside lm-eval (a jinja UndefinedError, a
    DatasetGenerationError) after the model has loaded."""
    from curation.jsonl import iter_jsonl_objects

    for i, row in iter_jsonl_objects(path):  # lines split at "\n" only, as datasets' JSON reader splits
        problem = _row_problem(folder, path.stem, row)
        if problem:
            raise WinnowError(f"{path}:{i}: {problem} (a {folder} row needs the fields lm-eval's task reads)")


ROW_CHECKS_VERSION = 1  # bump when check_rows / _row_problem check more


def _check_store_files(root: Path, folder: str, sums: dict[str, dict[str, Any]], cache_dir: Path) -> None:
    """check_rows on each of the folder's files, once per file content and version of the checks (a marker per
    sha256 in the cache: changed checks look at every file again)."""
    done = cache_dir / "checked"
    for name, rec in sorted(sums.items()):
        mark = done / f"{folder}-{rec['sha256'][:32]}-v{ROW_CHECKS_VERSION}"
        if mark.exists():
            continue
        check_rows(root / name, folder)
        done.mkdir(parents=True, exist_ok=True)
        mark.write_text(f"{root / name}\n", encoding="utf-8")


def _mmlu_files(mmlu_dir: Path, cache_dir: Path, checksum: str) -> Path:
    """Split the store's one-file MMLU into `<subject>/{test,dev}.jsonl` once per data checksum.

    `checksum` must name the content of both files (the cache folder is named by a hash of all of it, so an
    edit to either file, even one that keeps its size, gets a new split)."""
    import polars as pl

    out = cache_dir / f"mmlu-{hashlib.sha256(checksum.encode()).hexdigest()[:32]}"
    if (out / "DONE").exists():
        return out
    tmp = out.with_name(out.name + ".tmp")
    subjects = mmlu_subjects()
    for split in ("test", "dev"):
        src = mmlu_dir / f"{split}.jsonl"
        # split on "\n" only: str.splitlines() would also break rows at U+2028 inside JSON strings
        lines = [ln for ln in src.read_text(encoding="utf-8").split("\n") if ln.strip()]
        try:
            subj = pl.Series([json.loads(ln).get("subject") for ln in lines], dtype=pl.Utf8)
        except json.JSONDecodeError as e:
            raise WinnowError(f"{src}: a line is not valid JSON ({e.msg})") from None
        missing = sorted(set(subjects) - set(subj.drop_nulls().unique().to_list()))
        if missing:
            raise WinnowError(f"{src}: no rows for MMLU subject(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}"
                              " (lm-eval's mmlu needs all 57; the `subject` field names each row's subject)")
        frame = pl.DataFrame({"subject": subj, "line": lines})
        for (name,), part in frame.group_by("subject", maintain_order=True):
            d = tmp / str(name)
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{split}.jsonl").write_text("\n".join(part["line"].to_list()) + "\n", encoding="utf-8")
    (tmp / "DONE").write_text(checksum + "\n", encoding="utf-8")
    if out.exists():  # a concurrent writer won; keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.rename(out)
    return out


def build_taskset(benchmarks: list[str], data_dir: Path, include_dir: Path, cache_dir: Path,
                  num_fewshot: dict[str, int] | None = None, perplexity: Path | None = None) -> TaskSet:
    """Write the task YAML for `benchmarks` into `include_dir` (checking the data first)."""
    tasks_root = lm_eval_tasks_dir()
    include_dir.mkdir(parents=True, exist_ok=True)
    for old in include_dir.glob("*.yaml"):
        old.unlink()
    num_fewshot = num_fewshot or {}
    ts = TaskSet(include_dir=include_dir, tasks=[])
    roots = {b: store.require(data_dir, BENCHMARKS[b].folder) for b in benchmarks}  # all checked before work
    sums_by_folder: dict[str, dict[str, Any]] = {}
    for b in benchmarks:
        spec = BENCHMARKS[b]
        root = roots[b]
        if spec.folder not in sums_by_folder:
            sums_by_folder[spec.folder] = store.folder_checksums(root)
            _check_store_files(root, spec.folder, sums_by_folder[spec.folder], cache_dir)
        sums = sums_by_folder[spec.folder]
        files = {p.stem: p.resolve() for p in sorted(root.glob("*.jsonl"))}
        for name, rec in sums.items():
            if Path(name).stem in files:
                ts.data_files[f"{spec.folder}/{name}"] = rec["sha256"]
        fs = {"num_fewshot": num_fewshot[b]} if b in num_fewshot else {}
        if b == "mmlu":
            derived = _mmlu_files(root, cache_dir, sums["test.jsonl"]["sha256"] + sums["dev.jsonl"]["sha256"])
            h = hashlib.sha256()
            for subject in mmlu_subjects():
                builtin = tasks_root / "mmlu" / "default" / f"mmlu_{subject}.yaml"
                over = {"dataset_path": "json", "dataset_name": None, "test_split": "test", "fewshot_split": "dev",
                        **fs}
                h.update(_config_hash(builtin, over).encode())
                cfg = {"include": str(builtin), "task": f"mmlu_{subject}", **over,
                       "dataset_kwargs": {"data_files": {s: str(derived / subject / f"{s}.jsonl")
                                                         for s in ("test", "dev")}}}
                _write(include_dir / f"mmlu_{subject}.yaml", cfg)
            for group_file in MMLU_GROUP_FILES:  # the group tree (weight_by_size) verbatim from lm-eval
                src = tasks_root / "mmlu" / "default" / group_file
                h.update(src.read_bytes())
                shutil.copyfile(src, include_dir / group_file)
            ts.config_hashes[b] = h.hexdigest()[:16]
            ts.tasks.append("mmlu")
            ts.notes.append("mmlu: lm-eval's group score averages the 57 subjects weighted by their size "
                            "(weight_by_size); report.json also gives the unweighted subject mean")
            continue
        builtin = tasks_root / spec.builtin
        bcfg = _read_builtin(builtin)
        over = {"dataset_path": "json", "dataset_name": None, **_split_overrides(files, bcfg), **fs}
        if b == "hellaswag" and "train" not in files:
            ts.notes.append("hellaswag: no train split in the store, so few-shot examples come from validation "
                            "(lm-eval's fallback; the leaderboard drew them from train)")
        ts.config_hashes[b] = _config_hash(builtin, over)
        cfg = {"include": str(builtin), "task": spec.task, **over,
               "dataset_kwargs": {"data_files": {s: str(p) for s, p in files.items()}}}
        _write(include_dir / f"{spec.task}.yaml", cfg)
        ts.tasks.append(spec.task)
    if perplexity is not None:
        ts.tasks.append(PERPLEXITY_TASK)
        ppl_cfg, sha = _perplexity_task(perplexity, cache_dir)
        ts.data_files[f"perplexity/{perplexity.name}"] = sha
        ts.config_hashes[PERPLEXITY_TASK] = hashlib.sha256(
            json.dumps({k: v for k, v in ppl_cfg.items() if k != "dataset_kwargs"}, sort_keys=True).encode()
        ).hexdigest()[:16]
        _write(include_dir / f"{PERPLEXITY_TASK}.yaml", ppl_cfg)
    return ts


def _perplexity_task(path: Path, cache_dir: Path) -> tuple[dict[str, Any], str]:
    """A loglikelihood_rolling task (lm-eval's wikitext metrics) over held-out text.

    `.jsonl` files need a `text` field per line; any other file is plain text, one document per
    blank-line-separated paragraph.
    """
    if not path.is_file():
        raise WinnowError(f"--perplexity {path}: no such file")
    sha = store.sha256_file(path)
    if path.suffix == ".jsonl":
        from curation.jsonl import iter_jsonl_objects

        docs = []
        for i, obj in iter_jsonl_objects(path):  # file:line errors for bad UTF-8, bad JSON, non-objects
            t = obj.get("text")
            if not isinstance(t, str):
                raise WinnowError(f"{path}:{i}: missing string field 'text'")
            if t.strip():
                docs.append(t)
    else:
        raw = path.read_text(encoding="utf-8", errors="replace")
        docs = [p.strip() for p in raw.split("\n\n") if p.strip()]
    if not docs:
        raise WinnowError(f"--perplexity {path}: no text in it")
    out = cache_dir / f"perplexity-{sha[:16]}.jsonl"
    if not out.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps({"text": d}, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    cfg = {
        "task": PERPLEXITY_TASK, "dataset_path": "json", "dataset_name": None,
        "dataset_kwargs": {"data_files": {"test": str(out)}}, "test_split": "test",
        "output_type": "loglikelihood_rolling", "doc_to_text": "", "doc_to_target": "{{text}}",
        "num_fewshot": 0,
        "metric_list": [{"metric": m} for m in ("word_perplexity", "byte_perplexity", "bits_per_byte")],
        "metadata": {"version": 1.0},
    }
    return cfg, sha
