"""Token budget of a curated run: kept tokens against what a model of a given size wants.

The compute-optimal rule of thumb (Hoffmann et al. 2022, "Chinchilla") is about 20 training tokens per
parameter. So a run keeping T tokens suits a model of about T/20 parameters, and a model of N parameters
wants about 20*N tokens: T/(20*N) below one means the data would be seen less than once at the optimum,
above one that the optimum needs 20*N/T epochs over it.

Tokens come from the run's manifest when it counted them (a recipe or command named a tokenizer), else
they are counted here from `kept/*.parquet` with the model's own tokenizer (tokenizer.json).
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.errors import WinnowError

TOKENS_PER_PARAM = 20


@dataclass
class Budget:
    run_dir: str
    kept_tokens: int
    tokenizer: str | None
    source: str  # "manifest" or "counted"
    optimal_params: int  # compute-optimal parameter count for the kept tokens
    params: int | None = None  # the model's (or --params) parameter count
    tokens_wanted: int | None = None  # compute-optimal tokens for `params`
    epochs: float | None = None  # tokens_wanted / kept_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tokenizer_file(path: str | Path, what: str = "tokenizer") -> Path:
    """A tokenizer.json, given it or the folder (model or tokenizer folder) holding it."""
    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.json"
    if not p.is_file():
        raise WinnowError(f"{what} {path}: no tokenizer.json there (a model folder needs its tokenizer saved "
                          "beside it; give --tokenizer DIR)")
    return p


def count_tokens(texts: list[str], tok_file: Path, batch: int = 2048) -> int:
    """Tokens in `texts` with a `tokenizers` tokenizer (no special tokens), batched in its Rust threads."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tok_file))
    total = 0
    for i in range(0, len(texts), batch):
        total += sum(len(e.ids) for e in tok.encode_batch(texts[i:i + batch], add_special_tokens=False))
    return total


def kept_files(run_dir: Path) -> list[Path]:
    files = sorted((run_dir / "kept").glob("*.parquet"))
    if not files:
        raise WinnowError(f"{run_dir}: no kept/*.parquet (not a curated run folder, or nothing was kept)")
    return files


def count_kept(run_dir: Path, tok_file: Path) -> int:
    import polars as pl

    total = 0
    for f in kept_files(run_dir):
        total += count_tokens(pl.read_parquet(f, columns=["text"])["text"].to_list(), tok_file)
    return total


def model_params(model_dir: str | Path) -> int:
    """Parameter count from the safetensors headers (no weights loaded), else from config.json on the meta
    device."""
    d = Path(model_dir)
    if not d.is_dir():
        raise WinnowError(f"--model {model_dir}: no such model folder")
    if (d / "adapter_config.json").exists():
        raise WinnowError(f"--model {model_dir}: a LoRA adapter; give its base model folder or --params N")
    files = sorted(d.glob("*.safetensors"))
    if files:
        n = 0
        for f in files:
            with open(f, "rb") as fh:
                (hlen,) = struct.unpack("<Q", fh.read(8))
                header = json.loads(fh.read(hlen))
            for k, v in header.items():
                if k != "__metadata__":
                    size = 1
                    for s in v["shape"]:
                        size *= s
                    n += size
        return n
    if not (d / "config.json").exists():
        raise WinnowError(f"--model {model_dir}: no config.json or *.safetensors (not a model folder)")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        m = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(d))
    return sum(p.numel() for p in m.parameters())


def budget(run_dir: str | Path, *, model: str | Path | None = None, params: int | None = None,
           tokenizer: str | Path | None = None) -> Budget:
    """Kept tokens of a curated run and what they mean for a model of `params` (or `model`'s) parameters."""
    run = Path(run_dir).absolute()
    if not run.is_dir():
        raise WinnowError(f"{run_dir}: no such run folder")
    if params is not None and params <= 0:
        raise WinnowError(f"--params {params}: must be a positive number of parameters")
    try:
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise WinnowError(f"{run}: no readable manifest.json (not a curated run folder)") from None
    tok_file = tokenizer_file(tokenizer) if tokenizer else (
        tokenizer_file(model, "--model") if model is not None else None)
    recorded = manifest.get("tokens") if isinstance(manifest.get("tokens"), dict) else None
    use_manifest = recorded is not None and isinstance(recorded.get("kept"), int) and (
        tok_file is None or _same_tokenizer(recorded.get("tokenizer"), tok_file))
    if use_manifest:
        kept, tok_name, source = int(recorded["kept"]), recorded.get("tokenizer"), "manifest"
    elif tok_file is not None:
        kept, tok_name, source = count_kept(run, tok_file), str(tok_file), "counted"
    else:
        raise WinnowError(f"{run}: the manifest has no token counts (its recipe named no tokenizer); give --model DIR "
                          "or --tokenizer DIR to count them")
    n = model_params(model) if model is not None else params
    b = Budget(str(run), kept, tok_name, source, optimal_params=kept // TOKENS_PER_PARAM, params=n)
    if n is not None:
        b.tokens_wanted = TOKENS_PER_PARAM * n
        b.epochs = b.tokens_wanted / kept if kept else float("inf")
    return b


def _same_tokenizer(recorded: str | None, tok_file: Path) -> bool:
    if not recorded:
        return False
    try:
        rec = tokenizer_file(recorded)
    except WinnowError:
        return False
    return rec.resolve() == tok_file.resolve() or rec.read_bytes() == tok_file.read_bytes()
