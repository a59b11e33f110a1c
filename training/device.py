"""Pick the device and the precision settings TRL needs there (TRL defaults to bf16 and refuses a CPU)."""

from __future__ import annotations

from typing import Any

from curation.errors import WinnowError


def resolve_device(device: str = "auto") -> tuple[str, dict[str, Any]]:
    """Return (device name, TrainingArguments kwargs): GPU with bf16 when present, else CPU in fp32."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise WinnowError("device 'cuda' asked for but no CUDA GPU is available (use --device auto or cpu)")
        return device, {"use_cpu": False, "bf16": torch.cuda.is_bf16_supported(), "fp16": False}
    if device == "mps":
        if not torch.backends.mps.is_available():
            raise WinnowError("device 'mps' asked for but MPS is not available")
        return device, {"use_cpu": False, "bf16": False, "fp16": False}
    return "cpu", {"use_cpu": True, "bf16": False, "fp16": False}
