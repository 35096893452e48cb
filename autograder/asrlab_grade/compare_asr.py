"""Comparators of ASR algorithm and model results: lattices, decoder parts, neural modules.

Like :mod:`asrlab_grade.compare` (whose building blocks they use), they run only in the trusted process
and word their messages for the student.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from .compare import PROBABILITIES_HINT, ArrayClose, Verdict, log_zero_as_inf, looks_like_probabilities

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

