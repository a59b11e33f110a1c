"""Sample SFT and DPO sets for the demo, written by Winnow's own grammar (`vocab.py`), deterministic.

SFT (`write_sft`): one JSON object per line, `{"messages": [{"role": "user", ...}, {"role": "assistant",
...}]}` (TRL's conversational format). Tasks rotate through explain, list, summarise, rewrite (future ->
past tense), classify (which topic) and arithmetic, so a small model sees varied instructions whose
answers follow from the prompt.

DPO (`write_dpo`): `{"prompt", "chosen", "rejected"}` strings (TRL's standard format). `chosen` is the
well-formed helpful answer to the prompt; `rejected` always carries the same surface-visible flaw: an
unhelpful, ALL-CAPS reply with stuttered (repeated) words. A 0.6M-parameter model separates the two within
a few hundred DPO steps because the flaw is consistent and visible in every token.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from curation.errors import WinnowError
from curation.samples.corpus import _AN, _TOPIC_NAMES, _TOPICS, _cap, _Draw, _Writer

TASKS = ["explain", "list", "summarise", "rewrite", "classify", "arithmetic"]
_UNHELPFUL = ["I DO NOT KNOW", "NO IDEA, ASK SOMEONE ELSE", "WHATEVER, FIGURE IT OUT", "NOT MY PROBLEM",
              "I CANNOT BE BOTHERED", "THAT IS A SILLY QUESTION"]


def _fix(s: str) -> str:
    return _AN.sub(r"\1n ", s)


def _pair(d: _Draw) -> tuple[str, str]:
    """One (instruction, helpful answer)."""
    ti = d(len(_TOPICS))
    name = _TOPIC_NAMES[ti]
    w = _Writer(d, _TOPICS[ti])
    task = TASKS[d(len(TASKS))]
    if task == "explain":
        v = w.verb()
        q = f"Explain briefly why someone might want to {v}."
        a = (f"People usually {v} to save time and avoid problems later. {_cap(w.clause())}. "
             f"{w.sentence()} In short, it is a small step that makes {name} easier.")
    elif task == "list":
        v = w.verb()
        items = [_cap(w.verb()) for _ in range(3)]
        q = f"List three things to do before you {v}."
        a = "Here are three things to do first:\n" + "\n".join(f"{i + 1}. {it}." for i, it in enumerate(items))
    elif task == "summarise":
        sents = [w.sentence() for _ in range(3 + d(2))]
        q = "Summarise the following text in one sentence.\n\n" + " ".join(sents)
        a = f"In short: {sents[0][0].lower()}{sents[0][1:]}"
    elif task == "rewrite":
        subj, m = w.subject(), d.pick(["will", "should", "can", "might"])
        v = d.pick(_TOPICS[ti]["verbs"])
        noun = w.noun()
        base, past = v[0].replace("{n}", noun), v[1].replace("{n}", noun)
        q = f"Rewrite this sentence in the past tense: {_cap(subj)} {m} {base}."
        a = f"{_cap(subj)} {past}."
    elif task == "classify":
        text = " ".join(w.sentence() for _ in range(2 + d(2)))
        q = f"Which topic is this text about? Answer with one word or phrase.\n\n{text}"
        a = f"This text is about {name}."
    else:
        x, y = 2 + d(98), 2 + d(98)
        if d(2):
            q, a = f"What is {x} plus {y}?", f"{x} plus {y} is {x + y}."
        else:
            q, a = f"What is {x} times {y}?", f"{x} times {y} is {x * y}."
    return _fix(q), _fix(a)


def _rows(n: int, seed: int, stream: int) -> list[list[int]]:
    if n < 0:
        raise WinnowError(f"--docs (number of pairs) must be >= 0, got {n}")
    return np.random.default_rng([seed, stream]).integers(0, 1 << 30, size=(n, 96)).tolist()


def _write(out: Path, lines: list[bytes]) -> Path:
    """Write the sample; an existing file is replaced only when its first line is this sample's first line
    (a record depends on the seed and its position only, so a rerun with the same seed starts the same), never
    a user's own chat data at that path."""
    from curation.samples.ownership import refuse_foreign

    out = Path(out)
    if not out.name.lower().endswith(".jsonl"):
        raise WinnowError(f"{out}: SFT/DPO samples are written as JSONL; give a file name ending in .jsonl")

    def ours(path: Path) -> bool:
        with open(path, "rb") as fh:
            return bool(lines) and fh.readline() == lines[0]

    refuse_foreign([(out, ours)], note="; a chat sample of another --seed counts as other: remove it first")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"".join(lines))
    except OSError as e:
        raise WinnowError(f"{out}: cannot write ({e.strerror})") from e
    return out


def sft_records(n: int, seed: int = 0) -> list[dict]:
    out = []
    for row in _rows(n, seed, 101):
        q, a = _pair(_Draw(row))
        out.append({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
    return out


def _rejected(d: _Draw, good: str) -> str:
    words = good.replace("\n", " ").split()[: 4 + d(6)]
    stutter = " ".join(f"{x.upper()} {x.upper()}" for x in (w.strip(".,!?:") for w in words))
    return f"{d.pick(_UNHELPFUL)}!!! {stutter}!!!"


def dpo_records(n: int, seed: int = 0) -> list[dict]:
    out = []
    for row in _rows(n, seed, 202):
        d = _Draw(row)
        q, a = _pair(d)
        out.append({"prompt": q, "chosen": a, "rejected": _rejected(d, a)})
    return out


def write_sft(out: Path, n: int, seed: int = 0) -> Path:
    """Write n SFT conversations as JSONL (chat `messages`)."""
    return _write(out, [orjson.dumps(r) + b"\n" for r in sft_records(n, seed)])


def write_dpo(out: Path, n: int, seed: int = 0) -> Path:
    """Write n DPO preference pairs as JSONL (`prompt`, `chosen`, `rejected`)."""
    return _write(out, [orjson.dumps(r) + b"\n" for r in dpo_records(n, seed)])

