"""Mixed precision: pick the autocast dtype for the device and whether a GradScaler is needed.

* CUDA with bf16 support (Ampere+, e.g. Colab's A100/L4): bfloat16 autocast, no scaler (bf16 has
  float32's exponent range, gradients do not underflow).
* Older CUDA GPUs (Colab's T4): float16 autocast with a ``GradScaler``.
* CPU: float32, autocast disabled (CPU autocast speeds up little and LSTMs would run in bf16).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Precision:
    """Resolved precision settings: ``dtype`` None means float32 without autocast."""

    device_type: str
    dtype: torch.dtype | None

    @property
    def use_scaler(self) -> bool:
        return self.dtype == torch.float16

    def autocast(self) -> contextlib.AbstractContextManager:
        """Context for forward pass and loss; a no-op for float32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def make_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler, enabled only for float16 (disabled scalers pass values through)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.use_scaler)


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """Map ``"auto" | "fp32" | "bf16" | "fp16"`` and a device to a :class:`Precision`."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device_type = device.type
    if precision == "fp32" or (precision == "auto" and device_type != "cuda"):
        return Precision(device_type, None)
    if precision == "auto":
        return Precision(device_type, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    if precision == "fp16" and device_type != "cuda":
        raise ValueError("precision='fp16' needs a CUDA GPU; use 'fp32' (or 'bf16') on the CPU")
    return Precision(device_type, torch.bfloat16 if precision == "bf16" else torch.float16)
