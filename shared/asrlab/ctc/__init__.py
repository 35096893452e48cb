"""Connectionist Temporal Classification: the numpy reference and a fast batched torch loss.

* :mod:`asrlab.ctc.reference` -- readable log-domain forward/backward, loss, soft alignment and
  a brute-force check for one utterance (numpy only).
* :func:`asrlab.ctc.ctc_loss` -- batched, differentiable, drop-in for
  ``torch.nn.functional.ctc_loss`` (imported lazily: ``import asrlab.ctc`` does not import torch).
* :mod:`asrlab.ctc.validation` -- input validation and the error types.

Usage::

    from asrlab.ctc import reference, ctc_loss
    cost = reference.loss(log_probs_tc, labels, blank=28)                    # one utterance
    loss = ctc_loss(log_probs_tbc, targets, input_lengths, target_lengths, blank=28)
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from asrlab.ctc import reference
from asrlab.ctc.validation import CTCInputError, CTCTypeError

__all__ = ["CTCInputError", "CTCTypeError", "ctc_loss", "reference"]


def __getattr__(name: str) -> Any:
    if name == "ctc_loss":
        return import_module("asrlab.ctc.loss").ctc_loss
    raise AttributeError(f"module 'asrlab.ctc' has no attribute {name!r}")
