"""Tests for the numpy RNN-T reference (asrlab.rnnt.reference)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from asrlab.rnnt import RNNTInputError, RNNTTypeError, reference
from asrlab.rnnt.cases import COST_TOLERANCE, REFERENCE_CASES


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)


def random_lattice(rng: np.random.Generator, frames: int, labels: int, vocab: int, blank: int):
    """Random log-probs (T, U+1, V) and U labels that avoid the blank."""
    log_probs = log_softmax(rng.normal(size=(frames, labels + 1, vocab)) * 2.0)
    choices = [k for k in range(vocab) if k != blank % vocab]
    return log_probs, rng.choice(choices, size=labels)


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=lambda case: case.name)
def test_reference_cases_costs(case):
    # The seminar protocol: log_softmax of float32 logits, then forward and backward per utterance.
    log_probs = log_softmax(case.logits_array())
    for b, expected in enumerate(case.costs):
        labels = np.array(case.labels[b])
        cost = reference.loss(log_probs[b], labels, blank=case.blank)
        assert cost == pytest.approx(expected, abs=COST_TOLERANCE)
        beta = reference.backward(log_probs[b], labels, blank=case.blank)
        assert -beta[0, 0] == pytest.approx(expected, abs=COST_TOLERANCE)
        assert reference.brute_force_loss(log_probs[b], labels, blank=case.blank) == pytest.approx(cost, abs=1e-12)


@pytest.mark.parametrize("frames,labels,vocab,blank", [
    (1, 0, 2, 0), (1, 3, 4, -1), (3, 0, 3, 1), (2, 2, 3, 0), (3, 2, 4, -1), (4, 3, 5, 2), (5, 1, 2, 1),
])
def test_forward_matches_brute_force_enumeration(frames, labels, vocab, blank):
    rng = np.random.default_rng(frames * 100 + labels * 10 + vocab)
    log_probs, y = random_lattice(rng, frames, labels, vocab, blank)
    expected = reference.brute_force_loss(log_probs, y, blank)
    assert reference.loss(log_probs, y, blank) == pytest.approx(expected, rel=1e-12)
    assert -reference.backward(log_probs, y, blank)[0, 0] == pytest.approx(expected, rel=1e-12)


def test_brute_force_is_an_independent_sum_over_paths():
    # With uniform probabilities every alignment has probability V^-(T+U), so
    # P(y|x) = C(T-1+U, U) / V^(T+U): checks the enumeration itself, not just agreement.
    frames, labels, vocab = 3, 2, 4
    log_probs = np.full((frames, labels + 1, vocab), -math.log(vocab))
    expected = -(math.log(math.comb(frames - 1 + labels, labels)) - (frames + labels) * math.log(vocab))
    assert reference.brute_force_loss(log_probs, [0, 1], blank=-1) == pytest.approx(expected, rel=1e-12)
    assert reference.loss(log_probs, [0, 1], blank=-1) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("frames,labels", [(1, 0), (1, 2), (3, 0), (3, 2), (4, 3)])
def test_alignments_count_and_shape(frames, labels):
    moves = list(reference.alignments(frames, labels))
    assert len(moves) == math.comb(frames - 1 + labels, labels)
    assert len(set(moves)) == len(moves)
    for path in moves:
        assert len(path) == frames + labels
        assert sum(path) == frames  # T blanks (the last one terminal) and U labels
        assert path[-1] is True


def test_alpha_beta_identities():
    rng = np.random.default_rng(7)
    frames, labels = 5, 3
    log_probs, y = random_lattice(rng, frames, labels, vocab=4, blank=0)
    alpha = reference.forward(log_probs, y, blank=0)
    beta = reference.backward(log_probs, y, blank=0)
    log_like = -reference.loss(log_probs, y, blank=0)
    assert alpha.shape == beta.shape == (frames, labels + 1)
    assert alpha[0, 0] == 0.0
    assert beta[-1, -1] == log_probs[-1, -1, 0]
    assert beta[0, 0] == pytest.approx(log_like, rel=1e-12)
    # Every alignment crosses each anti-diagonal t + u = n exactly once.
    for n in range(frames + labels):
        cells = [(t, n - t) for t in range(frames) if 0 <= n - t <= labels]
        total = np.logaddexp.reduce([alpha[t, u] + beta[t, u] for t, u in cells])
        assert total == pytest.approx(log_like, rel=1e-12)


def test_empty_target_is_all_blanks():
    rng = np.random.default_rng(3)
    log_probs, y = random_lattice(rng, 4, 0, vocab=3, blank=-1)
    assert reference.loss(log_probs, y, blank=-1) == pytest.approx(-log_probs[:, 0, -1].sum(), rel=1e-12)


def test_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    case = REFERENCE_CASES[0]
    log_probs = torch.log_softmax(torch.from_numpy(case.logits_array()), dim=-1)
    cost = reference.loss(log_probs[0], torch.tensor(case.labels[0]), blank=case.blank)
    assert cost == pytest.approx(case.costs[0], abs=COST_TOLERANCE)


def test_negative_and_positive_blank_are_the_same_symbol():
    rng = np.random.default_rng(11)
    log_probs, y = random_lattice(rng, 3, 2, vocab=4, blank=3)
    assert reference.loss(log_probs, y, blank=-1) == reference.loss(log_probs, y, blank=3)
    assert reference.loss(log_probs, y, blank=-1) != pytest.approx(reference.loss(log_probs, y, blank=0))


@pytest.mark.parametrize("log_probs_shape,labels,blank,error,match", [
    ((2, 3, 4), [1, 3], 3, RNNTInputError, "contain the blank"),
    ((2, 3, 4), [1, 3], -1, RNNTInputError, "contain the blank index 3"),  # -1 is the last symbol
    ((2, 3, 4), [1, 2, 0], 0, RNNTInputError, "len\\(labels\\) \\+ 1"),
    ((2, 3), [1, 2], 0, RNNTInputError, "shape \\(T, U\\+1, V\\)"),
    ((2, 3, 4), [[1, 2]], 0, RNNTInputError, "shape \\(U,\\)"),
    ((2, 3, 4), [1, 4], 0, RNNTInputError, "lie in \\[0, 4\\)"),
    ((2, 3, 4), [1.0, 2.0], 0, RNNTTypeError, "integers"),
    ((2, 3, 4), [1, 2], 4, RNNTInputError, "outside the vocabulary"),
    ((2, 3, 4), [1, 2], 1.5, RNNTTypeError, "blank must be an int"),
])
def test_clear_errors(log_probs_shape, labels, blank, error, match):
    log_probs = np.full(log_probs_shape, -1.0)
    with pytest.raises(error, match=match):
        reference.loss(log_probs, np.array(labels), blank=blank)


def test_integer_log_probs_rejected():
    with pytest.raises(RNNTTypeError, match="floating point"):
        reference.forward(np.zeros((2, 1, 3), dtype=np.int64), np.array([], dtype=np.int64), blank=0)
