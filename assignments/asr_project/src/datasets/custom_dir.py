"""A folder of audio files with optional transcripts (the layout of the unannounced test set).

Layout::

    <root>/audio/<id>.wav | <id>.flac | <id>.mp3
    <root>/transcriptions/<id>.txt        optional; when the folder exists, one per audio file

Usage::

    ds = CustomDirDataset("my_folder")
    item = ds[0]    # {"id": "<id>", "audio": FloatTensor (T,) at 16 kHz mono, "text": str or None}
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from asrlab import audio as asrlab_audio
from torch.utils.data import Dataset

SAMPLE_RATE = 16000
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3")


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Read an audio file as a mono float32 waveform at ``sample_rate``.

    Returns
    -------
    (T,) float32 tensor.
    """
    path = Path(path)
    try:
        wav, _ = asrlab_audio.load(path, sample_rate=sample_rate)
    except asrlab_audio.AudioError:
        if path.suffix.lower() != ".mp3":
            raise
        import librosa  # an older libsndfile cannot decode mp3; librosa falls back to audioread

        wav, _ = librosa.load(str(path), sr=sample_rate, mono=True)
    return torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))


class CustomDirDataset(Dataset):
    """Every ``<root>/audio/<id>.{wav,flac,mp3}`` file in id order, with its transcript when there is one.

    Parameters
    ----------
    root : the folder holding ``audio/`` (and optionally ``transcriptions/``).
    sample_rate : waveforms are resampled to this rate on load.

    Items are dicts ``{"id": str, "audio": FloatTensor (T,), "text": str | None}``; ``text`` is None for
    every item when ``transcriptions/`` is absent.

    Raises
    ------
    FileNotFoundError : no ``audio/`` folder, or no audio file in it.
    ValueError : ``transcriptions/`` exists but an audio file has no transcript.
    """

    def __init__(self, root: str | Path, sample_rate: int = SAMPLE_RATE) -> None:
        self.root = Path(root)
        self.sample_rate = sample_rate
        # YOUR CODE HERE
        raise NotImplementedError("your code goes here: replace this line (see the task above)")

    def __len__(self) -> int:
        # YOUR CODE HERE
        raise NotImplementedError("your code goes here: replace this line (see the task above)")

    def __getitem__(self, index: int) -> dict[str, Any]:
        # YOUR CODE HERE
        raise NotImplementedError("your code goes here: replace this line (see the task above)")
