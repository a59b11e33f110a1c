"""Which model a report scored: resolve a local folder, a LoRA adapter or a cached hub id, check it loads.

The check (config + tokenizer, and the adapter's base) runs before any evaluation work, so a bad
folder fails in a second with a clear message instead of after minutes of task building.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.errors import WinnowError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


@dataclass
class ModelInfo:
    """What lm-eval is given (`pretrained`, `peft`) plus what the fingerprint records."""

    spec: str  # what the user passed
    kind: str  # "local", "adapter" or "hub"
    pretrained: str  # path or id lm-eval loads
    peft: str | None  # adapter folder, when kind == "adapter"
    weights_sha256: str | None
    tokenizer: str  # folder or id the tokenizer comes from
    bos_token: str | None
    tokenizer_adds_bos: bool  # whether plain tokenization already prepends BOS
    chat_template_sha256: str | None = None  # the template `--apply-chat-template` would use
    model_files_sha256: str | None = None  # its tokenizer and config files' content (model_files_sha256)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def weights_hash(folder: Path, cache_file: Path | None = None) -> str | None:
    """sha256 over the folder's weight files (name + bytes), cached by (path, size, mtime)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not files:
        return None
    key = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    cache: dict[str, str] = {}
    if cache_file is not None and cache_file.exists():
        try:
            cache = json.loads(cache_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            cache = {}
    if key in cache:
        return cache[key]
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
    digest = h.hexdigest()
    if cache_file is not None:
        cache[key] = digest
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1), encoding="utf-8")
        os.replace(tmp, cache_file)
    return digest


def _load_tokenizer(src: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(src)


def resolve_model(spec: str, hash_cache: Path | None = None) -> ModelInfo:
    """Resolve and check a model before any work; WinnowError says why it will not load."""
    from transformers import AutoConfig

    path = Path(spec).expanduser()
    peft_dir: str | None = None
    if path.exists():
        if not path.is_dir():
            raise WinnowError(f"--model {spec}: not a folder (expected a model folder with config.json, "
                              "or a LoRA adapter folder with adapter_config.json)")
        path = path.resolve()
        if (path / "adapter_config.json").exists():
            try:
                acfg = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise WinnowError(f"{path / 'adapter_config.json'}: not valid JSON ({e.msg})") from None
            base = acfg.get("base_model_name_or_path")
            if not base:
                raise WinnowError(f"{path / 'adapter_config.json'}: no base_model_name_or_path field")
            kind, pretrained, peft_dir = "adapter", _adapter_base(path, base), str(path)
        elif (path / "config.json").exists():
            kind, pretrained = "local", str(path)
        else:
            raise WinnowError(f"--model {spec}: the folder has neither config.json (a model) nor "
                              "adapter_config.json (a LoRA adapter)")
    else:
        kind, pretrained = "hub", spec
    try:
        AutoConfig.from_pretrained(pretrained)
    except Exception as e:  # noqa: BLE001 - transformers raises many types; report as one line
        where = ("the adapter's base model" if kind == "adapter" else
                 "not a local folder nor in the local Hugging Face cache" if kind == "hub" else "its config")
        raise WinnowError(f"--model {spec} does not load ({where}): {type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}") from None
    tok_src = peft_dir if peft_dir and any(Path(peft_dir).glob("tokenizer*")) else pretrained
    try:
        tok = _load_tokenizer(tok_src)
    except Exception as e:  # noqa: BLE001
        raise WinnowError(f"--model {spec}: its tokenizer does not load from {tok_src}: {type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}") from None
    ids = tok("a")["input_ids"]
    adds_bos = bool(tok.bos_token_id is not None and ids and ids[0] == tok.bos_token_id)
    if kind == "local":
        digest = weights_hash(Path(pretrained), hash_cache)
        if digest is None:
            raise WinnowError(f"--model {spec}: no weight files (*.safetensors, *.bin) in the folder")
    elif kind == "adapter":
        a = weights_hash(Path(peft_dir), hash_cache)  # type: ignore[arg-type]
        b = weights_hash(Path(pretrained), hash_cache) if Path(pretrained).is_dir() else pretrained
        digest = hashlib.sha256(f"{b}+{a}".encode()).hexdigest()
    else:
        digest = _hub_weights_hash(spec, hash_cache)
    return ModelInfo(spec=spec, kind=kind, pretrained=pretrained, peft=peft_dir, weights_sha256=digest,
                     tokenizer=tok_src, bos_token=tok.bos_token, tokenizer_adds_bos=adds_bos,
                     chat_template_sha256=_template_hash(getattr(tok, "chat_template", None)),
                     model_files_sha256=model_files_sha256(pretrained, peft_dir, tok_src))


def _template_hash(template: object) -> str | None:
    if not template:
        return None
    text = template if isinstance(template, str) else json.dumps(template, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _adapter_base(adapter: Path, base: str) -> str:
    """The adapter's base as a folder when one can be found, else the id as written.

    peft writes `base_model_name_or_path` as the trainer was given it (often relative to the directory
    training ran in); `winnow train` also records the absolute base path in its `manifest.json`.
    """
    cands = [Path(base).expanduser(), adapter / base, Path.cwd() / base]
    man = adapter / "manifest.json"
    if man.exists():
        try:
            info = json.loads(man.read_text(encoding="utf-8")).get("base_model") or {}
            if isinstance(info, dict) and info.get("path"):
                cands.append(Path(info["path"]))
        except json.JSONDecodeError:
            pass
    for c in cands:
        if c.is_dir() and (c / "config.json").exists():
            return str(c.resolve())
    return base


def _cached_snapshot(repo_id: str) -> Path | None:
    """The folder of a hub id's cached snapshot, or None when it is not cached (never downloads)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached as a snapshot
        return None


def _hub_weights_hash(repo_id: str, hash_cache: Path | None) -> str | None:
    """Hash of a cached hub snapshot's weights (never downloads)."""
    folder = _cached_snapshot(repo_id)
    return None if folder is None else weights_hash(folder, hash_cache)


# Besides the weights, the files that change a model's responses: the tokenizer (vocabulary, merges, special
# tokens, chat template) and the model/generation/adapter config. Small files, hashed on every run.
MODEL_FILE_PATTERNS = ("tokenizer*", "special_tokens_map.json", "added_tokens.json", "vocab.*", "merges.txt",
                       "*.model", "chat_template.*", "config.json", "generation_config.json", "adapter_config.json")


def _local_folder(src: str | None) -> Path | None:
    """A model source as a folder: itself, or a hub id's cached snapshot (never downloads)."""
    if not src:
        return None
    return Path(src) if Path(src).is_dir() else _cached_snapshot(src)


def model_files_sha256(pretrained: str, peft: str | None, tokenizer: str) -> str:
    """sha256 over the content of the tokenizer and config files of the model, its adapter and its tokenizer
    folder (MODEL_FILE_PATTERNS), so a tokenizer rebuilt in the same folder is a different model to the cache
    and the fingerprint even when the weights come out the same."""
    h = hashlib.sha256()
    for role, src in (("pretrained", pretrained), ("peft", peft), ("tokenizer", tokenizer)):
        folder = _local_folder(src)
        if folder is None:
            h.update(f"{role}:{src}\0".encode())
            continue
        files = sorted({p for pat in MODEL_FILE_PATTERNS for p in folder.glob(pat) if p.is_file()})
        for p in files:
            h.update(f"{role}/{p.name}\0".encode())
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()

