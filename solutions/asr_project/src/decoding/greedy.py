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
    ### BEGIN SOLUTION
    best = log_probs.argmax(dim=-1).tolist()
    out, previous = [], None
    for token in best:
        if token != previous and token != blank:
            out.append(token)
        previous = token
    return out
    ### END SOLUTION
