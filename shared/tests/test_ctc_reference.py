"""The numpy CTC reference against brute-force enumeration, torch, and its own identities."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from asrlab.ctc import CTCInputError, CTCTypeError, reference

COURSE_CLASSES = 29  # ' space a..z blank
COURSE_BLANK = 28


def random_log_probs(rng: np.random.Generator, num_frames: int, num_classes: int) -> np.ndarray:
    """(T, C) log-probabilities with rows of very different sharpness."""
    logits = rng.normal(size=(num_frames, num_classes)) * rng.uniform(0.5, 3.0, size=(num_frames, 1))
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


def torch_loss(log_probs: np.ndarray, labels: list[int], blank: int) -> float:
    lp = torch.from_numpy(log_probs)[:, None]  # (T, 1, C)
    targets = torch.tensor([labels + [0]])  # padded by one so that L = 0 still has a column
    return torch.nn.functional.ctc_loss(lp, targets, [len(log_probs)], [len(labels)], blank=blank,
                                        reduction="sum").item()


# (T, C, labels, blank): repeats, a blank that is not 0, empty labels, exactly the minimum T, too few T.
TINY_CASES = [
    (4, 3, [1, 2], 0),
    (5, 3, [1, 1], 0),
    (3, 3, [1, 1], 0),  # minimum frames: 1 _ 1
    (2, 3, [1, 1], 0),  # infeasible: the blank between the repeats does not fit
    (3, 3, [], 0),
    (1, 3, [2], 0),
    (6, 3, [0, 1, 0], 2),
    (5, 4, [3, 3, 3], 0),  # minimum frames exactly
    (6, 4, [1, 2, 1, 2], 3),
    (7, 3, [1, 2, 1], 0),
]


def test_extend_labels_skip_allowed_and_min_frames():
    extended = reference.extend_labels(np.array([3, 1, 1]), blank=0)
    np.testing.assert_array_equal(extended, [0, 3, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(reference.skip_allowed(extended, 0), [0, 0, 0, 1, 0, 0, 0])
    assert reference.extend_labels(np.array([], dtype=int), blank=5).tolist() == [5]
    assert reference.min_frames([3, 1, 1]) == 4
    assert reference.min_frames([1, 1, 1]) == 5
    assert reference.min_frames([1, 2, 1]) == 3
    assert reference.min_frames([]) == 0


def test_collapse_path_merges_repeats_then_drops_blanks():
    assert reference.collapse_path(np.array([0, 3, 3, 0, 1, 1, 0, 0, 1]), blank=0) == (3, 1, 1)
    assert reference.collapse_path(np.array([2, 2, 2]), blank=2) == ()


@pytest.mark.parametrize("num_frames, num_classes, labels, blank", TINY_CASES)
def test_loss_matches_brute_force_enumeration_and_torch(num_frames, num_classes, labels, blank):
    rng = np.random.default_rng(num_frames * 100 + len(labels))
    log_probs = random_log_probs(rng, num_frames, num_classes)
    expected = reference.brute_force_loss(log_probs, np.array(labels, dtype=int), blank)
    got = reference.loss(log_probs, np.array(labels, dtype=int), blank)
    feasible = num_frames >= reference.min_frames(labels)
    assert np.isfinite(expected) == feasible
    if feasible:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert got == pytest.approx(torch_loss(log_probs, labels, blank), rel=1e-10)
    else:
        assert got == np.inf and torch_loss(log_probs, labels, blank) == np.inf


@pytest.mark.parametrize("num_frames, num_classes, labels, blank", TINY_CASES)
def test_alpha_beta_identity_holds_at_every_frame(num_frames, num_classes, labels, blank):
    rng = np.random.default_rng(7 + num_frames)
    log_probs = random_log_probs(rng, num_frames, num_classes)
    alpha = reference.forward(log_probs, labels, blank)
    beta = reference.backward(log_probs, labels, blank)
    num_states = 2 * len(labels) + 1
    assert alpha.shape == beta.shape == (num_states, num_frames)
    assert not np.isnan(alpha).any() and not np.isnan(beta).any()
    log_z = reference.log_likelihood(log_probs, labels, blank)
    per_frame = np.logaddexp.reduce(alpha + beta, axis=0)  # (T,)
    if np.isfinite(log_z):
        np.testing.assert_allclose(per_frame, log_z, rtol=0, atol=1e-12)
    else:  # no alignment passes through any state
        assert np.all(per_frame == -np.inf)


def test_beta_excludes_the_emission_and_both_ends_give_log_z():
    rng = np.random.default_rng(3)
    labels = [4, 2, 2, 7]
    log_probs = random_log_probs(rng, 9, 8)
    alpha = reference.forward(log_probs, labels, blank=0)
    beta = reference.backward(log_probs, labels, blank=0)
    extended = reference.extend_labels(labels, 0)
    # End: beta is 0 in the last two states, -inf elsewhere (nothing left to emit).
    assert beta[-2:, -1].tolist() == [0.0, 0.0] and np.all(beta[:-2, -1] == -np.inf)
    # Start: alpha holds the first emission in states 0 and 1, -inf elsewhere.
    np.testing.assert_array_equal(alpha[:2, 0], log_probs[0, extended[:2]])
    assert np.all(alpha[2:, 0] == -np.inf)
    log_z = np.logaddexp.reduce(alpha[-2:, -1])
    from_start = np.logaddexp.reduce(beta[:2, 0] + log_probs[0, extended[:2]])
    assert from_start == pytest.approx(log_z, abs=1e-12)


def test_unreachable_states_are_minus_infinity():
    labels = [1, 2, 3]  # S = 7
    log_probs = random_log_probs(np.random.default_rng(0), 5, 4)
    alpha = reference.forward(log_probs, labels, blank=0)
    beta = reference.backward(log_probs, labels, blank=0)
    for t in range(5):
        # at frame t an alignment has advanced at most 2t + 1 states from the start ...
        assert np.all(alpha[2 * t + 2:, t] == -np.inf) and np.all(np.isfinite(alpha[: 2 * t + 2, t]))
        # ... and needs s + 2 * (frames left) >= S - 2 to finish (all labels differ: every skip is legal)
        first_finishing = max(0, 7 - 2 - 2 * (4 - t))
        assert np.all(beta[:first_finishing, t] == -np.inf) and np.all(np.isfinite(beta[first_finishing:, t]))


def test_minimum_frames_is_feasible_and_one_less_is_infinite():
    rng = np.random.default_rng(11)
    labels = [5, 5, 3, 9, 9, 9]
    need = reference.min_frames(labels)
    assert need == 9
    assert np.isfinite(reference.loss(random_log_probs(rng, need, 10), labels, blank=0))
    too_short = random_log_probs(rng, need - 1, 10)
    assert reference.loss(too_short, labels, blank=0) == np.inf
    assert np.all(reference.forward(too_short, labels, blank=0)[-2:, -1] == -np.inf)


def test_zero_frames():
    empty = np.zeros((0, 4))
    assert reference.loss(empty, [], blank=0) == 0.0
    assert reference.loss(empty, [2], blank=0) == np.inf
    assert reference.forward(empty, [2], blank=0).shape == (3, 0)


def test_course_vocabulary_blank_last_and_negative_blank():
    rng = np.random.default_rng(5)
    log_probs = random_log_probs(rng, 30, COURSE_CLASSES)
    labels = [4, 2, 21, 1, 4, 2, 21]  # "cat cat": 'a'=2 ... with the space at index 1
    cost = reference.loss(log_probs, labels, blank=COURSE_BLANK)
    assert cost == pytest.approx(torch_loss(log_probs, labels, COURSE_BLANK), rel=1e-10)
    assert reference.loss(log_probs, labels, blank=-1) == cost
    np.testing.assert_array_equal(reference.forward(log_probs, labels, blank=-1),
                                  reference.forward(log_probs, labels, blank=COURSE_BLANK))


@pytest.mark.parametrize("seed", range(4))
def test_matches_torch_on_longer_sequences(seed):
    rng = np.random.default_rng(seed)
    num_classes = int(rng.integers(3, 12))
    labels = rng.integers(1, num_classes, size=int(rng.integers(1, 15))).tolist()
    num_frames = reference.min_frames(labels) + int(rng.integers(0, 20))
    log_probs = random_log_probs(rng, num_frames, num_classes)
    assert reference.loss(log_probs, labels, blank=0) == pytest.approx(torch_loss(log_probs, labels, 0), rel=1e-10)


def test_soft_alignment_is_a_per_frame_posterior_and_matches_torch_gradient():
    rng = np.random.default_rng(2)
    labels = [3, 1, 1, 2]
    log_probs = random_log_probs(rng, 12, 5)
    gamma = reference.soft_alignment(log_probs, labels, blank=0)  # (9, 12)
    assert gamma.shape == (9, 12) and np.all(gamma >= 0)
    np.testing.assert_allclose(gamma.sum(axis=0), 1.0, atol=1e-12)
    # torch's gradient is exp(log_probs) - (posterior mass of each class), frame by frame.
    lp = torch.from_numpy(log_probs)[:, None].requires_grad_()
    cost = torch.nn.functional.ctc_loss(lp, torch.tensor([labels]), [12], [4], reduction="sum")
    (grad,) = torch.autograd.grad(cost, lp)
    class_mass = np.zeros_like(log_probs)  # (T, C)
    for s, cls in enumerate(reference.extend_labels(labels, 0)):
        class_mass[:, cls] += gamma[s]
    np.testing.assert_allclose(np.exp(log_probs) - class_mass, grad[:, 0].numpy(), atol=1e-10)

    collapsed = reference.soft_alignment(log_probs, labels, blank=0, collapse=True)  # (5, 12)
    assert collapsed.shape == (5, 12)
    np.testing.assert_allclose(collapsed[0], gamma[0::2].sum(axis=0))
    np.testing.assert_allclose(collapsed[1:], gamma[1::2])
    np.testing.assert_allclose(collapsed.sum(axis=0), 1.0, atol=1e-12)


def test_soft_alignment_of_a_confident_model_follows_its_path():
    # A network that is sure of the path _ a a _ b gives a hard 0/1 alignment.
    path = [0, 1, 1, 0, 2]
    log_probs = np.log(np.full((5, 3), 1e-6))
    log_probs[np.arange(5), path] = np.log(1 - 2e-6)
    collapsed = reference.soft_alignment(log_probs, [1, 2], blank=0, collapse=True)
    np.testing.assert_array_equal(collapsed.argmax(axis=0), [0, 1, 1, 0, 2])
    assert collapsed.max(axis=0).min() > 0.999


def test_soft_alignment_without_any_alignment_raises():
    with pytest.raises(CTCInputError, match="at least 3 frames"):
        reference.soft_alignment(random_log_probs(np.random.default_rng(0), 2, 3), [1, 1], blank=0)


def test_accepts_torch_tensors():
    log_probs = random_log_probs(np.random.default_rng(9), 6, 4)
    assert reference.loss(torch.from_numpy(log_probs), torch.tensor([1, 2]), blank=0) == pytest.approx(
        reference.loss(log_probs, [1, 2], blank=0))


@pytest.mark.parametrize(
    "log_probs, labels, blank, error, message",
    [
        (np.log(np.full((4, 3), 1 / 3)), [0, 1], 0, CTCInputError, "contains the blank index 0"),
        (np.log(np.full((4, 3), 1 / 3)), [1, 3], 0, CTCInputError, "outside the C=3 classes"),
        (np.log(np.full((4, 3), 1 / 3)), [1, -1], 0, CTCInputError, "outside the C=3 classes"),
        (np.full((4, 3), 1 / 3), [1, 2], 0, CTCInputError, "pass log_softmax outputs"),
        (np.zeros((2, 4, 3)), [1], 0, CTCInputError, r"shape \(T, C\)"),
        (np.zeros((4, 3), dtype=int), [1], 0, CTCTypeError, "floating point"),
        (np.log(np.full((4, 3), 1 / 3)), [1.0, 2.0], 0, CTCTypeError, "integers"),
        (np.log(np.full((4, 3), 1 / 3)), [[1, 2]], 0, CTCInputError, r"shape \(L,\)"),
        (np.log(np.full((4, 3), 1 / 3)), [1], 3, CTCInputError, "blank=3 is outside"),
        (np.log(np.full((4, 3), 1 / 3)), [1], 1.0, CTCTypeError, "blank must be an int"),
    ],
)
def test_bad_inputs_raise_clear_errors(log_probs, labels, blank, error, message):
    with pytest.raises(error, match=message):
        reference.forward(log_probs, labels, blank)
    with pytest.raises(error, match=message):
        reference.loss(log_probs, labels, blank)


def test_brute_force_refuses_large_cases():
    with pytest.raises(CTCInputError, match="too slow"):
        reference.brute_force_loss(random_log_probs(np.random.default_rng(0), 20, 29), [1], blank=0)
