"""The HarperValleyBank label vocabulary (48 classes).

Index layout::

    0 <eps>  1 <sos>  2 <eos>  3 <pad>          special tokens (eps doubles as the CTC blank)
    4..38    the 35 characters  ' ', "'", '~', '-', '.', '<', '>', '[', ']', 'a'..'z'
    39..47   the 9 silent tokens [baby] [ringing] [laughter] [kids] [music] [noise]
             [unintelligible] [dogs] [cough]

A transcript becomes labels word by word: it is split on whitespace; a word that *is* a silent
token (e.g. ``[laughter]``) becomes that single id, any other word is spelled character by
character; words are joined by the space id. Characters outside the 35 are an error (the corpus
has none), because silently dropping them would change label lengths.

Usage::

    from asrlab.text import HVBVocab
    vocab = HVBVocab()
    ids = vocab.encode("[laughter] yes please")   # [41, 4, 37, 17, 31, 4, 28, 24, 17, 13, 31, 17]
    vocab.decode(ids)                             # "[laughter] yes please"
    padded, length = vocab.pad(ids, max_length=20)
"""
from __future__ import annotations

import string
from collections.abc import Iterable, Sequence

SPECIAL_TOKENS: tuple[str, ...] = ("<eps>", "<sos>", "<eos>", "<pad>")
EPS_INDEX, SOS_INDEX, EOS_INDEX, PAD_INDEX = 0, 1, 2, 3
CHARACTERS: tuple[str, ...] = (" ", "'", "~", "-", ".", "<", ">", "[", "]", *string.ascii_lowercase)
SILENT_TOKENS: tuple[str, ...] = (
    "[baby]", "[ringing]", "[laughter]", "[kids]", "[music]",
    "[noise]", "[unintelligible]", "[dogs]", "[cough]",
)


class HVBVocab:
    """Characters plus whole-word silent tokens behind four special tokens; ``len(vocab) == 48``."""

    eps: int = EPS_INDEX
    sos: int = SOS_INDEX
    eos: int = EOS_INDEX
    pad_index: int = PAD_INDEX

    def __init__(self) -> None:
        self.symbols: tuple[str, ...] = SPECIAL_TOKENS + CHARACTERS + SILENT_TOKENS
        self._index = {sym: i for i, sym in enumerate(self.symbols)}
        self.space: int = self._index[" "]
        self.blank: int = self.eps  # CTC blank

    @property
    def num_class(self) -> int:
        """Number of output classes of a model over this vocabulary (48)."""
        return len(self.symbols)

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, transcript: str, append_eos: bool = False) -> list[int]:
        """Turn a transcript into label ids, shape (num_labels,).

        Parameters
        ----------
        transcript : str
            A HarperValleyBank transcript (lower case, e.g. ``"[noise] hi i'd like to pay a bill"``).
        append_eos : bool
            Append ``<eos>`` (the LAS objective needs it; CTC does not).
        """
        labels: list[int] = []
        for word in transcript.split():
            if labels:
                labels.append(self.space)
            if word in SILENT_TOKENS:
                labels.append(self._index[word])
                continue
            for ch in word:
                idx = self._index.get(ch)
                if idx is None or idx < len(SPECIAL_TOKENS):
                    raise ValueError(
                        f"character {ch!r} in transcript {transcript!r} is not in the HarperValleyBank "
                        f"vocabulary {''.join(CHARACTERS)!r}; lower-case the text or remove the character"
                    )
                labels.append(idx)
        if append_eos:
            labels.append(self.eos)
        return labels

    def decode(self, ids: Iterable[int], strip_special: bool = True) -> str:
        """Map ids back to text; special tokens are skipped unless ``strip_special=False``."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.symbols):
                raise ValueError(f"label id {i} is outside the HarperValleyBank vocabulary (0..{len(self.symbols) - 1})")
            if strip_special and i < len(SPECIAL_TOKENS):
                continue
            out.append(self.symbols[i])
        return "".join(out)

    def indices_to_symbols(self, ids: Iterable[int]) -> list[str]:
        """One symbol string per id, special tokens included (for printing alignments)."""
        return [self.symbols[int(i)] for i in ids]

    def pad(self, labels: Sequence[int], max_length: int, pad: int | None = None) -> tuple[list[int], int]:
        """Crop or pad ``labels`` to exactly ``max_length`` ids.

        Returns
        -------
        padded : list[int], length ``max_length``, filled with ``pad`` (default ``<pad>`` = 3)
        length : int, the number of real labels kept, ``min(len(labels), max_length)``
        """
        if max_length < 0:
            raise ValueError(f"max_length must be >= 0, got {max_length}")
        pad = self.pad_index if pad is None else pad
        kept = [int(x) for x in labels[:max_length]]
        return kept + [pad] * (max_length - len(kept)), len(kept)

    def __repr__(self) -> str:
        return f"HVBVocab(num_class={self.num_class})"
