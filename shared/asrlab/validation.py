"""Input checks shared by the loss and decoder modules (numpy only, torch never imported here)."""
from __future__ import annotations

from typing import Any

import numpy as np

REDUCTIONS = ("none", "mean", "sum")  # the reductions torch's losses accept


def as_numpy(array: Any) -> np.ndarray:
    """A numpy view of ``array``; torch tensors (students often pass them) are detached and moved to CPU."""
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def resolve_blank(
    blank: Any,
    size: int,
    where: str,
    input_error: type[ValueError] = ValueError,
    type_error: type[TypeError] = TypeError,
) -> int:
    """Turn a possibly negative blank index (``-1`` = last) into ``[0, size)``.

    Parameters
    ----------
    blank : the index the caller passed.
    size : number of classes.
    where : how the message names the class axis, e.g. ``"the C=30 classes of log_probs"``.
    input_error, type_error : the caller's error types (subclasses of ValueError / TypeError).
    """
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)):
        raise type_error(f"blank must be an int, got {type(blank).__name__}")
    if not -size <= blank < size:
        raise input_error(f"blank={blank} is outside {where}; use an index in [-{size}, {size})")
    return int(blank) % size
