"""Audio input/output and resampling.

All waveforms in asrlab are mono float32 numpy arrays in [-1, 1] with shape ``(num_samples,)``.

Usage::

    from asrlab import audio
    wav, sr = audio.load("utt.flac", sample_rate=16000)   # resampled on load
    audio.save("copy.wav", wav, sr)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from asrlab.errors import AsrlabError

SAMPLE_RATE = 16000  # LibriSpeech-style corpora
HVB_SAMPLE_RATE = 8000  # HarperValleyBank-style corpora


class AudioError(AsrlabError, ValueError):
    """An audio file that cannot be read, with the file named in the message."""


def load(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32.

    Parameters
    ----------
    path : file readable by libsndfile (wav, flac, ogg, ...).
    sample_rate : resample to this rate; ``None`` keeps the file's rate.

    Returns
    -------
    wav : np.ndarray, shape (num_samples,), float32
    sample_rate : int
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        wav, sr = sf.read(str(path), dtype="float32", always_2d=True)  # (N, channels)
    except Exception as exc:  # libsndfile raises several types for corrupt data
        raise AudioError(
            f"{path}: cannot decode audio ({exc}). The file is corrupt or not an audio file; "
            "re-create or re-download it."
        ) from exc
    wav = wav.mean(axis=1)  # downmix: the course models are mono
    if sample_rate is not None and sample_rate != sr:
        wav, sr = resample(wav, sr, sample_rate), sample_rate
    return np.ascontiguousarray(wav, dtype=np.float32), int(sr)


def save(path: str | Path, wav: np.ndarray, sample_rate: int) -> Path:
    """Write a mono waveform; the format follows the suffix (``.wav`` as 16-bit PCM, ``.flac``)."""
    path = Path(path)
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"save expects a mono waveform of shape (num_samples,), got shape {wav.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16")
    return path


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality). Shape (N,) -> (round(N * target/orig),)."""
    if orig_sr == target_sr:
        return np.asarray(wav, dtype=np.float32)
    import soxr  # a librosa dependency; imported lazily to keep `import asrlab.audio` light

    return soxr.resample(np.asarray(wav, dtype=np.float32), orig_sr, target_sr, quality="HQ").astype(np.float32)


def duration(path: str | Path) -> float:
    """Length of an audio file in seconds, read from its header only."""
    try:
        return sf.info(str(path)).duration
    except Exception as exc:
        raise AudioError(f"{path}: cannot read audio header ({exc})") from exc
