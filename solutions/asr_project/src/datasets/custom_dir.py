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
        ### BEGIN SOLUTION
        audio_dir, text_dir = self.root / "audio", self.root / "transcriptions"
        if not audio_dir.is_dir():
            raise FileNotFoundError(f"{audio_dir} does not exist; a custom folder needs audio/<id>.wav|flac|mp3")
        self.paths = sorted(p for p in audio_dir.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
        if not self.paths:
            raise FileNotFoundError(f"{audio_dir} holds no {'/'.join(AUDIO_SUFFIXES)} files")
        self.ids = [p.stem for p in self.paths]
        self.texts: list[str | None] = [None] * len(self.paths)
        if text_dir.is_dir():
            missing = [i for i in self.ids if not (text_dir / f"{i}.txt").is_file()]
            if missing:
                raise ValueError(f"{text_dir} has no transcript for {missing[:3]}; add <id>.txt for every audio "
                                 "file or remove transcriptions/")
            self.texts = [(text_dir / f"{i}.txt").read_text(encoding="utf-8").strip() for i in self.ids]
        ### END SOLUTION

    def __len__(self) -> int:
        ### BEGIN SOLUTION
        return len(self.paths)
        ### END SOLUTION

    def __getitem__(self, index: int) -> dict[str, Any]:
        ### BEGIN SOLUTION
        return {"id": self.ids[index], "audio": load_audio(self.paths[index], self.sample_rate),
                "text": self.texts[index]}
        ### END SOLUTION
