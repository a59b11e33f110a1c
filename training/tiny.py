"""A tiny local base model for offline tests and demos (no PyPI package ships causal-LM weights).

A byte-level BPE trained with `tokenizers` on the user's corpus, wrapped as `PreTrainedTokenizerFast`
with a ChatML chat template whose assistant turns carry `{% generation %}` markers (so TRL's
`assistant_only_loss` works), plus a small randomly initialised `LlamaForCausalLM`. Loads with the
Auto classes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from curation.errors import WinnowError

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

# ChatML; assistant content is wrapped in generation markers for assistant-only loss.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}"
    "{%- else %}"
    "{{- message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

_TEXT_KEYS = ("text", "instruction", "input", "output", "prompt", "chosen", "rejected", "content", "value",
              "response", "question", "answer")


def _strings(obj: object) -> Iterator[str]:
    """Every string worth training a tokenizer on inside one JSON record (texts, chat turns, pairs)."""
    if isinstance(obj, str):
        if obj:
            yield obj
    elif isinstance(obj, list):
        for x in obj:
            yield from _strings(x)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k in _TEXT_KEYS or k in ("messages", "conversations"):
                yield from _strings(v)


def iter_corpus_texts(path: str | Path) -> Iterator[str]:
    """Texts of a corpus file: JSONL(.gz) records (text/messages/prompt...), Parquet `text`, or plain text."""
    p = Path(path)
    if not p.exists():
        raise WinnowError(f"corpus file not found: {p}")
    if p.is_dir():
        files = sorted(p.glob("kept/*.parquet")) or sorted(p.glob("*.parquet"))
        if not files:
            raise WinnowError(f"corpus folder {p} has no kept/*.parquet or *.parquet files")
        for f in files:
            yield from iter_corpus_texts(f)
        return
    if p.suffix == ".parquet":
        import polars as pl

        df = pl.read_parquet(p)
        if "text" not in df.columns:
            raise WinnowError(f"{p}: parquet corpus has no 'text' column (columns: {df.columns})")
        yield from (t for t in df["text"].to_list() if t)
        return
    opener = gzip.open if p.suffix == ".gz" else open
    is_jsonl = ".jsonl" in p.suffixes or ".json" in p.suffixes
    with opener(p, "rt", encoding="utf-8") as fh:
        for line in fh:
            if is_jsonl:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                yield from _strings(rec)
            elif line.strip():
                yield line


def build_tiny_model(
    corpus_paths: list[str | Path] | str | Path,
    out_dir: str | Path,
    *,
    vocab_size: int = 2000,
    hidden: int = 128,
    layers: int = 2,
    heads: int = 4,
    intermediate: int | None = None,
    max_positions: int = 2048,
    seed: int = 0,
) -> Path:
    """Train a byte-level BPE on the corpus and save it with a small Llama model; return the folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    if isinstance(corpus_paths, (str, Path)):
        corpus_paths = [corpus_paths]
    if hidden % heads:
        raise WinnowError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
    texts = [t for p in corpus_paths for t in iter_corpus_texts(p)]
    if not texts:
        raise WinnowError(f"no text found in the corpus {', '.join(map(str, corpus_paths))}")

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=None, eos_token="<|im_end|>",
                                   pad_token="<|pad|>", unk_token=None, model_max_length=max_positions,
                                   additional_special_tokens=["<|im_start|>", "<|endoftext|>"])
    fast.chat_template = CHAT_TEMPLATE

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(fast), hidden_size=hidden, intermediate_size=intermediate or int(hidden * 8 / 3) // 8 * 8,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=max_positions, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )
    model = LlamaForCausalLM(cfg)
    model.generation_config.eos_token_id = fast.eos_token_id
    model.generation_config.pad_token_id = fast.pad_token_id
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    fast.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    (out / "winnow_tiny.json").write_text(json.dumps({
        "kind": "tiny-llama", "params": n_params, "vocab_size": len(fast), "hidden": hidden, "layers": layers,
        "heads": heads, "corpus": [str(Path(p).absolute()) for p in corpus_paths], "texts": len(texts),
        "seed": seed}, indent=2))
    return out
