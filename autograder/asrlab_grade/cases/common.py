"""Input primitives that several assignments' hidden cases share (trusted side only)."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis of a numpy array, in its own dtype."""
    return logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)


def pad_after(feats: np.ndarray, lengths: Sequence[int], value: float = 0.0) -> np.ndarray:
    """Set the frames of ``feats`` (B, T, ...) past each row's length to ``value``, in place; returns ``feats``."""
    for b, n in enumerate(lengths):
        feats[b, n:] = value
    return feats


def padded_batch(rng: np.random.Generator, lengths: Sequence[int], dim: int, scale: float = 1.0,
                 offset: float = 0.0, pad: float = 0.0) -> np.ndarray:
    """(B, max(lengths), dim) float32 normal features; frames past each length hold ``pad``."""
    feats = (rng.normal(size=(len(lengths), max(max(lengths), 1), dim)) * scale + offset).astype(np.float32)
    return pad_after(feats, lengths, pad)


def librispeech_test_clean() -> Tuple[List[np.ndarray], List[str]]:
    """The hidden ``test-clean`` split (:func:`asrlab_grade.hidden.librispeech_test`), made when first asked for."""
    from asrlab_grade.hidden import librispeech_test

    return librispeech_test("test-clean")
