"""Waveform augmentations for ASR training.

Every augmentation is a small callable with the same signature::

    augmented = transform(wav, rng)

where ``wav`` is a mono waveform of shape ``(N,)`` -- a float numpy array or a torch tensor -- and
``rng`` is a ``numpy.random.Generator`` that supplies all randomness (so a seeded generator gives
reproducible augmentations, also inside DataLoader workers). The result has the input's type,
dtype and device. Only :class:`SpeedPerturb` changes the length.

Usage::

    import numpy as np
    from asrlab.augment import AddNoise, Compose, Gain, RandomApply, SpeedPerturb, TimeShift

    augment = Compose([
        RandomApply(SpeedPerturb((0.9, 1.0, 1.1)), p=0.5),
        RandomApply(Gain(-6.0, 6.0), p=0.5),
        RandomApply(AddNoise(snr_db=(10.0, 30.0)), p=0.5),
        RandomApply(TimeShift(max_shift=0.1), p=0.5),
    ])
    wav = augment(wav, np.random.default_rng(0))
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from asrlab.audio import resample

Waveform = Any  # np.ndarray or torch.Tensor of shape (N,)
Transform = Callable[[Waveform, np.random.Generator], Waveform]

# Speed factors are applied as the integer resampling ratio (factor * 1000) : 1000.
_SPEED_RESOLUTION = 1000


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                        "create one with numpy.random.default_rng(seed)")
    return rng


def _to_numpy(wav: Waveform) -> tuple[np.ndarray, Callable[[np.ndarray], Waveform]]:
    """Return the waveform as float64 numpy (N,) and a function converting a result back to the input's kind."""
    torch = sys.modules.get("torch")  # a tensor can only exist if torch is already imported
    if torch is not None and isinstance(wav, torch.Tensor):
        is_float, like = wav.is_floating_point(), wav

        def restore(out: np.ndarray) -> Waveform:
            return torch.from_numpy(np.ascontiguousarray(out)).to(device=like.device, dtype=like.dtype)

        array = wav.detach().cpu().double().numpy() if is_float else None
    elif isinstance(wav, np.ndarray):
        is_float, dtype = np.issubdtype(wav.dtype, np.floating), wav.dtype

        def restore(out: np.ndarray) -> Waveform:
            return out.astype(dtype)

        array = wav.astype(np.float64) if is_float else None
    else:
        raise TypeError(f"expected a waveform as numpy array or torch tensor, got {type(wav).__name__}")
    if array is None:
        raise TypeError(f"expected a floating-point waveform in [-1, 1], got dtype {wav.dtype}; "
                        "divide integer PCM by 32768 first")
    if array.ndim != 1:
        raise ValueError(f"augmentations expect one mono waveform of shape (N,), got shape {tuple(array.shape)}; "
                         "apply them per utterance before batching")
    return array, restore


def _uniform(value: float | tuple[float, float], rng: np.random.Generator) -> float:
    """A fixed value, or a uniform draw from a (low, high) range."""
    if isinstance(value, tuple):
        return float(rng.uniform(value[0], value[1]))
    return float(value)


def _check_range(name: str, value: float | tuple[float, float]) -> None:
    if isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
        raise ValueError(f"{name} must be a number or a (low, high) tuple with low <= high, got {value}")


def power(wav: np.ndarray) -> float:
    """Mean power ``mean(wav ** 2)`` of a (N,) waveform."""
    return float(np.mean(np.square(wav))) if wav.size else 0.0


class AddNoise:
    """Add noise at an exact signal-to-noise ratio.

    The noise is scaled so that ``10 log10(power(wav) / power(noise)) == snr_db``.

    Parameters
    ----------
    snr_db : the SNR in dB, or a (low, high) range to draw it from uniformly.
    noises : optional noise recordings, each (M,) at the speech's sample rate; one is picked at random,
        a random excerpt is taken (tiled when shorter than the speech). ``None`` adds white Gaussian noise.

    A silent waveform (zero power) has no defined SNR and is returned unchanged.
    """

    def __init__(self, snr_db: float | tuple[float, float] = (10.0, 30.0), noises: Sequence[np.ndarray] | None = None):
        _check_range("snr_db", snr_db)
        self.snr_db = snr_db
        self.noises = None if noises is None else [np.asarray(n, dtype=np.float64) for n in noises]
        for i, noise in enumerate(self.noises or []):
            if noise.ndim != 1 or power(noise) == 0.0:
                raise ValueError(f"noises[{i}] must be a non-silent mono waveform of shape (M,), "
                                 f"got shape {noise.shape} with power {power(noise)}")
        if self.noises is not None and not self.noises:
            raise ValueError("noises is an empty list; pass None for white noise or at least one recording")

    def _noise(self, num_samples: int, rng: np.random.Generator) -> np.ndarray:
        if self.noises is None:
            return rng.standard_normal(num_samples)
        noise = self.noises[rng.integers(len(self.noises))]
        if noise.size < num_samples:
            noise = np.tile(noise, -(-num_samples // noise.size))  # ceil division
        start = rng.integers(noise.size - num_samples + 1)
        return noise[start : start + num_samples]

    def __call__(self, wav: Waveform, rng: np.random.Generator) -> Waveform:
        array, restore = _to_numpy(wav)
        rng = _check_rng(rng)
        snr_db = _uniform(self.snr_db, rng)
        signal_power = power(array)
        if signal_power == 0.0:
            return restore(array)
        noise = self._noise(array.size, rng)
        noise_power = power(noise)
        if noise_power == 0.0:  # a silent excerpt of a noise recording: nothing to scale
            return restore(array)
        scale = np.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
        return restore(array + scale * noise)


class SpeedPerturb:
    """Speed perturbation by resampling: duration divides by the factor, pitch multiplies by it.

    As in Kaldi recipes, the waveform is treated as if it had been recorded at ``factor`` times the
    sample rate and resampled back, so the output has ``round(N / factor)`` samples.

    Parameters
    ----------
    factors : speed factors to choose from uniformly, e.g. ``(0.9, 1.0, 1.1)``; each must be positive
        and is used to a precision of 0.001.
    """

    def __init__(self, factors: Sequence[float] = (0.9, 1.0, 1.1)):
        factors = tuple(float(f) for f in factors)
        if not factors or min(factors) <= 0:
            raise ValueError(f"factors must be a non-empty list of positive speed factors, got {factors}")
        self.factors = factors

    def __call__(self, wav: Waveform, rng: np.random.Generator) -> Waveform:
        array, restore = _to_numpy(wav)
        factor = self.factors[_check_rng(rng).integers(len(self.factors))]
        orig_rate = int(round(factor * _SPEED_RESOLUTION))
        if orig_rate == _SPEED_RESOLUTION:
            return restore(array)
        return restore(resample(array.astype(np.float32), orig_rate, _SPEED_RESOLUTION).astype(np.float64))


class Gain:
    """Multiply by a random gain drawn uniformly in dB from ``[min_db, max_db]``.

    No clipping is applied: features are computed from float waveforms, and clipping would distort.
    """

    def __init__(self, min_db: float = -6.0, max_db: float = 6.0):
        _check_range("(min_db, max_db)", (min_db, max_db))
        self.min_db, self.max_db = min_db, max_db

    def __call__(self, wav: Waveform, rng: np.random.Generator) -> Waveform:
        array, restore = _to_numpy(wav)
        gain_db = _check_rng(rng).uniform(self.min_db, self.max_db)
        return restore(array * 10.0 ** (gain_db / 20.0))


class TimeShift:
    """Shift the waveform in time by a random amount, filling with zeros; the length is unchanged.

    Parameters
    ----------
    max_shift : largest shift as a fraction of the waveform's length (shifts go either way).
    """

    def __init__(self, max_shift: float = 0.1):
        if not 0.0 <= max_shift <= 1.0:
            raise ValueError(f"max_shift is a fraction of the length in [0, 1], got {max_shift}")
        self.max_shift = max_shift

    def __call__(self, wav: Waveform, rng: np.random.Generator) -> Waveform:
        array, restore = _to_numpy(wav)
        limit = int(self.max_shift * array.size)
        shift = int(_check_rng(rng).integers(-limit, limit + 1))
        out = np.zeros_like(array)
        if shift >= 0:
            out[shift:] = array[: array.size - shift]
        else:
            out[:shift] = array[-shift:]
        return restore(out)


class RandomApply:
    """Apply ``transform`` with probability ``p``, else return the input unchanged."""

    def __init__(self, transform: Transform, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.transform, self.p = transform, p

    def __call__(self, wav: Waveform, rng: np.random.Generator) -> Waveform:
        return self.transform(wav, rng) if _check_rng(rng).random() < self.p else wav


class Compose:
    """Apply transforms one after another, all drawing from the same generator."""

    def __init__(self, transforms: Sequence[Transform]):
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"transforms[{i}] is a {type(t).__name__}, not a callable (wav, rng) -> wav")
        self.transforms = list(transforms)

    def __call__(self, wav: Waveform, rng: np.random.Generator) -> Waveform:
        for transform in self.transforms:
            wav = transform(wav, rng)
        return wav
