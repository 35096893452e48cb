"""Fixed RNN-T test cases with known costs, shared by the tests, the assignment and its grader.

Each case is a batch of raw joiner logits ``(B, T, U+1, V)`` (log-softmax not yet applied),
the labels of every utterance, the blank index, the expected costs ``-log P(y|x)`` and the
expected gradient of ``sum(costs)`` w.r.t. the raw logits (as published with torchaudio's RNN-T
loss tests for these inputs). The figures come from float32 logits, so they agree with a
float64 computation to ~2e-7 (costs) and ~1e-6 (gradients, printed with 6 decimals).

Usage::

    from asrlab.rnnt.cases import REFERENCE_CASES
    for case in REFERENCE_CASES:
        logits = case.logits_array()          # numpy float32 (B, T, U+1, V)
        ...  # compare your costs with case.costs
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COST_TOLERANCE = 1e-6  # absolute; float32 logits vs float64 arithmetic differ by ~2e-7
GRADIENT_TOLERANCE = 5e-6  # absolute; the gradients are given to 6 decimals


@dataclass(frozen=True)
class RNNTCase:
    """One batch with known RNN-T costs.

    Attributes
    ----------
    name : short identifier.
    shape : (B, T, U+1, V) of the logits.
    logits : flat row-major logits, ``B * T * (U+1) * V`` values.
    labels : per utterance, the U labels.
    blank : blank index (negative counts from the end).
    costs : per utterance, the expected ``-log P(y|x)``.
    gradients : flat row-major ``d sum(costs) / d logits``, same size as ``logits``.
    """

    name: str
    shape: tuple[int, int, int, int]
    logits: tuple[float, ...]
    labels: tuple[tuple[int, ...], ...]
    blank: int
    costs: tuple[float, ...]
    gradients: tuple[float, ...]

    def logits_array(self) -> np.ndarray:
        """Raw logits as float32, shape (B, T, U+1, V)."""
        return np.asarray(self.logits, dtype=np.float32).reshape(self.shape)

    def gradients_array(self) -> np.ndarray:
        """Expected gradient of the summed costs w.r.t. the logits, shape (B, T, U+1, V)."""
        return np.asarray(self.gradients, dtype=np.float64).reshape(self.shape)


SINGLE_UTTERANCE = RNNTCase(
    name="B1_T2_U2_V5_blank_last",
    shape=(1, 2, 3, 5),
    logits=(
        0.1, 0.6, 0.1, 0.1, 0.1,
        0.1, 0.1, 0.6, 0.1, 0.1,
        0.1, 0.1, 0.2, 0.8, 0.1,
        0.1, 0.6, 0.1, 0.1, 0.1,
        0.1, 0.1, 0.2, 0.1, 0.1,
        0.7, 0.1, 0.2, 0.1, 0.1,
    ),
    labels=((1, 2),),
    blank=-1,
    costs=(5.09566688538,),
    gradients=(
        0.17703132, -0.39992708, 0.17703132, 0.17703132, -0.13116692,
        0.12247062, 0.12247062, -0.181684, 0.12247062, -0.1857276,
        0.06269141, 0.06269141, 0.06928471, 0.12624498, -0.32091248,
        0.05456069, -0.2182428, 0.05456069, 0.05456069, 0.05456069,
        0.12073967, 0.12073967, -0.48295838, 0.12073967, 0.12073967,
        0.30741188, 0.16871123, 0.18645471, 0.16871123, -0.83128875,
    ),
)

TWO_UTTERANCES = RNNTCase(
    name="B2_T4_U2_V3_blank_first",
    shape=(2, 4, 3, 3),
    logits=(
        0.065357, 0.787530, 0.081592, 0.529716, 0.750675, 0.754135, 0.609764, 0.868140,
        0.622532, 0.668522, 0.858039, 0.164539, 0.989780, 0.944298, 0.603168, 0.946783,
        0.666203, 0.286882, 0.094184, 0.366674, 0.736168, 0.166680, 0.714154, 0.399400,
        0.535982, 0.291821, 0.612642, 0.324241, 0.800764, 0.524106, 0.779195, 0.183314,
        0.113745, 0.240222, 0.339470, 0.134160, 0.505562, 0.051597, 0.640290, 0.430733,
        0.829473, 0.177467, 0.320700, 0.042883, 0.302803, 0.675178, 0.569537, 0.558474,
        0.083132, 0.060165, 0.107958, 0.748615, 0.943918, 0.486356, 0.418199, 0.652408,
        0.024243, 0.134582, 0.366342, 0.295830, 0.923670, 0.689929, 0.741898, 0.250005,
        0.603430, 0.987289, 0.592606, 0.884672, 0.543450, 0.660770, 0.377128, 0.358021,
    ),
    labels=((1, 2), (1, 1)),
    blank=0,
    costs=(4.2806528590890736, 3.9384369822503591),
    gradients=(
        -0.186844, -0.062555, 0.249399, -0.203377, 0.202399, 0.000977, -0.141016, 0.079123,
        0.061893, -0.011552, -0.081280, 0.092832, -0.154257, 0.229433, -0.075176, -0.246593,
        0.146405, 0.100188, -0.012918, -0.061593, 0.074512, -0.055986, 0.219831, -0.163845,
        -0.497627, 0.209240, 0.288387, 0.013605, -0.030220, 0.016615, 0.113925, 0.062781,
        -0.176706, -0.667078, 0.367659, 0.299419, -0.356344, -0.055347, 0.411691, -0.096922,
        0.029459, 0.067463, -0.063518, 0.027654, 0.035863, -0.154499, -0.073942, 0.228441,
        -0.166790, -0.000088, 0.166878, -0.172370, 0.105565, 0.066804, 0.023875, -0.118256,
        0.094381, -0.104707, -0.108934, 0.213642, -0.369844, 0.180118, 0.189726, 0.025714,
        -0.079462, 0.053748, 0.122328, -0.238789, 0.116460, -0.598687, 0.302203, 0.296484,
    ),
)

REFERENCE_CASES: tuple[RNNTCase, ...] = (SINGLE_UTTERANCE, TWO_UTTERANCES)
