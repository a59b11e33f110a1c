"""Training data: detect each file's format, validate every record, normalise to TRL's formats.

SFT records become `{"messages": [...]}` (chat, Alpaca, ShareGPT) or `{"text": ...}` (plain text and
curated Winnow output folders, for continued pretraining). DPO records become `prompt`/`chosen`/`rejected`,
plain strings when every source is plain, conversational (lists of messages) otherwise. HH-RLHF's
"\\n\\nHuman: ... \\n\\nAssistant: ..." text is parsed into messages. A bad record is a WinnowError naming
the file and line, raised before any training step.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.errors import WinnowError
from curation.jsonl import iter_jsonl_objects

SFT_FORMATS = ("chat", "alpaca", "sharegpt", "text")
DPO_FORMATS = ("preference", "preference-chat", "preference-implicit", "hh-rlhf")
ROLES = ("system", "user", "assistant")
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "chatgpt": "assistant", "bard": "assistant", "model": "assistant", "system": "system"}
_HH_SPLIT = re.compile(r"\n\n(Human|Assistant):[ ]?")


@dataclass
class SourceInfo:
    """What was read from one input: recorded in the run manifest."""

    path: str
    format: str
    records: int
    sha256: str


class _Bad(Exception):
    """A record-level problem; turned into a WinnowError with file and line by the caller."""


# ---------------------------------------------------------------------------------------------- reading
def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


DATA_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json")


def _is_json_metadata(path: Path) -> bool:
    """A `.json` file in a data folder that is not a dataset: one JSON object and nothing after it
    (`dataset_info.json`, `stats.json`), so a folder of `train.jsonl` and such a file trains as before. A JSON
    array, or JSON lines (several objects, what `datasets`' `to_json` writes), is data."""
    if not path.name.lower().endswith(".json"):
        return False
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return False
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return False  # larger than the head, or broken: read as data, which says what is wrong
    return not text[end:].strip() and len(head) < (1 << 20)


def _data_files(path: Path) -> list[Path]:
    """A file, or a folder: a curated Winnow output folder's `kept/*.parquet`, another Winnow output folder's
    (an `ablate` sample's) `*.parquet`, otherwise EVERY data file (*.parquet, *.jsonl, *.jsonl.gz, *.json)
    directly in the folder, by name, so a folder mixing kinds trains on all of them (each file's format is
    detected on its own; the manifest lists every one). Hidden files, other suffixes (a README, notes) and a
    `manifest.json` (Winnow's record of the folder) are not data and are skipped."""
    if not path.exists():
        raise WinnowError(f"data not found: {path}")
    if path.is_file():
        return [path]
    kept = sorted((path / "kept").glob("*.parquet"))
    if kept:
        return kept
    if (path / "manifest.json").is_file():  # a Winnow output: its data is its Parquet, beside its records
        own = sorted(path.glob("*.parquet"))
        if own:
            return own
    files = sorted(p for p in path.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json"
                   and p.name.lower().endswith(DATA_SUFFIXES) and not _is_json_metadata(p))
    if files:
        return files
    raise WinnowError(f"{path}: folder has no kept/*.parquet, *.parquet, *.jsonl, *.jsonl.gz or *.json files")


def iter_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for JSONL(.gz), JSON (a list) or Parquet (row number, 1-based)."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        import polars as pl

        try:
            df = pl.read_parquet(path)
        except Exception as e:  # noqa: BLE001 - any reader failure is a user-facing file problem
            raise WinnowError(f"{path}: cannot read parquet: {e}") from None
        for i, rec in enumerate(df.iter_rows(named=True), start=1):
            yield i, rec
        return
    opener = gzip.open if name.endswith(".gz") else open
    try:
        if not name.endswith(".json"):
            yield from iter_jsonl_objects(path)
            return
        with opener(path, "rt", encoding="utf-8") as fh:
            try:
                data = json.load(fh)
            except json.JSONDecodeError as e:
                if e.msg == "Extra data":  # several JSON values: JSON lines under a .json name (`to_json`)
                    yield from iter_jsonl_objects(path)
                    return
                raise WinnowError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
        if not isinstance(data, list):
            raise WinnowError(f"{path}: a .json dataset must be a list of records")
        for i, rec in enumerate(data, start=1):
            if not isinstance(rec, dict):
                raise WinnowError(f"{path}: record {i} is not an object")
            yield i, rec
    except UnicodeDecodeError:
        raise WinnowError(f"{path}: not UTF-8 text (expected JSONL, JSON or Parquet)") from None
    except (OSError, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise WinnowError(f"data not found: {path}") from None
        raise WinnowError(f"{path}: cannot read: {e}") from None


def detect_format(rec: dict[str, Any]) -> str | None:
    """The format a record looks like, from its keys; None when it is no known format."""
    keys = set(rec)
    # a record with part of a format's columns is that format; the converter then names what is missing
    if keys & {"chosen", "rejected"}:
        if "prompt" in keys:
            return "preference-chat" if isinstance(rec["prompt"], list) else "preference"
        answer = rec.get("chosen", rec.get("rejected"))
        return "preference-implicit" if isinstance(answer, list) else "hh-rlhf"
    if "messages" in keys:
        return "chat"
    if "conversations" in keys:
        return "sharegpt"
    if keys & {"instruction", "output"}:
        return "alpaca"
    if "text" in keys:
        return "text"
    return None


# ------------------------------------------------------------------------------------------ validation
def _str(rec: dict[str, Any], key: str, allow_empty: bool = False) -> str:
    if key not in rec or rec[key] is None:
        raise _Bad(f"missing column '{key}'")
    val = rec[key]
    if not isinstance(val, str):
        raise _Bad(f"column '{key}' must be a string, got {type(val).__name__}")
    if not allow_empty and not val.strip():
        raise _Bad(f"column '{key}' is empty")
    return val


def _messages(val: Any, key: str, need_assistant: bool = True) -> list[dict[str, str]]:
    if not isinstance(val, list) or not val:
        raise _Bad(f"column '{key}' must be a non-empty list of messages")
    out = []
    for j, m in enumerate(val):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise _Bad(f"{key}[{j}] must be an object with 'role' and 'content'")
        if m["role"] not in ROLES:
            raise _Bad(f"{key}[{j}] has unknown role {m['role']!r} (expected one of {', '.join(ROLES)})")
        if not isinstance(m["content"], str):
            raise _Bad(f"{key}[{j}].content must be a string")
        out.append({"role": m["role"], "content": m["content"]})
    if need_assistant and not any(m["role"] == "assistant" for m in out):
        raise _Bad(f"column '{key}' has no assistant message")
    return out


def parse_hh(text: str, key: str) -> list[dict[str, str]]:
    """HH-RLHF text ("\\n\\nHuman: ...\\n\\nAssistant: ...") into chat messages."""
    parts = _HH_SPLIT.split(text)
    if len(parts) < 3 or parts[0].strip():
        raise _Bad(f"column '{key}' is not in the '\\n\\nHuman: ... \\n\\nAssistant: ...' form")
    msgs = []
    for speaker, content in zip(parts[1::2], parts[2::2], strict=True):
        msgs.append({"role": "user" if speaker == "Human" else "assistant", "content": content.strip()})
    return msgs


def _split_implicit(chosen: list[dict[str, str]], rejected: list[dict[str, str]]) -> dict[str, Any]:
    """Shared leading turns are the prompt; what follows is each side's completion (starts with assistant)."""
    k = 0
    while k < min(len(chosen), len(rejected)) and chosen[k] == rejected[k]:
        k += 1
    while k > 0 and (k >= len(chosen) or chosen[k]["role"] != "assistant"):
        k -= 1
    if k == 0:
        raise _Bad("chosen and rejected share no prompt (no common leading user turn)")
    c, r = chosen[k:], rejected[k:]
    if not r or r[0]["role"] != "assistant":
        raise _Bad("rejected does not continue the shared prompt with an assistant turn")
    return {"prompt": chosen[:k], "chosen": c, "rejected": r}


def _sft_record(fmt: str, rec: dict[str, Any]) -> dict[str, Any]:
    if fmt == "chat":
        return {"messages": _messages(rec.get("messages"), "messages")}
    if fmt == "sharegpt":
        conv = rec.get("conversations")
        if not isinstance(conv, list) or not conv:
            raise _Bad("column 'conversations' must be a non-empty list")
        msgs = []
        for j, m in enumerate(conv):
            if not isinstance(m, dict) or "from" not in m or "value" not in m:
                raise _Bad(f"conversations[{j}] must be an object with 'from' and 'value'")
            role = _SHAREGPT_ROLES.get(str(m["from"]).lower())
            if role is None:
                raise _Bad(f"conversations[{j}] has unknown speaker {m['from']!r}")
            if not isinstance(m["value"], str):
                raise _Bad(f"conversations[{j}].value must be a string")
            msgs.append({"role": role, "content": m["value"]})
        return {"messages": _messages(msgs, "conversations")}
    if fmt == "alpaca":
        instr = _str(rec, "instruction")
        inp = _str(rec, "input", allow_empty=True) if rec.get("input") is not None else ""
        user = f"{instr}\n\n{inp}" if inp.strip() else instr
        msgs = []
        if isinstance(rec.get("system"), str) and rec["system"].strip():
            msgs.append({"role": "system", "content": rec["system"]})
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": _str(rec, "output")}]
        return {"messages": msgs}
    if fmt == "text":
        return {"text": _str(rec, "text")}
    raise _Bad(f"format '{fmt}' is preference data, not SFT data (use `winnow train dpo`)")


def _dpo_record(fmt: str, rec: dict[str, Any]) -> dict[str, Any]:
    """One pair; chosen identical to rejected is an error: DPO learns nothing from it (loss ln 2, zero gradient)."""
    pair = _dpo_pair(fmt, rec)
    if _answer_text(pair["chosen"]) == _answer_text(pair["rejected"]):
        raise _Bad("chosen and rejected are the same answer (DPO learns nothing from the pair)")
    return pair


def _answer_text(answer: str | list[dict[str, str]]) -> Any:
    """An answer compared without surrounding whitespace (" Hello." and "Hello." train the same)."""
    if isinstance(answer, str):
        return answer.strip()
    return [(m["role"], m["content"].strip()) for m in answer]


def _dpo_pair(fmt: str, rec: dict[str, Any]) -> dict[str, Any]:
    if fmt == "preference":
        prompt = _str(rec, "prompt")
        # an empty answer is a legitimate (if poor) completion: HH-RLHF has some
        chosen, rejected = _str(rec, "chosen", allow_empty=True), _str(rec, "rejected", allow_empty=True)
        if _HH_SPLIT.search(prompt):  # HH-RLHF with an explicit prompt ending in "\n\nAssistant:"
            msgs = parse_hh(prompt, "prompt")
            if msgs and msgs[-1]["role"] == "assistant" and not msgs[-1]["content"]:
                msgs = msgs[:-1]
            if not msgs or msgs[-1]["role"] != "user":
                raise _Bad("HH-RLHF prompt must end with a Human turn followed by 'Assistant:'")
            return {"prompt": msgs, "chosen": [{"role": "assistant", "content": chosen.strip()}],
                    "rejected": [{"role": "assistant", "content": rejected.strip()}]}
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    if fmt == "preference-chat":
        return {"prompt": _messages(rec.get("prompt"), "prompt", need_assistant=False),
                "chosen": _messages(rec.get("chosen"), "chosen"),
                "rejected": _messages(rec.get("rejected"), "rejected")}
    if fmt == "preference-implicit":
        return _split_implicit(_messages(rec.get("chosen"), "chosen"), _messages(rec.get("rejected"), "rejected"))
    if fmt == "hh-rlhf":
        return _split_implicit(parse_hh(_str(rec, "chosen"), "chosen"), parse_hh(_str(rec, "rejected"), "rejected"))
    raise _Bad(f"format '{fmt}' is SFT data, not preference pairs (need prompt/chosen/rejected)")


# ------------------------------------------------------------------------------------------ loading
def _load(paths: list[str | Path], kind: str) -> tuple[list[dict[str, Any]], list[SourceInfo]]:
    if not paths:
        raise WinnowError("no data given (--data FILE)")
    convert = _sft_record if kind == "sft" else _dpo_record
    records: list[dict[str, Any]] = []
    infos: list[SourceInfo] = []
    for given in paths:
        folder = Path(given).is_dir()
        seen: dict[bytes, Path] = {}  # a record's content digest -> the first of this folder's files holding it
        for f in _data_files(Path(given)):
            fmt: str | None = None
            n = 0
            shared: dict[Path, int] = {}
            for line, rec in iter_records(f):
                if fmt is None:
                    fmt = detect_format(rec)
                    if fmt is None:
                        raise WinnowError(
                            f"{f}:{line}: unknown data format (columns: {', '.join(sorted(rec)) or 'none'}); "
                            "expected messages, instruction/input/output, conversations, text, "
                            "or prompt/chosen/rejected")
                try:
                    records.append(convert(fmt, rec))
                except _Bad as e:
                    raise WinnowError(f"{f}:{line}: {e} (format {fmt})") from None
                n += 1
                if folder:
                    key = hashlib.blake2b(json.dumps(records[-1], sort_keys=True).encode(), digest_size=16).digest()
                    first = seen.setdefault(key, f)
                    if first != f:
                        shared[first] = shared.get(first, 0) + 1
            if n == 0:
                raise WinnowError(f"{f}: empty file (no records)")
            other, k = max(shared.items(), key=lambda kv: kv[1], default=(None, 0))
            if other is not None and 2 * k > n:  # most of the file: a copy, not a few common examples
                raise WinnowError(f"{given}: {f.name} and {other.name} hold {k} of the same records (the same data "
                                  "in two files or formats?), which would train twice: give the file you mean with "
                                  "--data FILE, or move the copy out of the folder")
            infos.append(SourceInfo(str(f.absolute()), fmt or "?", n, file_sha256(f)))
    return records, infos


def load_sft(paths: list[str | Path]) -> tuple[list[dict[str, Any]], list[SourceInfo]]:
    """SFT records (`messages` or `text`) and per-source info; all records share one of the two shapes."""
    records, infos = _load(paths, "sft")
    shapes = {"messages" if "messages" in r else "text" for r in records}
    if len(shapes) > 1:
        raise WinnowError("cannot mix chat/instruction data with plain text in one SFT run: "
                          + ", ".join(f"{i.path} ({i.format})" for i in infos))
    return records, infos


def load_dpo(paths: list[str | Path]) -> tuple[list[dict[str, Any]], list[SourceInfo]]:
    """DPO pairs; plain strings only when every pair is plain, otherwise all conversational."""
    records, infos = _load(paths, "dpo")
    if any(isinstance(r["prompt"], list) for r in records):
        to_conversational(records)
    return records, infos


def to_conversational(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plain prompt/chosen/rejected strings -> one user turn and one assistant answer each (in place)."""
    for r in records:
        if isinstance(r["prompt"], str):
            r["prompt"] = [{"role": "user", "content": r["prompt"]}]
            r["chosen"] = [{"role": "assistant", "content": r["chosen"]}]
            r["rejected"] = [{"role": "assistant", "content": r["rejected"]}]
    return records


def is_conversational(records: list[dict[str, Any]]) -> bool:
    r = records[0]
    return "messages" in r or isinstance(r.get("prompt"), list)


def write_jsonl(records: list[dict[str, Any]], out: str | Path) -> Path:
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return p


def infos_dicts(infos: list[SourceInfo]) -> list[dict[str, Any]]:
    return [asdict(i) for i in infos]
