"""Input checks for the CTC algorithms, with messages that name the argument and the fix.

The checks run before any computation so that a mistake (the blank inside the labels, lengths
larger than the padded tensors, probabilities where log-probabilities belong, ...) surfaces as
one clear sentence instead of a silent wrong loss or an index error deep inside a loop.

For the batched torch loss every data-dependent test on device tensors is folded into one
boolean vector that is read back once, so validation costs a single host/device sync.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

import numpy as np

from asrlab import validation
from asrlab.errors import AsrlabError
from asrlab.validation import REDUCTIONS

if TYPE_CHECKING:  # torch is imported lazily so that the numpy reference stays light
    import torch

PROBABILITY_HINT = (
    "has no negative values, so it holds probabilities (softmax outputs), not log-probabilities; "
    "pass log_softmax outputs (or np.log of the probabilities)"
)


class CTCInputError(AsrlabError, ValueError):
    """A CTC input with a bad value or shape; the message names the argument."""


class CTCTypeError(AsrlabError, TypeError):
    """A CTC input of the wrong type or dtype; the message names the argument."""


def resolve_blank(blank: Any, num_classes: int) -> int:
    """Turn a possibly negative blank index (``-1`` = last class) into ``[0, num_classes)``."""
    return validation.resolve_blank(blank, num_classes, f"the C={num_classes} classes of log_probs", CTCInputError, CTCTypeError)


def check_labels_values(labels: np.ndarray, num_classes: int, blank: int, name: str) -> None:
    """Raise if an integer label array holds the blank or an index outside ``[0, num_classes)``."""
    outside = (labels < 0) | (labels >= num_classes)
    if outside.any():
        raise CTCInputError(
            f"{name} holds {int(labels[outside][0])}, outside the C={num_classes} classes of "
            f"log_probs; every label must be in [0, {num_classes})"
        )
    if (labels == blank).any():
        raise CTCInputError(
            f"{name} contains the blank index {blank}; labels must not include the blank "
            "(remove it, or pass the right blank= for your vocabulary)"
        )


def check_reference_inputs(log_probs: Any, labels: Any, blank: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate one utterance for the numpy reference.

    Parameters
    ----------
    log_probs : array-like, shape (T, C), floating log-probabilities.
    labels : array-like, shape (L,), integers in ``[0, C)`` without the blank.
    blank : blank index, negative counts from the end.

    Returns
    -------
    log_probs : float64 array (T, C); labels : int64 array (L,); blank : int in [0, C).
    """
    log_probs = validation.as_numpy(log_probs)
    labels = validation.as_numpy(labels)
    if log_probs.ndim != 2:
        raise CTCInputError(
            f"log_probs must have shape (T, C), got shape {tuple(log_probs.shape)}; "
            "pass one utterance (index the batch first, and put time first)"
        )
    if not np.issubdtype(log_probs.dtype, np.floating):
        raise CTCTypeError(f"log_probs must be floating point, got dtype {log_probs.dtype}")
    if labels.ndim != 1:
        raise CTCInputError(f"labels must have shape (L,), got shape {tuple(labels.shape)}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise CTCTypeError(f"labels must be integers, got dtype {labels.dtype}")
    num_classes = log_probs.shape[1]
    if num_classes < 1:
        raise CTCInputError(f"log_probs shape {tuple(log_probs.shape)} has no classes (C = 0)")
    blank = resolve_blank(blank, num_classes)
    labels = labels.astype(np.int64)
    check_labels_values(labels, num_classes, blank, "labels")
    if num_classes > 1 and log_probs.size and log_probs.min() >= 0:
        raise CTCInputError(f"log_probs {PROBABILITY_HINT}")
    return log_probs.astype(np.float64), labels, blank


class BatchInputs(NamedTuple):
    """Validated, normalized arguments of :func:`asrlab.ctc.ctc_loss`."""

    log_probs: "torch.Tensor"  # (T, B, C) float32/float64
    targets: "torch.Tensor"  # (B, S) int64 on log_probs' device; positions >= length hold the blank
    input_lengths: "torch.Tensor"  # (B,) int64 on the CPU
    target_lengths: "torch.Tensor"  # (B,) int64 on the CPU
    blank: int
    unbatched: bool  # the caller passed (T, C) log_probs: return a 0-d loss for reduction="none"


def _lengths_to_cpu(lengths: "torch.Tensor | Sequence[int] | int", name: str, batch: int) -> "torch.Tensor":
    import torch

    if isinstance(lengths, torch.Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise CTCTypeError(f"{name} must be an integer tensor, got dtype {lengths.dtype}")
        lengths = lengths.detach().to("cpu", torch.int64)
    else:
        values = [lengths] if isinstance(lengths, (int, np.integer)) else list(lengths)
        if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
            raise CTCTypeError(f"{name} must be a sequence of ints or an integer tensor, got {lengths!r}")
        lengths = torch.tensor(values, dtype=torch.int64)
    lengths = lengths.reshape(-1)
    if lengths.numel() != batch:
        raise CTCInputError(
            f"{name} has {lengths.numel()} entries but log_probs has batch size B={batch}; "
            "give one length per utterance"
        )
    return lengths


def _check_range(lengths: "torch.Tensor", name: str, upper: int, upper_name: str) -> None:
    if lengths.numel() == 0:
        return
    low, high = int(lengths.min()), int(lengths.max())
    if low < 0:
        raise CTCInputError(f"{name} has a negative value {low}; lengths must be >= 0")
    if high > upper:
        raise CTCInputError(
            f"{name} has value {high} but {upper_name} is {upper}; lengths cannot exceed the "
            "padded size (check the padding, or the time/batch axis order)"
        )


def normalize_batch_inputs(
    log_probs: "torch.Tensor",
    targets: "torch.Tensor",
    input_lengths: "torch.Tensor | Sequence[int]",
    target_lengths: "torch.Tensor | Sequence[int]",
    blank: int,
    reduction: str,
) -> BatchInputs:
    """Validate the arguments of :func:`asrlab.ctc.ctc_loss` and bring them to one layout.

    Accepts the layouts of ``torch.nn.functional.ctc_loss``: ``log_probs`` (T, B, C) with
    ``targets`` padded (B, S) or concatenated (sum(target_lengths),), or unbatched ``log_probs``
    (T, C) with ``targets`` (S,). Lengths may be tensors, sequences of ints or (unbatched) ints.

    Returns
    -------
    BatchInputs with padded (B, S) targets whose padding is replaced by the blank (so that it
    can be used as a gather index whatever the caller padded with).
    """
    import torch

    if not isinstance(log_probs, torch.Tensor):
        raise CTCTypeError(f"log_probs must be a torch.Tensor, got {type(log_probs).__name__}")
    if not isinstance(targets, torch.Tensor):
        raise CTCTypeError(f"targets must be a torch.Tensor, got {type(targets).__name__}")
    if reduction not in REDUCTIONS:
        raise CTCInputError(f"reduction={reduction!r} is not one of {REDUCTIONS}")
    if not log_probs.is_floating_point():
        raise CTCTypeError(f"log_probs must be floating point, got dtype {log_probs.dtype}")
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise CTCTypeError(f"targets must be an integer tensor (class indices), got dtype {targets.dtype}")

    unbatched = log_probs.dim() == 2
    if unbatched:
        if targets.dim() != 1:
            raise CTCInputError(
                f"unbatched log_probs (T, C) needs 1-D targets (S,), got shape {tuple(targets.shape)}"
            )
        log_probs, targets = log_probs.unsqueeze(1), targets.unsqueeze(0)  # (T, 1, C), (1, S)
    elif log_probs.dim() != 3:
        raise CTCInputError(
            f"log_probs must have shape (T, B, C) or (T, C), got shape {tuple(log_probs.shape)}"
        )
    num_frames, batch, num_classes = log_probs.shape
    if log_probs.numel() == 0:
        raise CTCInputError(
            f"log_probs shape {tuple(log_probs.shape)} (T, B, C) has an empty axis; it needs at least "
            "one frame, one utterance and one class"
        )
    blank = resolve_blank(blank, num_classes)
    input_lengths = _lengths_to_cpu(input_lengths, "input_lengths", batch)
    target_lengths = _lengths_to_cpu(target_lengths, "target_lengths", batch)
    _check_range(input_lengths, "input_lengths", num_frames, "the number of frames T = log_probs.shape[0]")

    targets = targets.to(log_probs.device)
    if targets.dim() == 1:  # concatenated: lengths split the flat tensor
        total = int(target_lengths.sum())
        _check_range(target_lengths, "target_lengths", targets.numel(), "the length of the 1-D targets")
        if total != targets.numel():
            raise CTCInputError(
                f"concatenated 1-D targets have {targets.numel()} labels but target_lengths sum to "
                f"{total}; they must be equal (or pass padded (B, S) targets)"
            )
        targets = _pad_concatenated(targets, target_lengths, blank)
    elif targets.dim() == 2:
        if targets.shape[0] != batch:
            raise CTCInputError(
                f"padded targets have batch size {targets.shape[0]} but log_probs has B={batch}; "
                "targets must be (B, S) with the same B"
            )
        _check_range(target_lengths, "target_lengths", targets.shape[1], "the padded target size S = targets.shape[1]")
    else:
        raise CTCInputError(
            f"targets must be padded (B, S) or concatenated (sum(target_lengths),), got shape {tuple(targets.shape)}"
        )
    targets = targets.long()
    positions = torch.arange(targets.shape[1], device=targets.device)  # (S,)
    is_label = positions < target_lengths.to(targets.device)[:, None]  # (B, S)

    # One sync for every data-dependent check on (possibly GPU) tensors.
    bad_label = is_label & ((targets < 0) | (targets >= num_classes) | (targets == blank))  # (B, S)
    # Log-probabilities are <= 0; none negative means probabilities (with C = 1 log 1 = 0 is legal).
    no_negative = log_probs.detach().amin() >= 0 if num_classes > 1 else torch.zeros((), dtype=torch.bool)
    has_bad_label, looks_like_probabilities = torch.stack([bad_label.any(), no_negative.to(bad_label.device)]).tolist()
    if has_bad_label:
        b, s = (int(i) for i in bad_label.nonzero()[0].tolist())
        check_labels_values(targets[b, : int(target_lengths[b])].cpu().numpy(), num_classes, blank,
                            f"targets[{b}] (position {s})")
    if looks_like_probabilities:
        raise CTCInputError(f"log_probs {PROBABILITY_HINT}")
    targets = targets.masked_fill(~is_label, blank)
    return BatchInputs(log_probs, targets, input_lengths, target_lengths, blank, unbatched)


def _pad_concatenated(flat: "torch.Tensor", lengths: "torch.Tensor", fill: int) -> "torch.Tensor":
    """(sum(lengths),) -> (B, max(lengths)) with ``fill`` after each row's length."""
    import torch

    batch = lengths.numel()
    width = int(lengths.max()) if batch else 0
    padded = flat.new_full((batch, width), fill)  # (B, S)
    positions = torch.arange(width)  # (S,)
    is_label = (positions < lengths[:, None]).to(flat.device)  # (B, S)
    padded[is_label] = flat  # row-major order of the mask matches the concatenation order
    return padded
