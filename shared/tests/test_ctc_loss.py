"""asrlab.ctc.ctc_loss against torch.nn.functional.ctc_loss (values and gradients) and the reference."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from asrlab.ctc import CTCInputError, CTCTypeError, ctc_loss, reference

REDUCTIONS = ("none", "sum", "mean")
ATOL64 = 1e-6


def make_batch(seed: int, num_frames: int, batch: int, num_classes: int, max_labels: int, blank: int = 0,
               dtype: torch.dtype = torch.float64):
    """Random log_probs (T, B, C), padded targets (B, S) with repeats, and lengths (B,)."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(num_frames, batch, num_classes, generator=gen, dtype=torch.float64) * 2
    log_probs = logits.log_softmax(-1).to(dtype).requires_grad_()
    labels = [c for c in range(num_classes) if c != blank]
    picks = torch.randint(0, len(labels), (batch, max_labels), generator=gen)
    targets = torch.tensor(labels)[picks]  # (B, S)
    targets[:, 1::3] = targets[:, 0::3][:, : targets[:, 1::3].shape[1]]  # force adjacent repeats
    target_lengths = torch.randint(0, max_labels + 1, (batch,), generator=gen)
    input_lengths = torch.randint(1, num_frames + 1, (batch,), generator=gen)
    input_lengths[0] = num_frames  # at least one utterance uses every frame
    return log_probs, targets, input_lengths, target_lengths


def loss_and_grad(fn, log_probs, targets, input_lengths, target_lengths, weights=None, **kwargs):
    """Loss and the gradient of sum(weights * loss) w.r.t. log_probs."""
    loss = fn(log_probs, targets, input_lengths, target_lengths, **kwargs)
    weights = torch.ones_like(loss) if weights is None else weights
    (grad,) = torch.autograd.grad((loss * weights).sum(), log_probs)
    return loss.detach(), grad


def assert_matches_torch(log_probs, targets, input_lengths, target_lengths, atol=ATOL64, **kwargs):
    weights = None
    if kwargs.get("reduction") == "none":  # a non-uniform grad_output exercises the per-utterance scaling
        weights = torch.linspace(0.5, 2.0, log_probs.shape[1], dtype=log_probs.dtype)
    ours = loss_and_grad(ctc_loss, log_probs, targets, input_lengths, target_lengths, weights, **kwargs)
    native = loss_and_grad(F.ctc_loss, log_probs, targets, input_lengths, target_lengths, weights, **kwargs)
    torch.testing.assert_close(ours[0], native[0], atol=atol, rtol=atol)
    torch.testing.assert_close(ours[1], native[1], atol=atol, rtol=atol, equal_nan=True)
    return ours


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_random_batches_match_torch(seed, reduction, zero_infinity):
    batch = make_batch(seed, num_frames=20, batch=6, num_classes=7, max_labels=9, blank=seed % 7)
    assert_matches_torch(*batch, blank=seed % 7, reduction=reduction, zero_infinity=zero_infinity)


def test_minimum_frames_infeasible_empty_and_zero_length():
    num_frames, num_classes = 6, 5
    log_probs = torch.randn(num_frames, 6, num_classes, dtype=torch.float64).log_softmax(-1).requires_grad_()
    targets = torch.tensor([
        [1, 1, 2, 2],  # needs 6 frames: exactly T
        [1, 1, 2, 2],  # 5 frames: infeasible
        [3, 3, 3, 0],  # empty target (padding is ignored)
        [2, 0, 0, 0],  # zero frames, one label: infeasible
        [4, 0, 0, 0],  # zero frames, empty target: loss 0
        [1, 2, 3, 4],  # distinct labels: 4 frames suffice
    ])
    input_lengths = torch.tensor([6, 5, 6, 0, 0, 4])
    target_lengths = torch.tensor([4, 4, 0, 1, 0, 4])
    for zero_infinity in (False, True):
        for reduction in ("sum", "mean", "none"):  # keep the per-utterance "none" result for below
            loss, grad = assert_matches_torch(log_probs, targets, input_lengths, target_lengths,
                                              reduction=reduction, zero_infinity=zero_infinity)
        feasible = torch.tensor([True, False, True, False, True, True])
        assert torch.isfinite(loss[feasible]).all()
        assert loss[2] == pytest.approx(-log_probs[:, 2, 0].sum().item())  # only blanks
        assert loss[4] == 0
        if zero_infinity:
            assert (loss[~feasible] == 0).all() and (grad[:, ~feasible] == 0).all()
        else:
            assert (loss[~feasible] == float("inf")).all()
            assert grad[:5, 1].isnan().all() and (grad[5:, 1] == 0).all()  # NaN on valid frames, as torch
        assert (grad[4:, 5] == 0).all()  # frames past an input length get no gradient


def test_single_class_is_the_blank_only():
    log_probs = torch.zeros(4, 2, 1, dtype=torch.float64, requires_grad=True)  # log 1: always blank
    targets = torch.zeros(2, 0, dtype=torch.long)
    loss, grad = assert_matches_torch(log_probs, targets, torch.tensor([4, 2]), torch.tensor([0, 0]),
                                      reduction="none")
    assert loss.tolist() == [0.0, 0.0] and (grad == 0).all()


def test_concatenated_targets_equal_padded_targets():
    log_probs, targets, input_lengths, target_lengths = make_batch(4, 25, 5, 6, 8)
    flat = torch.cat([targets[b, : target_lengths[b]] for b in range(5)])
    for reduction in REDUCTIONS:
        assert_matches_torch(log_probs, flat, input_lengths, target_lengths, reduction=reduction,
                             zero_infinity=True)
        loss_flat, grad_flat = loss_and_grad(ctc_loss, log_probs, flat, input_lengths, target_lengths,
                                             reduction=reduction, zero_infinity=True)
        loss_pad, grad_pad = loss_and_grad(ctc_loss, log_probs, targets, input_lengths, target_lengths,
                                           reduction=reduction, zero_infinity=True)
        torch.testing.assert_close(loss_flat, loss_pad)
        torch.testing.assert_close(grad_flat, grad_pad)


def test_padding_values_are_ignored():
    log_probs, targets, input_lengths, target_lengths = make_batch(5, 15, 4, 6, 5)
    garbage = targets.clone()
    positions = torch.arange(targets.shape[1])[None]
    garbage[positions >= target_lengths[:, None]] = -1  # e.g. an ignore index, not a class
    expected = ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="none")
    torch.testing.assert_close(ctc_loss(log_probs, garbage, input_lengths, target_lengths, reduction="none"),
                               expected)


def test_lengths_as_lists_and_int32_tensors():
    log_probs, targets, input_lengths, target_lengths = make_batch(6, 12, 3, 5, 4)
    expected = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="none")
    torch.testing.assert_close(
        ctc_loss(log_probs, targets, input_lengths.tolist(), target_lengths.tolist(), reduction="none"), expected)
    torch.testing.assert_close(
        ctc_loss(log_probs, targets.int(), input_lengths.int(), target_lengths.int(), reduction="none"), expected)


def test_unbatched_input():
    log_probs, targets, input_lengths, target_lengths = make_batch(7, 10, 1, 5, 3)
    target_lengths[0] = 3
    args = (log_probs[:, 0], targets[0], input_lengths[0], target_lengths[0])
    for reduction in REDUCTIONS:
        ours = ctc_loss(*args, reduction=reduction)
        native = F.ctc_loss(*args, reduction=reduction)
        assert ours.shape == native.shape == ()
        torch.testing.assert_close(ours, native)


def test_float32_matches_torch():
    log_probs, targets, input_lengths, target_lengths = make_batch(8, 60, 4, 12, 20, dtype=torch.float32)
    for reduction in REDUCTIONS:
        loss, grad = assert_matches_torch(log_probs, targets, input_lengths, target_lengths, atol=1e-4,
                                          reduction=reduction, zero_infinity=True)
        assert loss.dtype == grad.dtype == torch.float32


def test_bfloat16_is_computed_in_float32_and_cast_back():
    log_probs, targets, input_lengths, target_lengths = make_batch(9, 15, 3, 6, 4, dtype=torch.float32)
    half = log_probs.detach().bfloat16().requires_grad_()
    loss = ctc_loss(half, targets, input_lengths, target_lengths, reduction="sum", zero_infinity=True)
    loss.backward()
    assert loss.dtype == half.grad.dtype == torch.bfloat16
    expected = ctc_loss(half.detach().float(), targets, input_lengths, target_lengths, reduction="sum",
                        zero_infinity=True)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-2)


def test_matches_numpy_reference_per_utterance():
    log_probs, targets, input_lengths, target_lengths = make_batch(10, 18, 5, 6, 7, blank=5)
    losses = ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=5, reduction="none")
    for b in range(5):
        frames, labels = int(input_lengths[b]), targets[b, : target_lengths[b]].numpy()
        expected = reference.loss(log_probs[:frames, b].detach().numpy(), labels, blank=5)
        assert losses[b].item() == pytest.approx(expected, rel=1e-10)


def test_gradient_is_exp_log_probs_minus_soft_alignment_mass():
    log_probs, targets, _, _ = make_batch(11, 14, 1, 5, 4)
    labels = targets[0].numpy()
    loss = ctc_loss(log_probs, targets, [14], [4], reduction="sum")
    (grad,) = torch.autograd.grad(loss, log_probs)  # (T, 1, C)
    gamma = reference.soft_alignment(log_probs[:, 0].detach().numpy(), labels, blank=0)  # (9, T)
    class_mass = np.zeros((14, 5))
    np.add.at(class_mass.T, reference.extend_labels(labels, 0), gamma)
    np.testing.assert_allclose(grad[:, 0].numpy(), np.exp(log_probs[:, 0].detach().numpy()) - class_mass,
                               atol=1e-10)


def test_minus_infinity_log_probs_give_the_limit_gradient_not_nan():
    log_probs, targets, input_lengths, target_lengths = make_batch(17, 9, 2, 5, 2)
    target_lengths = torch.tensor([2, 2])
    impossible = log_probs.detach().clone()
    impossible[3, 0, targets[0, 0]] = float("-inf")  # a target class with probability exactly 0
    impossible.requires_grad_()
    input_lengths = torch.tensor([9, 9])
    loss, grad = loss_and_grad(ctc_loss, impossible, targets, input_lengths, target_lengths, reduction="sum")
    native_loss, native_grad = loss_and_grad(F.ctc_loss, impossible, targets, input_lengths, target_lengths,
                                             reduction="sum")
    torch.testing.assert_close(loss, native_loss)
    assert not grad.isnan().any() and grad[3, 0, targets[0, 0]] == 0
    assert native_grad.isnan().sum() == 1  # torch's kernel: -inf - -inf at exactly that entry
    torch.testing.assert_close(grad, native_grad.nan_to_num(0.0))


def test_gradcheck_through_log_softmax():
    gen = torch.Generator().manual_seed(12)
    logits = torch.randn(7, 2, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([[1, 1, 2], [3, 2, 0]])

    def fn(x):
        return ctc_loss(x.log_softmax(-1), targets, [7, 5], [3, 2], reduction="none")

    assert torch.autograd.gradcheck(fn, (logits,))


def test_no_autograd_graph_through_the_time_loop():
    log_probs, targets, input_lengths, target_lengths = make_batch(13, 10, 2, 5, 3)
    loss = ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="none")
    assert "CTCFunction" in type(loss.grad_fn).__name__


def test_longer_sequences_match_torch():
    log_probs, targets, input_lengths, target_lengths = make_batch(14, 120, 3, 30, 40, blank=29)
    assert_matches_torch(log_probs, targets, input_lengths, target_lengths, blank=29, reduction="mean",
                         zero_infinity=True)


@pytest.mark.slow
def test_benchmark_size_matches_torch():
    log_probs, targets, _, _ = make_batch(15, 400, 16, 30, 80)
    lengths = torch.full((16,), 400), torch.full((16,), 80)
    assert_matches_torch(log_probs, targets, *lengths, reduction="mean")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    log_probs, targets, input_lengths, target_lengths = make_batch(16, 30, 4, 8, 10)
    cpu = loss_and_grad(ctc_loss, log_probs, targets, input_lengths, target_lengths, reduction="sum",
                        zero_infinity=True)
    gpu_log_probs = log_probs.detach().cuda().requires_grad_()
    gpu = loss_and_grad(ctc_loss, gpu_log_probs, targets.cuda(), input_lengths.cuda(), target_lengths,
                        reduction="sum", zero_infinity=True)
    torch.testing.assert_close(gpu[0].cpu(), cpu[0])
    torch.testing.assert_close(gpu[1].cpu(), cpu[1])


def _valid():
    gen = torch.Generator().manual_seed(18)
    log_probs = torch.randn(8, 2, 5, generator=gen, dtype=torch.float64).log_softmax(-1)
    return dict(log_probs=log_probs, targets=torch.tensor([[1, 2, 3], [2, 2, 0]]),
                input_lengths=torch.tensor([8, 6]), target_lengths=torch.tensor([3, 2]))


@pytest.mark.parametrize(
    "change, error, message",
    [
        (dict(targets=torch.tensor([[1, 0, 3], [2, 2, 0]])), CTCInputError, r"targets\[0\].*blank index 0"),
        (dict(targets=torch.tensor([[1, 2, 5], [2, 2, 0]])), CTCInputError, "outside the C=5 classes"),
        (dict(targets=torch.tensor([[1, 2, 3], [2, -2, 0]])), CTCInputError, "outside the C=5 classes"),
        (dict(targets=torch.tensor([[1.0, 2, 3], [2, 2, 0]])), CTCTypeError, "integer tensor"),
        (dict(targets=torch.tensor([[1, 2, 3]])), CTCInputError, "batch size 1 but log_probs has B=2"),
        (dict(targets=torch.ones(2, 3, 1, dtype=torch.long)), CTCInputError, "padded"),
        (dict(targets=torch.tensor([1, 2, 3, 2])), CTCInputError, "sum to 5"),
        (dict(input_lengths=torch.tensor([9, 6])), CTCInputError, "input_lengths has value 9.*T = log_probs"),
        (dict(input_lengths=torch.tensor([8, -1])), CTCInputError, "input_lengths has a negative value"),
        (dict(target_lengths=torch.tensor([4, 2])), CTCInputError, "target_lengths has value 4.*S = targets"),
        (dict(target_lengths=torch.tensor([3, -2])), CTCInputError, "target_lengths has a negative value"),
        (dict(target_lengths=torch.tensor([3, 2, 1])), CTCInputError, "3 entries but log_probs has batch size B=2"),
        (dict(input_lengths=torch.tensor([8.0, 6.0])), CTCTypeError, "input_lengths must be an integer"),
        (dict(input_lengths=[8, 6.5]), CTCTypeError, "input_lengths must be a sequence of ints"),
        (dict(log_probs=torch.randn(8, 2, 5, 1)), CTCInputError, r"shape \(T, B, C\)"),
        (dict(log_probs=torch.zeros(8, 2, 5, dtype=torch.long)), CTCTypeError, "floating point"),
        (dict(log_probs=torch.randn(8, 2, 5).softmax(-1)), CTCInputError, "pass log_softmax outputs"),
        (dict(log_probs=np.zeros((8, 2, 5))), CTCTypeError, "must be a torch.Tensor"),
        (dict(log_probs=torch.zeros(0, 2, 5)), CTCInputError, "has an empty axis"),
        (dict(blank=5), CTCInputError, "blank=5 is outside"),
        (dict(reduction="avg"), CTCInputError, "reduction='avg'"),
    ],
)
def test_bad_inputs_raise_clear_errors(change, error, message):
    kwargs = {**_valid(), **change}
    with pytest.raises(error, match=message):
        ctc_loss(**kwargs)


def test_negative_blank_counts_from_the_end():
    kwargs = _valid()  # C = 5, targets without class 4
    for reduction in REDUCTIONS:
        torch.testing.assert_close(ctc_loss(**kwargs, blank=-1, reduction=reduction),
                                   F.ctc_loss(**kwargs, blank=4, reduction=reduction))
