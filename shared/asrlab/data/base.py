"""A torch Dataset over a list of :class:`~asrlab.data.utterance.Utterance` records on disk.

The LibriSpeech and custom-directory readers only differ in how they find their utterances; the
loading, tokenization and feature hook live here once.

Item layout (a dict)::

    waveform  float32 tensor (N,) at ``sample_rate``
    text      transcript as written in the corpus (None when the corpus has none)
    utt_id    str
    speaker   str
    tokens    int64 tensor (L,)      only when a tokenizer was given and text is not None
    features  transform(waveform)    only when a transform was given, e.g. (T, n_mels)
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch
from torch.utils.data import Dataset

from asrlab import audio
from asrlab.data.utterance import Utterance


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...


class UtteranceDataset(Dataset):
    """Serve utterances as dicts; subclasses build the utterance list.

    Parameters
    ----------
    utterances : the records, in item order.
    sample_rate : audio is resampled on load to this rate (Hz).
    tokenizer : anything with ``encode(text) -> list[int]``; adds ``tokens``.
    transform : callable applied to the waveform tensor (N,); its result is stored as ``features``.
    """

    def __init__(
        self,
        utterances: Sequence[Utterance],
        sample_rate: int = audio.SAMPLE_RATE,
        tokenizer: Tokenizer | None = None,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate}")
        self.utterances: list[Utterance] = list(utterances)
        self.sample_rate = int(sample_rate)
        self.tokenizer = tokenizer
        self.transform = transform
        self._durations: list[float] | None = None

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> dict[str, Any]:
        utt = self.utterances[index]
        wav, _ = audio.load(utt.audio_path, sample_rate=self.sample_rate)  # (N,), names the file on error
        item: dict[str, Any] = {
            "waveform": torch.from_numpy(wav),
            "text": utt.text,
            "utt_id": utt.utt_id,
            "speaker": utt.speaker_id,
        }
        if self.tokenizer is not None and utt.text is not None:
            item["tokens"] = torch.tensor(self.tokenizer.encode(utt.text), dtype=torch.long)  # (L,)
        if self.transform is not None:
            item["features"] = self.transform(item["waveform"])
        return item

    def durations(self) -> list[float]:
        """Seconds per utterance (from file headers, cached) — the lengths for bucketing."""
        if self._durations is None:
            self._durations = [
                u.duration if u.duration is not None else audio.duration(u.audio_path) for u in self.utterances
            ]
        return self._durations

    def texts(self) -> list[str]:
        """All transcripts (e.g. to train a BPE model or an n-gram LM)."""
        return [u.text for u in self.utterances if u.text is not None]
