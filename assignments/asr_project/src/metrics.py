"""Word and character error rates from edit distances.

Corpus rates: the summed edit distances over the summed reference lengths (like ``asrlab.metrics``). Words are
the whitespace-separated tokens; characters are those of the stripped text, spaces included.

Usage::

    edit_distance("kitten", "sitting")                  # 3
    word_error_rate(["a b c"], ["a x c"])               # 1/3
    char_error_rate(["abc"], ["abd"])                   # 1/3
"""
from __future__ import annotations

from collections.abc import Sequence


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance: the fewest substitutions, deletions and insertions turning ``ref`` into ``hyp``."""
    # YOUR CODE HERE
    raise NotImplementedError("your code goes here: replace this line (see the task above)")


def _rate(refs: Sequence[Sequence], hyps: Sequence[Sequence]) -> float:
    if len(refs) != len(hyps):
        raise ValueError(f"got {len(refs)} references but {len(hyps)} hypotheses; pass one hypothesis per reference")
    errors = sum(edit_distance(r, h) for r, h in zip(refs, hyps))
    length = sum(len(r) for r in refs)
    if length == 0:
        return 0.0 if errors == 0 else float("inf")
    return errors / length


def word_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus WER of parallel lists of reference and hypothesis strings."""
    return _rate([r.split() for r in refs], [h.split() for h in hyps])


def char_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus CER of parallel lists of reference and hypothesis strings (spaces count as characters)."""
    return _rate([list(r.strip()) for r in refs], [list(h.strip()) for h in hyps])
