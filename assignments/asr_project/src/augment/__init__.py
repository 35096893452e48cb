"""Waveform augmentations for training.

Each augmentation takes a mono waveform ``(T,)`` float32 tensor and its sample rate and returns an augmented
``(T,)`` float32 tensor of the same length. Random draws come from torch's global generator, so a result is
reproducible after ``torch.manual_seed``.

Usage::

    from src.augment import AUGMENTATIONS, augment
    noisy = AUGMENTATIONS["noise"](wav, 16000)
    wav = augment(wav, 16000, names=["noise", "gain"], p=0.5)   # each applied with probability p
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Augmentation = Callable[[torch.Tensor, int], torch.Tensor]


def _uniform(low: float, high: float) -> float:
    """One draw from U(low, high) with torch's global generator."""
    return float(torch.empty(()).uniform_(low, high))


def add_noise(wav: torch.Tensor, sample_rate: int, snr_db: tuple[float, float] = (5.0, 30.0)) -> torch.Tensor:
    """White Gaussian noise at a signal-to-noise ratio drawn from ``snr_db`` (dB). (T,) -> (T,)."""
    # YOUR CODE HERE
    raise NotImplementedError("your code goes here: replace this line (see the task above)")


def random_gain(wav: torch.Tensor, sample_rate: int, gain_db: tuple[float, float] = (-10.0, 6.0)) -> torch.Tensor:
    """Louder or quieter by a gain drawn from ``gain_db`` (dB), clipped to [-1, 1]. (T,) -> (T,)."""
    # YOUR CODE HERE
    raise NotImplementedError("your code goes here: replace this line (see the task above)")


def time_mask(wav: torch.Tensor, sample_rate: int, num_masks: int = 2, max_ms: float = 80.0) -> torch.Tensor:
    """Silence ``num_masks`` spans of up to ``max_ms`` ms each (SpecAugment's time masks on the waveform).
    (T,) -> (T,)."""
    # YOUR CODE HERE
    raise NotImplementedError("your code goes here: replace this line (see the task above)")


def freq_mask(wav: torch.Tensor, sample_rate: int, num_masks: int = 2, max_hz: float = 600.0,
              n_fft: int = 512) -> torch.Tensor:
    """Remove ``num_masks`` frequency bands of up to ``max_hz`` Hz each (SpecAugment's frequency masks, applied
    to the short-time spectrum and transformed back). (T,) -> (T,)."""
    # YOUR CODE HERE
    raise NotImplementedError("your code goes here: replace this line (see the task above)")


def reverb(wav: torch.Tensor, sample_rate: int, rt60: tuple[float, float] = (0.15, 0.6)) -> torch.Tensor:
    """A synthetic room: convolution with exponentially decaying noise (reverberation time drawn from
    ``rt60`` seconds), at the input's RMS level. (T,) -> (T,)."""
    # YOUR CODE HERE
    raise NotImplementedError("your code goes here: replace this line (see the task above)")


AUGMENTATIONS: dict[str, Augmentation] = {
    "noise": add_noise,
    "gain": random_gain,
    "time_mask": time_mask,
    "freq_mask": freq_mask,
    "reverb": reverb,
}


def augment(wav: torch.Tensor, sample_rate: int, names: Sequence[str], p: float) -> torch.Tensor:
    """Apply each augmentation in ``names`` (keys of :data:`AUGMENTATIONS`) with probability ``p``. (T,) -> (T,)."""
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise KeyError(f"unknown augmentation(s) {unknown}; known: {sorted(AUGMENTATIONS)}")
    for name in names:
        if p > 0 and float(torch.rand(())) < p:
            wav = AUGMENTATIONS[name](wav, sample_rate)
    return wav


__all__ = ["AUGMENTATIONS", "Augmentation", "add_noise", "augment", "freq_mask", "random_gain", "reverb", "time_mask"]
