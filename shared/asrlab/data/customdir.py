"""A directory of audio files with optional transcripts, e.g. an unannounced evaluation set.

Layout::

    <root>/audio/<id>.wav|.flac
    <root>/transcriptions/<id>.txt     (optional; when present, one per audio file)

Usage::

    from asrlab.data import CustomDir
    ds = CustomDir("my_eval_set")
    item = ds[0]   # {"waveform": (N,), "text": str | None, "utt_id": "<id>", "speaker": "unknown"}
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from asrlab.audio import SAMPLE_RATE
from asrlab.data.base import Tokenizer, UtteranceDataset
from asrlab.data.layout import scan_customdir


class CustomDir(UtteranceDataset):
    """Every ``audio/<id>.*`` file of ``root`` in id order; ``text`` is None without transcriptions/."""

    def __init__(
        self,
        root: str | Path,
        sample_rate: int = SAMPLE_RATE,
        tokenizer: Tokenizer | None = None,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(scan_customdir(root), sample_rate, tokenizer, transform)
        self.root = Path(root)

    @property
    def has_transcripts(self) -> bool:
        return any(u.text is not None for u in self.utterances)

    def __repr__(self) -> str:
        return f"CustomDir(root={str(self.root)!r}, utterances={len(self)})"
