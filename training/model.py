"""Load the base model and tokenizer: a local folder, a LoRA adapter folder, or a hub id already cached.

Nothing downloads unless the config says `allow_download` and HF_HUB_OFFLINE is not set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from curation.errors import WinnowError


def is_adapter_dir(path: str | Path) -> bool:
    return (Path(path) / "adapter_config.json").exists()


def load_base(model: str, allow_download: bool = False) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, info): info records where the weights came from, for the manifest."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(model).expanduser()
    info: dict[str, Any] = {"given": model}
    if p.is_dir():
        if not (p / "config.json").exists() and not is_adapter_dir(p):
            raise WinnowError(f"model folder {p} does not load: it has no config.json (nor adapter_config.json)")
        try:
            if is_adapter_dir(p):
                from peft import AutoPeftModelForCausalLM

                peft_model = AutoPeftModelForCausalLM.from_pretrained(str(p))
                base_ref = peft_model.peft_config["default"].base_model_name_or_path
                m = peft_model.merge_and_unload()
                info.update(kind="adapter", path=str(p.absolute()), adapter_base=base_ref)
            else:
                m = AutoModelForCausalLM.from_pretrained(str(p))
                info.update(kind="folder", path=str(p.absolute()))
            tok = AutoTokenizer.from_pretrained(str(p))
        except WinnowError:
            raise
        except Exception as e:  # noqa: BLE001 - any loader failure is a bad model folder for the user
            raise WinnowError(f"model folder {p} does not load: {type(e).__name__}: {str(e).splitlines()[0]}") from None
        m.config._name_or_path = str(p.absolute())
        m.name_or_path = str(p.absolute())
    else:
        if model.startswith((".", "/", "~")) or os.sep in model.strip("/").replace("/", "", 1):
            raise WinnowError(f"model folder not found: {p}")
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
        local_only = offline or not allow_download
        try:
            m = AutoModelForCausalLM.from_pretrained(model, local_files_only=local_only)
            tok = AutoTokenizer.from_pretrained(model, local_files_only=local_only)
        except Exception as e:  # noqa: BLE001
            why = ("HF_HUB_OFFLINE=1 is set" if offline else
                   "downloads are off (pass --download when online)") if local_only else str(e).splitlines()[0]
            raise WinnowError(f"model '{model}' is not a local folder and is not in the local Hugging Face "
                              f"cache; {why}. Build one with `winnow model tiny` or give a folder.") from None
        info.update(kind="hub", id=model, revision=getattr(m.config, "_commit_hash", None))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    info["params"] = sum(x.numel() for x in m.parameters())
    info["architecture"] = (m.config.architectures or [type(m).__name__])[0]
    return m, tok, info


def check_chat_template(tok: Any, model: str, assistant_only_loss: bool) -> None:
    """Conversational data needs a chat template; assistant-only loss needs generation markers in it."""
    tmpl = tok.chat_template
    if not tmpl:
        raise WinnowError(f"model {model} has no chat template, but the data is conversational "
                          "(give plain text data or a tokenizer with a chat template)")
    if assistant_only_loss and "generation" not in (tmpl if isinstance(tmpl, str) else str(tmpl)):
        raise WinnowError(f"assistant_only_loss needs a chat template with {{% generation %}} markers; "
                          f"the template of {model} has none")
