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
    ### BEGIN SOLUTION
    snr = _uniform(*snr_db)
    signal_power = wav.pow(2).mean().clamp_min(1e-8)
    noise = torch.randn_like(wav) * torch.sqrt(signal_power / 10 ** (snr / 10))
    return (wav + noise).to(wav.dtype)
    ### END SOLUTION


def random_gain(wav: torch.Tensor, sample_rate: int, gain_db: tuple[float, float] = (-10.0, 6.0)) -> torch.Tensor:
    """Louder or quieter by a gain drawn from ``gain_db`` (dB), clipped to [-1, 1]. (T,) -> (T,)."""
    ### BEGIN SOLUTION
    gain = 10 ** (_uniform(*gain_db) / 20)
    return (wav * gain).clamp(-1.0, 1.0).to(wav.dtype)
    ### END SOLUTION


def time_mask(wav: torch.Tensor, sample_rate: int, num_masks: int = 2, max_ms: float = 80.0) -> torch.Tensor:
    """Silence ``num_masks`` spans of up to ``max_ms`` ms each (SpecAugment's time masks on the waveform).
    (T,) -> (T,)."""
    ### BEGIN SOLUTION
    out = wav.clone()
    max_len = max(1, int(sample_rate * max_ms / 1000))
    for _ in range(num_masks):
        width = int(torch.randint(1, max_len + 1, ()))
        start = int(torch.randint(0, max(1, wav.numel() - width), ()))
        out[start:start + width] = 0.0
    return out
    ### END SOLUTION


def freq_mask(wav: torch.Tensor, sample_rate: int, num_masks: int = 2, max_hz: float = 600.0,
              n_fft: int = 512) -> torch.Tensor:
    """Remove ``num_masks`` frequency bands of up to ``max_hz`` Hz each (SpecAugment's frequency masks, applied
    to the short-time spectrum and transformed back). (T,) -> (T,)."""
    ### BEGIN SOLUTION
    hop = n_fft // 4
    window = torch.hann_window(n_fft, dtype=torch.float32)
    spec = torch.stft(wav.float(), n_fft, hop, window=window, return_complex=True)  # (F, frames)
    bins = spec.shape[0]
    max_bins = max(1, int(max_hz / (sample_rate / n_fft)))
    for _ in range(num_masks):
        width = int(torch.randint(1, max_bins + 1, ()))
        start = int(torch.randint(0, bins - width, ()))
        spec[start:start + width] = 0
    return torch.istft(spec, n_fft, hop, window=window, length=wav.numel()).to(wav.dtype)
    ### END SOLUTION


def reverb(wav: torch.Tensor, sample_rate: int, rt60: tuple[float, float] = (0.15, 0.6)) -> torch.Tensor:
    """A synthetic room: convolution with exponentially decaying noise (reverberation time drawn from
    ``rt60`` seconds), at the input's RMS level. (T,) -> (T,)."""
    ### BEGIN SOLUTION
    seconds = _uniform(*rt60)
    n = max(2, int(seconds * sample_rate))
    t = torch.arange(n, dtype=torch.float32) / sample_rate
    impulse = torch.randn(n) * torch.exp(-6.9 * t / seconds)  # -60 dB after rt60 seconds
    impulse[0] = 1.0
    size = wav.numel() + n - 1
    wet = torch.fft.irfft(torch.fft.rfft(wav.float(), size) * torch.fft.rfft(impulse, size), size)[: wav.numel()]
    scale = wav.pow(2).mean().sqrt() / wet.pow(2).mean().sqrt().clamp_min(1e-8)
    return (wet * scale).clamp(-1.0, 1.0).to(wav.dtype)
    ### END SOLUTION


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
