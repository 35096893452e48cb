"""The record every corpus reader and writer agrees on."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Utterance:
    """One utterance of a corpus on disk.

    Attributes
    ----------
    utt_id : corpus-unique id, e.g. ``"103-1240-0003"`` for LibriSpeech.
    audio_path : the audio file (``None`` where audio lives inside a container such as HVB's data.h5).
    text : the transcript as written in the corpus (``None`` when the corpus has none).
    speaker_id : speaker label used for speaker-disjoint splits.
    duration : seconds, when known without decoding audio.
    """

    utt_id: str
    audio_path: Path | None
    text: str | None
    speaker_id: str
    duration: float | None = None
