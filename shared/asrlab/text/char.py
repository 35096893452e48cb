"""The course character tokenizer used by the CTC and RNN-T assignments.

Vocabulary (29 symbols): apostrophe (0), space (1), ``a``..``z`` (2..27), blank ``_`` (28).
The blank is the last index so that ``nn.CTCLoss(blank=len(tokenizer) - 1)`` and
``tokenizer.blank`` agree.

Usage::

    from asrlab.text import CharTokenizer
    tok = CharTokenizer()
    ids = tok.encode("Hello, world!")   # [9, 6, 13, 13, 16, 1, 24, 16, 19, 13, 5]
    tok.decode(ids)                     # "hello world"
"""
from __future__ import annotations

import string
from collections.abc import Iterable

from asrlab.text.normalize import normalize_transcript

BLANK_SYMBOL = "_"
SYMBOLS: tuple[str, ...] = ("'", " ", *string.ascii_lowercase, BLANK_SYMBOL)


class CharTokenizer:
    """Map normalized text to character ids and back.

    ``encode`` first applies :func:`asrlab.text.normalize_transcript` (case folding; punctuation,
    digits and other characters outside the alphabet become spaces; whitespace collapses), so any
    string encodes without error.
    """

    def __init__(self) -> None:
        self.symbols: tuple[str, ...] = SYMBOLS
        self._index = {sym: i for i, sym in enumerate(SYMBOLS)}
        self.blank: int = self._index[BLANK_SYMBOL]  # 28
        self.space: int = self._index[" "]  # 1

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        """Normalize ``text`` and return its symbol ids, shape (num_chars,). Never emits the blank."""
        return [self._index[ch] for ch in normalize_transcript(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Map ids (a list, numpy array or 1-D tensor) back to text; blank ids are skipped.

        No CTC collapsing happens here: ``[h, h]`` decodes to ``"hh"``. Use the CTC decoders for that.
        """
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.symbols):
                raise ValueError(f"token id {i} is outside the vocabulary of {len(self.symbols)} symbols (0..{len(self.symbols) - 1})")
            if i != self.blank:
                out.append(self.symbols[i])
        return "".join(out)

    def symbol_to_id(self, symbol: str) -> int:
        """The id of one symbol, e.g. ``symbol_to_id("a") == 2``."""
        try:
            return self._index[symbol]
        except KeyError:
            raise ValueError(f"{symbol!r} is not in the character vocabulary {''.join(self.symbols)!r}") from None

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={len(self)}, blank={self.blank})"
