"""CTC greedy (best-path) decoding: argmax per frame, collapse repeats, drop blanks.

Because only the argmax matters, the scores may be log-probabilities, probabilities or raw logits.

>>> decoder = GreedyCTCDecoder(symbols=["'", " ", *"abcdefghijklmnopqrstuvwxyz", "_"], blank=28)
>>> decoder(log_probs, lengths)            # (B, T, 29), (B,) -> ["the cat", ...]   # doctest: +SKIP
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from asrlab.decoding.inputs import DecodingInputError, check_batch, check_symbols, to_numpy_scores
from asrlab.validation import resolve_blank


def ctc_greedy_ids(
    scores: torch.Tensor | np.ndarray,
    lengths: torch.Tensor | np.ndarray | Sequence[int] | None = None,
    blank: int = -1,
) -> list[list[int]]:
    """Best-path decode a batch of CTC outputs into token-id lists.

    Parameters
    ----------
    scores : (B, T, C) per-frame scores (log-probs, probs or logits), or (T, C) for one utterance.
    lengths : (B,) number of valid frames per utterance; ``None`` means all T frames.
    blank : index of the blank symbol; negative values count from the end (``-1`` = last class).

    Returns
    -------
    list[list[int]]
        B lists of token ids (blanks removed, repeats not separated by a blank merged).

    Notes
    -----
    Ties inside a frame go to the lowest class index (``argmax`` semantics).
    """
    scores_np, lens = check_batch(to_numpy_scores(scores, "scores"), lengths, None, "scores")
    num_classes = scores_np.shape[-1]
    blank = resolve_blank(blank, num_classes, f"the C={num_classes} classes of scores", DecodingInputError)
    best = scores_np.argmax(-1)  # (B, T)
    # A frame starts a new token when it differs from the previous frame and is not blank.
    changed = np.ones_like(best, dtype=bool)  # (B, T)
    changed[:, 1:] = best[:, 1:] != best[:, :-1]
    keep = changed & (best != blank)  # (B, T)
    return [best[b, :length][keep[b, :length]].tolist() for b, length in enumerate(lens)]


class GreedyCTCDecoder:
    """Greedy CTC decoder over a fixed symbol table.

    Parameters
    ----------
    symbols : the string of every output index, e.g. ``["'", " ", "a", ..., "z", "_"]``.
    blank : index of the blank in ``symbols`` (default: the last one).
    """

    def __init__(self, symbols: Sequence[str], blank: int | None = None) -> None:
        blank = len(symbols) - 1 if blank is None else blank
        self.symbols = check_symbols(symbols, blank)
        self.blank = int(blank)

    def decode_ids(
        self, scores: torch.Tensor | np.ndarray, lengths: torch.Tensor | np.ndarray | Sequence[int] | None = None
    ) -> list[list[int]]:
        """(B, T, C) scores and (B,) lengths -> B token-id lists; see :func:`ctc_greedy_ids`."""
        scores_np, lens = check_batch(to_numpy_scores(scores, "scores"), lengths, len(self.symbols), "scores")
        return ctc_greedy_ids(scores_np, lens, self.blank)

    def decode(
        self, scores: torch.Tensor | np.ndarray, lengths: torch.Tensor | np.ndarray | Sequence[int] | None = None
    ) -> list[str]:
        """(B, T, C) scores and (B,) lengths -> B transcripts."""
        return [self.ids_to_text(ids) for ids in self.decode_ids(scores, lengths)]

    __call__ = decode

    def ids_to_text(self, ids: Sequence[int]) -> str:
        """Join the symbols of ``ids``."""
        return "".join(self.symbols[i] for i in ids)
