"""Checks shared by the decoders: symbol tables, CTC score tensors and their lengths.

Each function turns bad input into a :class:`DecodingInputError` (a ``ValueError``) or ``TypeError`` whose
message names the argument, what was wrong and how to fix it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from asrlab.errors import AsrlabError

# Rows of log-probabilities must log-sum-exp to 0; allow half-precision rounding (raw logits are off by far more).
LOG_NORMALISATION_TOLERANCE = 1e-2


class DecodingInputError(AsrlabError, ValueError):
    """Input to a decoder has the wrong shape, type or content."""


def check_symbols(symbols: Sequence[str], blank: int, space: int | None = None) -> list[str]:
    """Validate a symbol table (index -> string) and the blank/space indices into it.

    Returns
    -------
    list[str]
        The symbols as a list.
    """
    if isinstance(symbols, str) or not all(isinstance(s, str) for s in symbols):
        raise TypeError("symbols must be a list of strings, one per output index (e.g. [\"'\", ' ', 'a', ..., '_'])")
    symbols = list(symbols)
    for name, index in (("blank", blank), ("space", space)):
        if index is None:
            continue
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"{name} must be an int index into symbols, got {type(index).__name__}")
        if not 0 <= index < len(symbols):
            raise DecodingInputError(f"{name}={index} is outside the symbol table of size {len(symbols)}")
    if space is not None and space == blank:
        raise DecodingInputError(f"space and blank are the same index {blank}; they must differ")
    return symbols


def to_numpy_scores(scores: torch.Tensor | np.ndarray, name: str = "log_probs") -> np.ndarray:
    """Detach a tensor/array of scores to a float64 numpy array (no copy of the caller's data is modified)."""
    if isinstance(scores, torch.Tensor):
        if not torch.is_floating_point(scores):
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {scores.dtype}")
        return scores.detach().to("cpu", torch.float64).numpy()
    if isinstance(scores, np.ndarray):
        if not np.issubdtype(scores.dtype, np.floating):
            raise TypeError(f"{name} must be a floating-point array, got dtype {scores.dtype}")
        return scores.astype(np.float64, copy=False)
    raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(scores).__name__}")


def check_batch(
    scores: np.ndarray,
    lengths: torch.Tensor | np.ndarray | Sequence[int] | None,
    num_classes: int | None,
    name: str = "log_probs",
) -> tuple[np.ndarray, np.ndarray]:
    """Check a (B, T, C) score array against its lengths and the symbol table size.

    Parameters
    ----------
    scores : (B, T, C) scores; a single (T, C) utterance is accepted and given B = 1.
    lengths : (B,) valid frames per utterance, or ``None`` for "all T frames".
    num_classes : expected C (the symbol table size), or ``None`` to skip that check.

    Returns
    -------
    (np.ndarray, np.ndarray)
        scores as (B, T, C) and lengths as an int64 array (B,).
    """
    if scores.ndim == 2:
        scores = scores[None]  # (1, T, C)
    if scores.ndim != 3:
        raise DecodingInputError(f"{name} must have shape (B, T, C) or (T, C), got {tuple(scores.shape)}")
    batch, frames, classes = scores.shape
    if num_classes is not None and classes != num_classes:
        raise DecodingInputError(
            f"{name} has C={classes} classes in its last dimension but the symbol table has {num_classes} "
            "symbols; pass scores shaped (B, T, C) with one column per symbol (is the time axis first?)"
        )
    if lengths is None:
        lens = np.full(batch, frames, dtype=np.int64)
    else:
        if isinstance(lengths, torch.Tensor):
            lengths = lengths.detach().cpu().numpy()
        lens = np.asarray(lengths)
        if lens.ndim != 1 or lens.shape[0] != batch:
            raise DecodingInputError(f"lengths must have shape (B,) = ({batch},), got {tuple(lens.shape)}")
        if not np.issubdtype(lens.dtype, np.integer):
            raise TypeError(f"lengths must hold integers, got dtype {lens.dtype}")
        if lens.size and (lens.min() < 0 or lens.max() > frames):
            raise DecodingInputError(f"lengths must lie in [0, T={frames}], got min {lens.min()} max {lens.max()}")
        lens = lens.astype(np.int64)
    if np.isnan(scores).any():
        raise DecodingInputError(f"{name} contains NaN; check the model output")
    return scores, lens


def check_log_probs(scores: np.ndarray, lengths: np.ndarray, name: str = "log_probs") -> None:
    """Require normalised log-probabilities (each valid frame log-sum-exps to 0).

    Catches the two common mistakes: passing probabilities (softmax instead of log_softmax) and passing raw
    logits.
    """
    for b, length in enumerate(lengths):
        frames = scores[b, :length]  # (T_b, C)
        if frames.size == 0:
            continue
        if (frames > LOG_NORMALISATION_TOLERANCE).any():
            looks_like_probs = (frames >= 0).all() and np.allclose(frames.sum(-1), 1.0, atol=1e-3)
            hint = ("they look like probabilities (softmax output); pass log_softmax output or np.log(probs)"
                    if looks_like_probs else "apply log_softmax over the class dimension first")
            raise DecodingInputError(f"{name}[{b}] has positive values, so it is not log-probabilities; {hint}")
        peak = frames.max(-1, keepdims=True)  # (T_b, 1)
        log_norm = (peak + np.log(np.exp(frames - peak).sum(-1, keepdims=True)))[:, 0]  # (T_b,)
        worst = float(np.abs(log_norm).max())
        if worst > LOG_NORMALISATION_TOLERANCE:
            raise DecodingInputError(
                f"{name}[{b}] rows are not normalised (log-sum-exp off by {worst:.3g}); "
                "pass log_softmax(logits, dim=-1), not raw logits"
            )
