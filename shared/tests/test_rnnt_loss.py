"""Tests for the batched torch RNN-T loss (asrlab.rnnt.loss)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from asrlab.rnnt import LOG_ZERO, RNNTInputError, RNNTTypeError, forward_backward, reference, rnnt_loss
from asrlab.rnnt import lattice as lattice_module
from asrlab.rnnt.cases import COST_TOLERANCE, GRADIENT_TOLERANCE, REFERENCE_CASES

CUDA = torch.cuda.is_available()


def make_batch(seed: int, frame_lengths, label_lengths, vocab: int, blank: int = -1,
               dtype=torch.float64, scale: float = 2.0):
    """Random logits (B, T, U+1, V) padded to the max lengths, targets without the blank."""
    generator = torch.Generator().manual_seed(seed)
    frame_lengths = torch.tensor(frame_lengths)
    label_lengths = torch.tensor(label_lengths)
    batch = len(frame_lengths)
    frames, labels = int(frame_lengths.max()), int(label_lengths.max())
    logits = (torch.randn(batch, frames, labels + 1, vocab, generator=generator) * scale).to(dtype)
    non_blank = [k for k in range(vocab) if k != blank % vocab]
    targets = torch.tensor(non_blank)[torch.randint(len(non_blank), (batch, labels), generator=generator)]
    return logits, targets, frame_lengths, label_lengths


def reference_costs(logits, targets, frame_lengths, label_lengths, blank, brute_force=False):
    """Per-utterance costs from the numpy reference on the unpadded lattices."""
    log_probs = torch.log_softmax(logits.double(), dim=-1).numpy()
    cost_fn = reference.brute_force_loss if brute_force else reference.loss
    return np.array([
        cost_fn(log_probs[b, :t, :u + 1], targets[b, :u].numpy(), blank)
        for b, (t, u) in enumerate(zip(frame_lengths.tolist(), label_lengths.tolist(), strict=True))
    ])


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=lambda case: case.name)
def test_reference_cases(case):
    logits = torch.from_numpy(case.logits_array()).requires_grad_(True)  # float32, as the assignment gives them
    batch, frames, states, _ = logits.shape
    targets = torch.tensor(case.labels)
    costs = rnnt_loss(logits, targets, torch.full((batch,), frames), torch.full((batch,), states - 1),
                      blank=case.blank, reduction="none")
    assert costs.dtype == torch.float32
    np.testing.assert_allclose(costs.detach().double().numpy(), case.costs, atol=COST_TOLERANCE, rtol=0)
    (grad,) = torch.autograd.grad(costs.sum(), logits)
    np.testing.assert_allclose(grad.double().numpy(), case.gradients_array(), atol=GRADIENT_TOLERANCE, rtol=0)


@pytest.mark.parametrize("blank", [0, -1, 2])
def test_matches_brute_force_with_variable_lengths(blank):
    batch = make_batch(1, frame_lengths=[3, 1, 2, 3], label_lengths=[2, 2, 0, 1], vocab=4, blank=blank)
    costs = rnnt_loss(*batch, blank=blank, reduction="none")
    np.testing.assert_allclose(costs.numpy(), reference_costs(*batch, blank, brute_force=True), rtol=1e-12)


def test_matches_reference_on_a_medium_batch():
    batch = make_batch(2, frame_lengths=[30, 17, 25], label_lengths=[8, 10, 0], vocab=6)
    costs = rnnt_loss(*batch, reduction="none")
    np.testing.assert_allclose(costs.numpy(), reference_costs(*batch, -1), rtol=1e-10)


def test_forward_backward_variables_match_reference():
    logits, targets, frame_lengths, label_lengths = make_batch(3, [4, 6, 2], [3, 1, 2], vocab=5, blank=0)
    log_probs = torch.log_softmax(logits, dim=-1)
    alpha, beta = forward_backward(log_probs, targets, frame_lengths, label_lengths, blank=0)
    assert alpha.shape == beta.shape == logits.shape[:3]
    for b, (t, u) in enumerate(zip(frame_lengths.tolist(), label_lengths.tolist(), strict=True)):
        one = log_probs[b, :t, :u + 1].numpy()
        np.testing.assert_allclose(alpha[b, :t, :u + 1].numpy(), reference.forward(one, targets[b, :u].numpy(), 0),
                                   rtol=1e-12)
        np.testing.assert_allclose(beta[b, :t, :u + 1].numpy(), reference.backward(one, targets[b, :u].numpy(), 0),
                                   rtol=1e-12)
        outside = torch.ones_like(alpha[b], dtype=torch.bool)
        outside[:t, :u + 1] = False
        assert bool((alpha[b][outside] <= LOG_ZERO / 2).all()) and bool((beta[b][outside] <= LOG_ZERO / 2).all())


def test_reductions_follow_torchaudio():
    batch = make_batch(4, [5, 3], [2, 1], vocab=4)
    costs = rnnt_loss(*batch, reduction="none")
    assert costs.shape == (2,)
    assert rnnt_loss(*batch, reduction="sum").item() == pytest.approx(costs.sum().item(), rel=1e-14)
    # "mean" divides by the batch size, not by the target lengths
    assert rnnt_loss(*batch).item() == pytest.approx(costs.mean().item(), rel=1e-14)


def test_int32_and_int64_inputs_agree():
    logits, targets, frame_lengths, label_lengths = make_batch(5, [4, 2], [2, 3], vocab=5)
    as_long = rnnt_loss(logits, targets.long(), frame_lengths.long(), label_lengths.long(), reduction="none")
    as_int = rnnt_loss(logits, targets.int(), frame_lengths.int(), label_lengths.int(), reduction="none")
    assert torch.equal(as_long, as_int)


def test_padding_values_are_ignored():
    logits, targets, frame_lengths, label_lengths = make_batch(6, [5, 2], [3, 1], vocab=4)
    logits.requires_grad_(True)
    clean = rnnt_loss(logits, targets, frame_lengths, label_lengths, reduction="sum")
    (clean_grad,) = torch.autograd.grad(clean, logits)
    dirty_logits = logits.detach().clone()
    dirty_logits[1, 2:] = float("nan")  # frames after logit_lengths[1]
    dirty_logits[1, :, 2:] = float("inf")  # label states after target_lengths[1]
    dirty_targets = targets.clone()
    dirty_targets[1, 1:] = -1  # label padding may hold anything, even invalid ids
    dirty_logits.requires_grad_(True)
    dirty = rnnt_loss(dirty_logits, dirty_targets, frame_lengths, label_lengths, reduction="sum")
    (dirty_grad,) = torch.autograd.grad(dirty, dirty_logits)
    assert dirty.item() == pytest.approx(clean.item(), rel=1e-14)
    assert torch.equal(dirty_grad, clean_grad)
    assert bool((clean_grad[1, 2:] == 0).all()) and bool((clean_grad[1, :, 2:] == 0).all())
    assert bool((clean_grad[1, :2, :2] != 0).any())


def test_float32_close_to_float64():
    logits, targets, frame_lengths, label_lengths = make_batch(7, [40, 33], [12, 7], vocab=8, scale=3.0)
    grads = {}
    for dtype in (torch.float32, torch.float64):
        x = logits.to(dtype).requires_grad_(True)
        cost = rnnt_loss(x, targets, frame_lengths, label_lengths, reduction="sum")
        assert cost.dtype == dtype
        grads[dtype] = torch.autograd.grad(cost, x)[0]
    assert grads[torch.float32].dtype == torch.float32
    torch.testing.assert_close(grads[torch.float32].double(), grads[torch.float64], atol=2e-6, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_logits(dtype):
    logits, targets, frame_lengths, label_lengths = make_batch(17, [30, 21], [9, 4], vocab=8)
    rounded = logits.to(dtype)  # compare against float32 on the very same (rounded) values
    grads = {}
    for x in (rounded.float(), rounded):
        x.requires_grad_(True)
        cost = rnnt_loss(x, targets, frame_lengths, label_lengths, reduction="none")
        assert cost.dtype == x.dtype
        grads[x.dtype] = (cost.detach().float(), torch.autograd.grad(cost.sum(), x)[0].float())
    (ref_cost, ref_grad), (cost, grad) = grads[torch.float32], grads[dtype]
    torch.testing.assert_close(cost, ref_cost, rtol=1e-2, atol=0)
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=3e-2)


def test_torch_and_numpy_wavefront_loops_agree():
    # CPU runs the loop on numpy views; other devices run the same loop in torch.
    logits, targets, frame_lengths, label_lengths = make_batch(18, [7, 4, 6], [3, 5, 0], vocab=6)
    lattice = lattice_module.Lattice(7, 6, frame_lengths, label_lengths, directions=2)
    columns = lattice_module.next_label_columns(targets, lattice, vocab=6)
    moves = lattice_module.moves_buffer(torch.log_softmax(logits, -1), columns, 5, lattice)
    alphas = [lattice_module.forward_variables(moves, lattice, use_numpy=use_numpy)[0] for use_numpy in (True, False)]
    torch.testing.assert_close(alphas[0], alphas[1], rtol=1e-14, atol=0)
    assert bool((alphas[0] > LOG_ZERO / 2).any())  # the loops did fill the lattice


def test_log_probs_input_without_fused_log_softmax():
    logits, targets, frame_lengths, label_lengths = make_batch(8, [4, 3], [2, 2], vocab=5)
    fused = rnnt_loss(logits, targets, frame_lengths, label_lengths, reduction="none")
    log_probs = torch.log_softmax(logits, dim=-1)
    unfused = rnnt_loss(log_probs, targets, frame_lengths, label_lengths, reduction="none", fused_log_softmax=False)
    torch.testing.assert_close(unfused, fused, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_gradcheck(fused, reduction):
    logits, targets, frame_lengths, label_lengths = make_batch(9, [3, 2, 3], [2, 0, 1], vocab=4, blank=1)
    logits.requires_grad_(True)

    def loss(x):
        return rnnt_loss(x, targets, frame_lengths, label_lengths, blank=1, reduction=reduction,
                         fused_log_softmax=fused)

    # the full Jacobian once; random projections (fast mode) for the other combinations
    fast = (fused, reduction) != (True, "none")
    assert torch.autograd.gradcheck(loss, (logits,), eps=1e-6, atol=1e-7, fast_mode=fast)


def test_gradient_without_padding_on_longer_lattices():
    # Full lengths (no padding masks) and lattices long enough for every diagonal of the wavefront
    # to hold cells of several lanes (a guard column once held a finite beta here).
    logits, targets, frame_lengths, label_lengths = make_batch(20, [12, 12, 12], [4, 4, 4], vocab=5)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: rnnt_loss(x, targets, frame_lengths, label_lengths, reduction="sum"),
                                    (logits,), fast_mode=True)


def test_gradient_is_softmax_times_occupancy_minus_posteriors():
    # With one frame and no labels the only path is the terminal blank: d cost / d logits = softmax - onehot(blank).
    logits = torch.randn(1, 1, 1, 4, dtype=torch.float64, requires_grad=True)
    cost = rnnt_loss(logits, torch.zeros(1, 0, dtype=torch.long), torch.tensor([1]), torch.tensor([0]), blank=2)
    (grad,) = torch.autograd.grad(cost, logits)
    expected = torch.softmax(logits.detach(), dim=-1) - torch.nn.functional.one_hot(torch.tensor(2), 4)
    torch.testing.assert_close(grad, expected)
    assert cost.item() == pytest.approx(-torch.log_softmax(logits.detach(), -1)[0, 0, 0, 2].item())


def test_second_backward_with_retained_graph_is_identical():
    logits, targets, frame_lengths, label_lengths = make_batch(10, [5, 4], [3, 2], vocab=5)
    logits.requires_grad_(True)
    cost = rnnt_loss(logits, targets, frame_lengths, label_lengths)
    (first,) = torch.autograd.grad(cost, logits, retain_graph=True)
    (second,) = torch.autograd.grad(cost, logits)
    assert torch.equal(first, second)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_same_bits_with_one_and_two_threads(dtype):
    # Torch kernels split full-size work across threads; the result must not depend on it.
    logits, targets, frame_lengths, label_lengths = make_batch(19, [9, 7, 8], [4, 5, 2], vocab=6)
    logits = logits.to(dtype)
    results = []
    threads = torch.get_num_threads()
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            x = logits.clone().requires_grad_(True)
            cost = rnnt_loss(x, targets, frame_lengths, label_lengths, reduction="none")
            (grad,) = torch.autograd.grad(cost.sum(), x, retain_graph=True)
            (again,) = torch.autograd.grad(cost.sum(), x)  # recomputed softmax, same bits
            assert torch.equal(grad, again)
            results.append((cost.detach(), grad))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])


def test_clamp_bounds_each_gradient_entry():
    logits, targets, frame_lengths, label_lengths = make_batch(11, [6, 6], [4, 4], vocab=5, scale=4.0)
    logits.requires_grad_(True)
    (free,) = torch.autograd.grad(rnnt_loss(logits, targets, frame_lengths, label_lengths, reduction="sum"), logits)
    clamp = 0.05
    (clamped,) = torch.autograd.grad(
        rnnt_loss(logits, targets, frame_lengths, label_lengths, clamp=clamp, reduction="sum"), logits)
    assert free.abs().max() > clamp  # the test must exercise the clamp
    torch.testing.assert_close(clamped, free.clamp(-clamp, clamp))


def test_no_grad_and_detached_inputs():
    batch = make_batch(12, [4, 2], [1, 2], vocab=3)
    expected = rnnt_loss(*batch, reduction="none")
    with torch.no_grad():
        torch.testing.assert_close(rnnt_loss(*batch, reduction="none"), expected)
    assert not rnnt_loss(*batch).requires_grad


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_cuda_matches_cpu():
    logits, targets, frame_lengths, label_lengths = make_batch(13, [20, 11], [5, 3], vocab=7, dtype=torch.float32)
    grads = []
    for device in ("cpu", "cuda"):
        x = logits.to(device).requires_grad_(True)
        cost = rnnt_loss(x, targets.to(device), frame_lengths.to(device), label_lengths.to(device), reduction="sum")
        grads.append((cost.detach().cpu(), torch.autograd.grad(cost, x)[0].cpu()))
    torch.testing.assert_close(grads[1][0], grads[0][0], rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(grads[1][1], grads[0][1], rtol=1e-4, atol=1e-5)


def test_matches_torchaudio_when_available():
    torchaudio_functional = pytest.importorskip("torchaudio.functional")
    logits, targets, frame_lengths, label_lengths = make_batch(14, [9, 6, 9], [4, 4, 2], vocab=6,
                                                               dtype=torch.float32)
    logits.requires_grad_(True)
    ours = rnnt_loss(logits, targets, frame_lengths, label_lengths, blank=0, reduction="mean")
    theirs = torchaudio_functional.rnnt_loss(logits, targets.int(), frame_lengths.int(), label_lengths.int(),
                                             blank=0, reduction="mean")
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.autograd.grad(ours, logits)[0], torch.autograd.grad(theirs, logits)[0],
                               rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_long_lattices_match_reference_and_float64():
    batch = make_batch(15, [300, 180, 64, 300], [60, 12, 60, 1], vocab=20, blank=3, scale=3.0)
    costs = rnnt_loss(*batch, blank=3, reduction="none")
    np.testing.assert_allclose(costs.numpy(), reference_costs(*batch, 3), rtol=1e-10)
    logits, rest = batch[0], batch[1:]
    grads = []
    for dtype in (torch.float32, torch.float64):
        x = logits.to(dtype).requires_grad_(True)
        grads.append(torch.autograd.grad(rnnt_loss(x, *rest, blank=3, reduction="sum"), x)[0].double())
    torch.testing.assert_close(grads[0], grads[1], atol=5e-6, rtol=0)


@pytest.mark.parametrize("frame_lengths,label_lengths", [
    ([1, 1], [0, 0]), ([5, 3], [0, 0]), ([1, 1], [3, 2]), ([1], [4]), ([2, 7, 1], [5, 0, 2]),
])
def test_edge_shapes(frame_lengths, label_lengths):
    # single frames, empty targets, more labels than frames: all legal for a transducer
    logits, targets, frames, labels = make_batch(19, frame_lengths, label_lengths, vocab=4, blank=0)
    logits.requires_grad_(True)
    costs = rnnt_loss(logits, targets, frames, labels, blank=0, reduction="none")
    np.testing.assert_allclose(costs.detach().numpy(), reference_costs(logits.detach(), targets, frames, labels, 0),
                               rtol=1e-12)
    assert torch.autograd.gradcheck(lambda x: rnnt_loss(x, targets, frames, labels, blank=0, reduction="sum"),
                                    (logits,), fast_mode=True)


# --------------------------------------------------------------------------- errors


def _valid_inputs():
    return make_batch(16, [4, 3], [2, 1], vocab=5)


@pytest.mark.parametrize("mutate,error,match", [
    (lambda x, y, xl, yl: (x, torch.tensor([[1, 4], [0, 0]]), xl, yl), RNNTInputError, "contain the blank index 4"),
    (lambda x, y, xl, yl: (x, torch.tensor([[1, 7], [0, 0]]), xl, yl), RNNTInputError, "lie in \\[0, 5\\)"),
    (lambda x, y, xl, yl: (x, y, torch.tensor([4, -1]), yl), RNNTInputError, "logit_lengths must lie in"),
    (lambda x, y, xl, yl: (x, y, torch.tensor([5, 3]), yl), RNNTInputError, "logit_lengths must lie in \\[1, 4\\]"),
    (lambda x, y, xl, yl: (x, y, xl, torch.tensor([2, -1])), RNNTInputError, "target_lengths must lie in"),
    (lambda x, y, xl, yl: (x, y, xl, torch.tensor([3, 1])), RNNTInputError, "target_lengths must lie in \\[0, 2\\]"),
    (lambda x, y, xl, yl: (x, y, torch.tensor([3, 3]), yl), RNNTInputError, "does not match the lengths"),
    (lambda x, y, xl, yl: (x, y, xl, torch.tensor([1, 1])), RNNTInputError, "does not match the lengths"),
    (lambda x, y, xl, yl: (x, y[:1], xl, yl), RNNTInputError, "targets has batch size 1"),
    (lambda x, y, xl, yl: (x, y, xl[:1], yl), RNNTInputError, "logit_lengths has batch size 1"),
    (lambda x, y, xl, yl: (x, y, xl, torch.tensor([2, 1, 1])), RNNTInputError, "target_lengths has batch size 3"),
    (lambda x, y, xl, yl: (x, y[:, :1], xl, yl), RNNTInputError, "targets has 1 columns"),
    (lambda x, y, xl, yl: (x[0], y, xl, yl), RNNTInputError, "logits must have shape \\(B, T, U\\+1, V\\)"),
    (lambda x, y, xl, yl: (x.long(), y, xl, yl), RNNTTypeError, "logits must be floating point"),
    (lambda x, y, xl, yl: (x.numpy(), y, xl, yl), RNNTTypeError, "logits must be a torch.Tensor"),
    (lambda x, y, xl, yl: (x, y.float(), xl, yl), RNNTTypeError, "targets must have dtype int32 or int64"),
    (lambda x, y, xl, yl: (x, y, xl.float(), yl), RNNTTypeError, "logit_lengths must have dtype"),
    (lambda x, y, xl, yl: (x, y, xl, yl.to(torch.int16)), RNNTTypeError, "target_lengths must have dtype"),
    (lambda x, y, xl, yl: (x, y[0], xl, yl), RNNTInputError, "targets must have shape \\(B, U\\)"),
])
def test_clear_errors(mutate, error, match):
    with pytest.raises(error, match=match):
        rnnt_loss(*mutate(*_valid_inputs()))


def test_bad_options():
    batch = _valid_inputs()
    with pytest.raises(RNNTInputError, match="reduction must be one of"):
        rnnt_loss(*batch, reduction="average")
    with pytest.raises(RNNTInputError, match="blank=5 is outside the vocabulary of size 5"):
        rnnt_loss(*batch, blank=5)
    with pytest.raises(RNNTTypeError, match="blank must be an int"):
        rnnt_loss(*batch, blank=torch.tensor(0))
