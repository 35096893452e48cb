"""Signal effects applied after synthesis: additive noise at a target SNR, sound events, padding.

Usage::

    noisy = add_noise(wav, snr_db=15.0, rng=np.random.default_rng(0), color="pink")
    ring = event_sound("[ringing]", 8000, rng)     # (N,) float32

All functions take and return mono float32 arrays of shape (N,).
"""
from __future__ import annotations

import numpy as np

NOISE_COLORS = ("white", "pink", "brown")
ACTIVE_THRESHOLD = 0.02  # |x| above this counts as speech when measuring signal power
EVENT_LEVEL = 0.15  # peak amplitude of sound events (quieter than speech)
RING_HZ = (440.0, 480.0)  # North American ring-back tone pair


def colored_noise(num_samples: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise of shape (num_samples,) with a 1/f^alpha spectrum (white 0, pink 1, brown 2)."""
    if color not in NOISE_COLORS:
        raise ValueError(f"noise color must be one of {NOISE_COLORS}, got {color!r}")
    white = rng.standard_normal(num_samples)
    if color == "white" or num_samples < 2:
        noise = white
    else:
        alpha = NOISE_COLORS.index(color)
        spectrum = np.fft.rfft(white)  # (num_samples // 2 + 1,)
        freqs = np.arange(len(spectrum), dtype=np.float64)
        freqs[0] = 1.0  # keep DC finite; it is removed below
        spectrum /= freqs ** (alpha / 2.0)  # power ~ 1/f^alpha -> amplitude ~ 1/f^(alpha/2)
        spectrum[0] = 0.0
        noise = np.fft.irfft(spectrum, n=num_samples)
    std = noise.std()
    return (noise / std if std > 0 else noise).astype(np.float32)


def signal_power(wav: np.ndarray) -> float:
    """Mean power over the active (non-silent) samples, so pauses do not lower the SNR reference."""
    active = wav[np.abs(wav) > ACTIVE_THRESHOLD]
    reference = active if active.size else wav
    return float(np.mean(np.square(reference, dtype=np.float64))) if reference.size else 0.0


def add_noise(wav: np.ndarray, snr_db: float, rng: np.random.Generator, color: str = "white") -> np.ndarray:
    """Add ``color`` noise so that speech power / noise power equals ``snr_db`` decibels."""
    noise = colored_noise(len(wav), color, rng)
    noise_power = signal_power(wav) / (10.0 ** (snr_db / 10.0))
    return (wav + noise * np.sqrt(noise_power)).astype(np.float32)


def measured_snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """SNR of ``noisy`` against its clean version, on the same active-sample power as :func:`add_noise`."""
    noise_power = float(np.mean(np.square(noisy.astype(np.float64) - clean)))
    return 10.0 * np.log10(signal_power(clean) / max(noise_power, 1e-20))


def silence(seconds: float, sample_rate: int) -> np.ndarray:
    return np.zeros(int(round(seconds * sample_rate)), dtype=np.float32)


def event_sound(token: str, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A short sound for a silent transcript token such as ``[noise]``; shape (N,)."""
    if token == "[ringing]":
        t = np.arange(int(0.6 * sample_rate)) / sample_rate
        wav = sum(np.sin(2 * np.pi * hz * t) for hz in RING_HZ) / len(RING_HZ)
    elif token == "[laughter]":  # three breathy "ha" bursts with a voiced buzz
        burst = int(0.12 * sample_rate)
        t = np.arange(burst) / sample_rate
        envelope = np.sin(np.pi * np.arange(burst) / burst)
        ha = envelope * (0.6 * np.sign(np.sin(2 * np.pi * 210 * t)) + 0.4 * rng.standard_normal(burst))
        gap = np.zeros(int(0.08 * sample_rate))
        wav = np.concatenate([ha, gap, ha, gap, ha])
    elif token == "[cough]":  # a sharp noise burst that decays
        n = int(0.25 * sample_rate)
        wav = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.05 * sample_rate))
    elif token == "[noise]":  # handling noise: brown noise with a fade in and out
        n = int(0.4 * sample_rate)
        wav = colored_noise(n, "brown", rng) * np.hanning(n)
    else:
        raise ValueError(f"no sound is defined for the token {token!r}; use one of [noise] [laughter] [cough] [ringing]")
    wav = np.asarray(wav, dtype=np.float64)
    peak = np.abs(wav).max()
    return (wav * (EVENT_LEVEL / peak if peak > 0 else 0.0)).astype(np.float32)
