"""Input checks for the RNN-T algorithms, with messages that name the argument and the fix.

Checks run before any computation so that a student's mistake (blank inside the labels,
lengths larger than the padded tensors, float targets, ...) surfaces as one clear sentence
instead of an index error deep inside a loop.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from asrlab import validation
from asrlab.errors import AsrlabError
from asrlab.validation import REDUCTIONS

if TYPE_CHECKING:  # torch is imported lazily so that the numpy reference stays light
    import torch



class RNNTInputError(AsrlabError, ValueError):
    """An RNN-T input with a bad value or shape; the message names the argument."""


class RNNTTypeError(AsrlabError, TypeError):
    """An RNN-T input of the wrong type or dtype; the message names the argument."""


def resolve_blank(blank: Any, vocab_size: int) -> int:
    """Turn a possibly negative blank index into ``[0, vocab_size)``."""
    return validation.resolve_blank(blank, vocab_size, f"the vocabulary of size {vocab_size}", RNNTInputError, RNNTTypeError)


def check_reference_inputs(
    log_probs: Any, labels: Any, blank: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate one utterance for the numpy reference.

    Parameters
    ----------
    log_probs : array-like, shape (T, U+1, V), floating.
    labels : array-like, shape (U,), integer.
    blank : blank index, negative counts from the end.

    Returns
    -------
    log_probs : float64 array (T, U+1, V); labels : int64 array (U,); blank : int in [0, V).
    """
    log_probs = validation.as_numpy(log_probs)
    labels = validation.as_numpy(labels)
    if log_probs.ndim != 3:
        raise RNNTInputError(
            f"log_probs must have shape (T, U+1, V), got shape {tuple(log_probs.shape)}; "
            "pass one utterance (index the batch first)"
        )
    if not np.issubdtype(log_probs.dtype, np.floating):
        raise RNNTTypeError(f"log_probs must be floating point, got dtype {log_probs.dtype}")
    if labels.ndim != 1:
        raise RNNTInputError(f"labels must have shape (U,), got shape {tuple(labels.shape)}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise RNNTTypeError(f"labels must be integers, got dtype {labels.dtype}")
    num_frames, num_states, vocab_size = log_probs.shape
    if num_frames < 1 or vocab_size < 1:
        raise RNNTInputError(f"log_probs shape {tuple(log_probs.shape)} has an empty T or V axis")
    if num_states != labels.shape[0] + 1:
        raise RNNTInputError(
            f"log_probs has U+1={num_states} label states but labels has length "
            f"{labels.shape[0]}; the second axis of log_probs must be len(labels) + 1"
        )
    blank = resolve_blank(blank, vocab_size)
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= vocab_size):
        raise RNNTInputError(f"labels must lie in [0, {vocab_size}), got {labels.tolist()}")
    if np.any(labels == blank):
        raise RNNTInputError(
            f"labels contain the blank index {blank}: {labels.tolist()}; remove blanks from the "
            "targets or pass the right blank="
        )
    return log_probs.astype(np.float64), labels, blank


def _check_int_tensor(name: str, tensor: Any, ndim: int, shape_text: str) -> None:
    import torch

    if not isinstance(tensor, torch.Tensor):
        raise RNNTTypeError(f"{name} must be a torch.Tensor {shape_text}, got {type(tensor).__name__}")
    if tensor.dtype not in (torch.int32, torch.int64):
        raise RNNTTypeError(f"{name} must have dtype int32 or int64, got {tensor.dtype}; use .long()")
    if tensor.dim() != ndim:
        raise RNNTInputError(f"{name} must have shape {shape_text}, got {tuple(tensor.shape)}")


def check_loss_inputs(
    logits: "torch.Tensor",
    targets: "torch.Tensor",
    logit_lengths: "torch.Tensor",
    target_lengths: "torch.Tensor",
    blank: int,
    reduction: str,
) -> int:
    """Validate a padded batch for ``rnnt_loss``; returns the blank index in ``[0, V)``.

    Parameters
    ----------
    logits : (B, T, U+1, V) floating tensor with ``T = max(logit_lengths)`` and
        ``U = max(target_lengths)``.
    targets : (B, U) int32/int64 labels, padding after ``target_lengths`` is ignored.
    logit_lengths : (B,) int32/int64, each in ``[1, T]``.
    target_lengths : (B,) int32/int64, each in ``[0, U]``.
    """
    import torch

    if not isinstance(logits, torch.Tensor):
        raise RNNTTypeError(f"logits must be a torch.Tensor (B, T, U+1, V), got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise RNNTTypeError(f"logits must be floating point, got dtype {logits.dtype}; use .float()")
    if logits.dim() != 4:
        raise RNNTInputError(f"logits must have shape (B, T, U+1, V), got {tuple(logits.shape)}")
    batch, num_frames, num_states, vocab_size = logits.shape
    if min(batch, num_frames, num_states, vocab_size) == 0:
        raise RNNTInputError(f"logits shape {tuple(logits.shape)} has an empty axis")
    _check_int_tensor("targets", targets, 2, "(B, U)")
    _check_int_tensor("logit_lengths", logit_lengths, 1, "(B,)")
    _check_int_tensor("target_lengths", target_lengths, 1, "(B,)")
    if reduction not in REDUCTIONS:
        raise RNNTInputError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    blank = resolve_blank(blank, vocab_size)
    for name, tensor in (("targets", targets), ("logit_lengths", logit_lengths),
                         ("target_lengths", target_lengths)):
        if tensor.shape[0] != batch:
            raise RNNTInputError(
                f"{name} has batch size {tensor.shape[0]} but logits has batch size {batch}"
            )
        if tensor.device != logits.device:
            raise RNNTInputError(f"{name} is on {tensor.device} but logits is on {logits.device}; "
                                 f"move it with .to(logits.device)")
    if targets.shape[1] != num_states - 1:
        raise RNNTInputError(
            f"targets has {targets.shape[1]} columns but logits has U+1={num_states} label states; "
            "targets must be (B, U) with U = logits.shape[2] - 1"
        )
    # One host transfer for all range checks (a sync on CUDA, like any length-dependent loss); numpy's
    # reductions on these few entries cost a fraction of torch's per-op overhead.
    frame_lengths = logit_lengths.detach().cpu().numpy()
    label_lengths = target_lengths.detach().cpu().numpy()
    if frame_lengths.min() < 1 or frame_lengths.max() > num_frames:
        raise RNNTInputError(
            f"logit_lengths must lie in [1, {num_frames}] (logits.shape[1]), got {frame_lengths.tolist()}"
        )
    if label_lengths.min() < 0 or label_lengths.max() > num_states - 1:
        raise RNNTInputError(
            f"target_lengths must lie in [0, {num_states - 1}] (logits.shape[2] - 1), "
            f"got {label_lengths.tolist()}"
        )
    if frame_lengths.max() != num_frames or label_lengths.max() != num_states - 1:
        raise RNNTInputError(
            f"logits shape {tuple(logits.shape)} does not match the lengths: expected "
            f"T = max(logit_lengths) = {int(frame_lengths.max())} and U+1 = max(target_lengths) + 1 "
            f"= {int(label_lengths.max()) + 1}; trim the padding of logits and targets"
        )
    labels = targets.detach().cpu().numpy()  # (B, U)
    in_range = np.arange(num_states - 1)[None, :] < label_lengths[:, None]  # (B, U)
    real_labels = labels[in_range]
    if real_labels.size:
        if ((real_labels < 0) | (real_labels >= vocab_size)).any():
            raise RNNTInputError(f"targets must lie in [0, {vocab_size}) within target_lengths")
        if (real_labels == blank).any():
            rows = sorted(set(np.nonzero(in_range & (labels == blank))[0].tolist()))
            raise RNNTInputError(
                f"targets contain the blank index {blank} (batch rows {rows}); remove blanks "
                "from the targets or pass the right blank="
            )
    return blank
