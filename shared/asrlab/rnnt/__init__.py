"""RNN-Transducer loss: numpy reference algorithms and a batched torch implementation.

* ``asrlab.rnnt.reference`` -- one-utterance forward/backward loops in numpy (what the ``rnnt``
  assignment asks students to write), plus brute-force enumeration of alignments.
* ``asrlab.rnnt.lattice`` -- batched lattices stored by anti-diagonal: the wavefront that
  computes alpha and beta for a whole batch, and ``forward_backward`` to inspect them.
* ``asrlab.rnnt.loss`` -- ``rnnt_loss``: the batched loss with an analytic gradient,
  torchaudio argument semantics.
* ``asrlab.rnnt.cases`` -- fixed inputs with known costs and gradients (tests, grading).
* ``asrlab.rnnt.validation`` -- input checks and the ``RNNTInputError`` / ``RNNTTypeError`` classes.

Usage::

    from asrlab.rnnt import rnnt_loss, reference
    cost = reference.loss(log_probs, labels, blank=-1)            # numpy, (T, U+1, V)
    loss = rnnt_loss(logits, targets, logit_lengths, target_lengths)  # torch, (B, T, U+1, V)

The torch part is imported on first use so that the numpy reference does not load torch.
"""
from importlib import import_module
from typing import Any

from asrlab.rnnt import reference
from asrlab.rnnt.validation import RNNTInputError, RNNTTypeError

_TORCH_API = {"rnnt_loss": "asrlab.rnnt.loss", "forward_backward": "asrlab.rnnt.lattice",
              "LOG_ZERO": "asrlab.rnnt.lattice"}

__all__ = ["reference", "RNNTInputError", "RNNTTypeError", *_TORCH_API]


def __getattr__(name: str) -> Any:
    if name in _TORCH_API:
        return getattr(import_module(_TORCH_API[name]), name)
    if name in ("loss", "lattice"):
        return import_module(f"asrlab.rnnt.{name}")
    raise AttributeError(f"module 'asrlab.rnnt' has no attribute {name!r}")
