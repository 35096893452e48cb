"""LibriSpeech-layout corpora (the real one and the synthetic one) as a torch Dataset.

Usage::

    from asrlab.data import LibriSpeech
    from asrlab.text import CharTokenizer
    ds = LibriSpeech("data/synth-libri", "dev-clean", tokenizer=CharTokenizer())
    item = ds[0]   # {"waveform": (N,) float32, "text": "...", "utt_id": ..., "speaker": ..., "tokens": (L,)}
    LibriSpeech.splits("data/synth-libri")   # splits found on disk
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from asrlab.audio import SAMPLE_RATE
from asrlab.data.base import Tokenizer, UtteranceDataset
from asrlab.data.layout import librispeech_splits, scan_librispeech

__all__ = ["LibriSpeech", "librispeech_splits", "scan_librispeech"]


class LibriSpeech(UtteranceDataset):
    """One split of a LibriSpeech-layout corpus.

    Parameters
    ----------
    root : directory holding the split folders (``train-clean-100``/``train-clean``, ``dev-clean``,
        ``test-clean``, ``test-other``, ...), or the parent of an unpacked ``LibriSpeech/``.
    split : split folder name; an unknown name raises an error listing the splits on disk.
    sample_rate : waveforms are resampled to this rate on load.
    tokenizer : adds ``tokens`` (int64 (L,)) from ``tokenizer.encode(text)``.
    transform : adds ``features = transform(waveform)``.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        sample_rate: int = SAMPLE_RATE,
        tokenizer: Tokenizer | None = None,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(scan_librispeech(root, split), sample_rate, tokenizer, transform)
        self.root = Path(root)
        self.split = split

    @staticmethod
    def splits(root: str | Path) -> list[str]:
        """Split names present under ``root``."""
        return librispeech_splits(root)

    def __repr__(self) -> str:
        return f"LibriSpeech(root={str(self.root)!r}, split={self.split!r}, utterances={len(self)})"
