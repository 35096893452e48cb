"""Comparators of ASR algorithm and model results: lattices, decoder parts, neural modules.

Like :mod:`asrlab_grade.compare` (whose building blocks they use), they run only in the trusted process
and word their messages for the student.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from .compare import (PASS, PROBABILITIES_HINT, ArrayClose, ScalarClose, Verdict, log_zero_as_inf,
                      looks_like_probabilities, unwrap)

# How far a lattice's cost -log P(labels | x) may be from the reference's (plus a relative 1e-9).
COST_ATOL = 1e-6


class LatticeClose:
    """``{"matrix": (T, U+1) log-domain array, "cost": float}`` against the reference, with messages."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.matrix = ArrayClose(rtol=1e-6, atol=1e-6, dtype="kind")

    def __call__(self, got: Any, expected: Dict[str, Any]) -> Verdict:
        if type(got) is not dict or set(got) != {"matrix", "cost"}:
            return Verdict(False, f"expected a tuple ({self.name}, cost)")
        arr = log_zero_as_inf(got["matrix"])
        verdict = self.matrix(arr, expected["matrix"])
        if not verdict.ok:
            hint = f"; {PROBABILITIES_HINT}" if looks_like_probabilities(arr, expected["matrix"]) else ""
            return Verdict(False, f"{self.name}: {verdict.message}{hint}")
        cost = got["cost"]
        if type(cost) not in (float, int) or not np.isfinite(cost):
            return Verdict(False, f"cost: expected a finite float, got {cost!r}")
        if abs(cost - expected["cost"]) > COST_ATOL + 1e-9 * abs(expected["cost"]):
            return Verdict(False, f"cost: expected {expected['cost']!r}, got {cost!r} (-log P(labels | x), "
                                  "terminal blank included)")
        return Verdict(True, "")


class PredictorClose:
    """``forward`` equals its own ``step`` over the start symbol and the tokens, and has the right shape."""

    def __call__(self, got: Any, expected: Dict[str, Any]) -> Verdict:
        if type(got) is not dict or set(got) != {"forward", "step", "row_state"}:
            return Verdict(False, "the predictor could not be run")
        shape = expected["shape"]
        if got["forward"].shape != shape:
            return Verdict(False, f"forward(tokens (B, U)) returned shape {list(got['forward'].shape)}, expected "
                                  f"(B, U+1, D) = {list(shape)}: prepend the start symbol")
        if got["step"].shape != shape:
            return Verdict(False, f"step outputs stacked over the start symbol and U tokens have shape "
                                  f"{list(got['step'].shape)}, expected {list(shape)}: step returns (N, D)")
        diff = np.abs(got["forward"] - got["step"])
        if not np.all(diff <= 1e-4):
            u = int(np.argwhere(diff > 1e-4)[0][1])
            return Verdict(False, f"forward(tokens)[:, {u}] differs from the output of step after the start symbol "
                                  f"and {u} token(s) (max difference {float(diff.max()):.3g}): output u must have seen "
                                  "exactly the start symbol and tokens[:, :u]")
        if not got["row_state"] <= 1e-4:
            return Verdict(False, "one row of the state continues differently alone than in its batch: keep the "
                                  "state batch first, (N, layers, H)")
        return Verdict(True, "")


ENCODER_CLOSE = ArrayClose(rtol=1e-4, atol=1e-5, dtype="kind", container="either")


def check_recurrent_encoder(got: Any, expected: Dict[str, Any]) -> Verdict:
    """Valid frames close to the reference's, with a pointer to the backward direction when only it differs."""
    want = expected["frames"]
    verdict = ENCODER_CLOSE(got, want)
    if verdict.ok or not expected["bidirectional"]:
        return verdict
    arr, hidden = unwrap(got), expected["hidden"]
    if isinstance(arr, np.ndarray) and arr.shape == want.shape:
        if ENCODER_CLOSE(np.concatenate([arr[:, hidden:], arr[:, :hidden]], axis=1), want).ok:
            return Verdict(False, verdict.message + "; the two halves are swapped: concatenate [forward, backward]")
        if ENCODER_CLOSE(arr[:, :hidden], want[:, :hidden]).ok:
            return Verdict(False, verdict.message + "; the forward direction is right, the backward one is not: it "
                                                    "must start at each utterance's last valid frame and its output "
                                                    "must be reversed back within each length")
    return verdict


CLASSES_CLOSE = ArrayClose(rtol=1e-4, atol=1e-4, dtype="any", container="either")
ALONE_CLOSE = ArrayClose(rtol=1e-4, atol=1e-4, dtype="any", container="either")


def _int_list(x: Any) -> tuple:
    """(list of ints, None) for an integer vector, else (None, a problem)."""
    arr = unwrap(x)
    if not isinstance(arr, np.ndarray) or arr.ndim != 1:
        return None, "output lengths must be a (B,) tensor"
    if arr.dtype.kind not in "iu":
        return None, f"output lengths must be an integer tensor, got {arr.dtype} (use torch.div(..., rounding_mode='floor'))"
    return arr.tolist(), None


def check_ctc_net(got: Any, expected: Dict[str, Any]) -> Verdict:
    """CTCNet: integer output lengths, log_probs of the right shape normalised over the classes, and (one
    convolution stage or none) the same outputs for an utterance alone as in its padded batch."""
    if not isinstance(got, dict) or not {"log_probs", "lengths", "direct", "alone"} <= set(got):
        return Verdict(False, "the results could not be read")
    want = expected["lengths"]
    for key, what in (("direct", "output_lengths(lengths)"), ("lengths", "the lengths forward returns")):
        values, problem = _int_list(got[key])
        if problem:
            return Verdict(False, f"{what}: {problem}")
        if values != want:
            return Verdict(False, f"{what} are {values}, expected {want}: apply floor((T + 2p - k) / s) + 1 once per "
                                  "convolution stage, to every utterance's own length")
    log_probs = unwrap(got["log_probs"])
    if not isinstance(log_probs, np.ndarray) or list(log_probs.shape) != expected["shape"]:
        return Verdict(False, f"log_probs should have shape {expected['shape']} (batch, output frames, classes), "
                              f"got {list(getattr(log_probs, 'shape', []))}")
    for b, n in enumerate(want):
        sums = np.exp(log_probs[b, :n].astype(np.float64)).sum(axis=-1)
        verdict = CLASSES_CLOSE(sums, np.ones(n))
        if not verdict.ok:
            return Verdict(False, "exp(log_probs) must sum to 1 over the classes (the last axis) at every valid "
                                  f"frame: {verdict.message}; apply log_softmax(dim=-1)")
    if expected["padding_invariant"]:
        for b, (n, alone) in enumerate(zip(want, got["alone"])):
            alone = unwrap(alone)
            if not isinstance(alone, np.ndarray) or alone.shape != (n, log_probs.shape[2]):
                return Verdict(False, f"utterance {b} alone gave shape {list(getattr(alone, 'shape', []))}, expected "
                                      f"{[n, log_probs.shape[2]]}")
            verdict = ALONE_CLOSE(log_probs[b, :n], alone)
            if not verdict.ok:
                return Verdict(False, f"utterance {b} gives other log-probabilities in a padded batch than alone "
                                      f"({verdict.message}): move time next to the batch axis before merging channels "
                                      "and bands, and give the encoder the output lengths")
    return Verdict(True)


class LowHighClose:
    """``(lowest_index, lowest_cer, highest_index, highest_cer)``: indices exactly, rates closely."""

    def __call__(self, got: Any, expected: Any) -> Verdict:
        if type(got) is not list or len(got) != 4:
            return Verdict(False, "expected (lowest_index, lowest_cer, highest_index, highest_cer)")
        for i, name in ((0, "lowest_index"), (2, "highest_index")):
            if got[i] != expected[i]:
                return Verdict(False, f"{name}: expected {expected[i]}, got {got[i]} (ties go to the first index)")
        for i, name in ((1, "lowest_cer"), (3, "highest_cer")):
            verdict = ScalarClose(rtol=1e-9, atol=1e-12)(got[i], expected[i])
            if not verdict.ok:
                return Verdict(False, f"{name}: {verdict.message}")
        return PASS
