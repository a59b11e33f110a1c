"""Benchmark items for decontamination: `<bench_dir>/<folder>/<split>.jsonl`, one item per line.

An item is its question (or context), its options (when the benchmark has them) and its correct answer,
because pages show items in three common layouts: the question alone, the question with its options
(any order, any lettering) and the question with its answer.

| folder | item id | question | options | answer |
|---|---|---|---|---|
| arc_easy, arc_challenge | `id` | `question` | `choices.text` | the choice named by `answerKey` |
| hellaswag | `ind` (else the row number) | `ctx` | `endings` | the ending named by `label` |
| mmlu | `<subject>-<row>` | `question` | `choices` | `choices[answer]` |
| truthfulqa_mc | row number | `question` | `mc1_targets.choices` | the one labelled 1 |
| truthfulqa_gen | row number | `question` | none | `best_answer` |
| other | `id` (else row number) | `question` / `ctx` / `text` | `choices` (a list) | `answer` (text) |
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.errors import WinnowError
from curation.jsonl import iter_jsonl_objects

KNOWN = ("arc_easy", "arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc", "truthfulqa_gen")
DEFAULT_SPLITS = ("test", "validation", "dev")


@dataclass(frozen=True)
class Item:
    benchmark: str
    split: str
    item_id: str
    question: str
    answer: str = ""
    options: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.split}/{self.item_id}"

    @property
    def ref(self) -> str:
        """What the `decontam_items` signal column lists: `benchmark/split/item_id` (the key). Split-aware,
        because some ids are only unique within a split file (MMLU's `<subject>-<row>`: dev item 0 and test
        item 0 of a subject share `abstract_algebra-0`)."""
        return self.key

    @property
    def text(self) -> str:
        """Question and correct answer: the part a model could memorise."""
        return f"{self.question} {self.answer}".strip()


Parsed = tuple[str, str, str, tuple[str, ...]]  # item id, question, answer, options


def _strs(xs: Any) -> tuple[str, ...]:
    return tuple(str(x) for x in xs or [] if str(x).strip())


def _arc(row: dict[str, Any], i: int) -> Parsed:
    choices = row.get("choices") or {}
    labels, texts = choices.get("label") or [], choices.get("text") or []
    answer = texts[labels.index(row["answerKey"])] if row.get("answerKey") in labels else ""
    return str(row.get("id", i)), row["question"], answer, _strs(texts)


def _hellaswag(row: dict[str, Any], i: int) -> Parsed:
    endings = row.get("endings") or []
    label = str(row.get("label", ""))
    ending = endings[int(label)] if label.isdigit() and int(label) < len(endings) else ""
    ctx = row.get("ctx") or f"{row.get('ctx_a', '')} {row.get('ctx_b', '')}"
    return str(row.get("ind", i)), ctx, ending, _strs(endings)


def _mmlu(row: dict[str, Any], i: int) -> Parsed:
    choices = row.get("choices") or []
    ans = row.get("answer")
    answer = choices[ans] if isinstance(ans, int) and 0 <= ans < len(choices) else ""
    return f"{row.get('subject', 'item')}-{i}", row["question"], str(answer), _strs(choices)


def _truthfulqa_mc(row: dict[str, Any], i: int) -> Parsed:
    mc1 = row.get("mc1_targets") or {}
    labels, choices = mc1.get("labels") or [], mc1.get("choices") or []
    answer = choices[labels.index(1)] if 1 in labels else ""
    return str(i), row["question"], answer, _strs(choices)


def _truthfulqa_gen(row: dict[str, Any], i: int) -> Parsed:
    return str(i), row["question"], str(row.get("best_answer", "") or ""), ()


def _generic(row: dict[str, Any], i: int) -> Parsed:
    for field in ("question", "ctx", "text", "prompt"):
        if isinstance(row.get(field), str):
            answer = row.get("answer")
            choices = row.get("choices")
            return (str(row.get("id", i)), row[field], answer if isinstance(answer, str) else "",
                    _strs(choices) if isinstance(choices, list) else ())
    raise KeyError("question")


_EXTRACT = {"arc_easy": _arc, "arc_challenge": _arc, "hellaswag": _hellaswag, "mmlu": _mmlu,
            "truthfulqa_mc": _truthfulqa_mc, "truthfulqa_gen": _truthfulqa_gen}


def benchmark_files(bench_dir: str | Path, benchmarks: list[str] | None = None,
                    splits: list[str] | None = None) -> list[tuple[str, str, Path]]:
    """(benchmark, split, file) for every `<folder>/<split>.jsonl` selected; an error when none is found."""
    root = Path(bench_dir).expanduser()
    if not root.is_dir():
        raise WinnowError(f"benchmark folder not found: {root}")
    wanted_splits = set(splits) if splits else set(DEFAULT_SPLITS)
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if benchmarks:
        missing = [b for b in benchmarks if not (root / b).is_dir()]
        if missing:
            raise WinnowError(f"{root}: no benchmark folder {', '.join(missing)}; found: "
                              f"{', '.join(p.name for p in folders) or 'none'}")
        folders = [root / b for b in benchmarks]
    out = [(f.name, s.stem, s) for f in folders for s in sorted(f.glob("*.jsonl")) if s.stem in wanted_splits]
    if not out:
        raise WinnowError(f"{root}: no <benchmark>/<split>.jsonl files for splits {sorted(wanted_splits)}")
    return out


def iter_items(bench: str, split: str, path: Path) -> Iterator[Item]:
    """Items of one split file; a malformed line is an error that names the file and line."""
    extract = _EXTRACT.get(bench, _generic)
    for line_no, row in iter_jsonl_objects(path):
        try:
            item_id, question, answer, options = extract(row, line_no - 1)
        except (KeyError, TypeError, ValueError) as e:
            raise WinnowError(f"{path}:{line_no}: not a {bench} item (missing or bad field {e})") from None
        yield Item(bench, split, item_id, str(question), str(answer or ""), options)


_READ: dict[tuple[str, str, str, int, int], list[Item]] = {}  # a split file's items, by its path, size and mtime


def file_items(bench: str, split: str, path: Path) -> list[Item]:
    """Items of one split file, read once a process while the file is unchanged: the command reads them to
    check them before any work (`count_items`), and a run in its own process (one worker) scores with them."""
    st = Path(path).stat()
    key = (bench, split, str(path), st.st_size, st.st_mtime_ns)
    if key not in _READ:
        _READ[key] = list(iter_items(bench, split, path))
    return _READ[key]


def count_items(bench: str, split: str, path: Path) -> int:
    """Items in one split file, every line read and checked as `iter_items` does (an error names file:line)."""
    return len(file_items(bench, split, path))


def load_items(bench_dir: str | Path, benchmarks: list[str] | None = None,
               splits: list[str] | None = None) -> list[Item]:
    return [it for b, s, p in benchmark_files(bench_dir, benchmarks, splits) for it in file_items(b, s, p)]
