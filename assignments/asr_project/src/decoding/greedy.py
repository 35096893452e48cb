"""Greedy (best path) CTC decoding."""
from __future__ import annotations

import torch


def greedy_decode(log_probs: torch.Tensor, blank: int) -> list[int]:
    """The most likely class per frame, repeats merged, blanks removed.

    Parameters
    ----------
    log_probs : (T, C) per-frame log-probabilities of one utterance (valid frames only).
    blank : the blank index.

    Returns
    -------
    token ids, shape (L,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("your code goes here: replace this line (see the task above)")
