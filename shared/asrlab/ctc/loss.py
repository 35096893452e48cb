"""Batched CTC loss in pure PyTorch with an analytic backward pass.

``ctc_loss`` has the arguments, layouts and results of ``torch.nn.functional.ctc_loss``
(values and gradients agree to float64 rounding) but is written in a few readable tensor
operations, so it runs on any device and can be read alongside ``asrlab.ctc.reference``.

How it is fast
--------------
* The emissions ``log_probs[t, b, extended[b, s]]`` are gathered once into (T, B, S), S = 2L+1.
* One Python loop over time; each step is four vectorized ops over (B, S): the "advance" and
  "skip" predecessors are shifted *views* of a buffer with two permanent ``-inf`` columns, and
  an illegal skip is removed by adding a 0/-inf penalty. Outputs go into preallocated tensors.
* No autograd graph is recorded through the loop: a custom ``autograd.Function`` computes the
  gradient in closed form from alpha and beta.
* alpha and beta share one recursion routine, run forward or backward in time. Each utterance's
  backward pass starts at its own last frame without per-step masking: the padded frames after
  it get an "idle" emission that leaves beta's start value unchanged until that frame.

Gradient convention
-------------------
With gamma[t, b, s] the posterior of state s at frame t, torch's native kernel returns::

    d loss_b / d log_probs[t, b, c] = exp(log_probs[t, b, c]) - sum over s with extended[b, s] = c of gamma[t, b, s]

for t < input_lengths[b] and 0 for later frames. That is the gradient with respect to the
*logits* when ``log_probs = log_softmax(logits)``; back-propagating it through log_softmax gives
the exact gradient, because each row of it sums to zero. This module returns the same tensor.
Utterances with no feasible alignment (infinite loss) get NaN gradients for their valid frames,
as in torch, unless ``zero_infinity=True``, which zeroes their loss and gradient. One deliberate
difference: where a log-probability is exactly ``-inf`` torch's kernel returns NaN for it
(``-inf - -inf``); this implementation never subtracts emissions and returns the limit, 0.

Usage::

    from asrlab.ctc import ctc_loss
    log_probs = model(x).log_softmax(-1).transpose(0, 1)    # (T, B, C)
    loss = ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=28)
    loss.backward()
"""
from __future__ import annotations

from typing import Sequence

import torch

from asrlab.ctc.validation import normalize_batch_inputs

NEG_INF = float("-inf")  # log(0)
PAD = 2  # permanent -inf columns beside the state axis: the missing neighbours s-+1, s-+2 at its ends


def extend_targets(targets: torch.Tensor, blank: int) -> torch.Tensor:
    """Insert the blank before, between and after the labels of every row.

    Parameters
    ----------
    targets : (B, L) int64 padded labels.
    blank : blank index.

    Returns
    -------
    extended : (B, 2L+1) int64, ``[blank, l0, blank, l1, ..., blank]`` per row.
    """
    batch, num_labels = targets.shape
    extended = targets.new_full((batch, 2 * num_labels + 1), blank)  # (B, S)
    extended[:, 1::2] = targets
    return extended


def skip_penalty(extended: torch.Tensor, blank: int, dtype: torch.dtype) -> torch.Tensor:
    """0 where the move ``s-2 -> s`` is legal, ``-inf`` elsewhere (added to the skipped score).

    Parameters
    ----------
    extended : (B, S) int64 from :func:`extend_targets`.
    blank : blank index.
    dtype : floating dtype of the scores.

    Returns
    -------
    penalty : (B, S) of ``dtype``; legal skips enter a label that differs from the label two back.
    """
    allowed = torch.zeros(extended.shape, dtype=torch.bool, device=extended.device)  # (B, S)
    allowed[:, 2:] = (extended[:, 2:] != blank) & (extended[:, 2:] != extended[:, :-2])
    zeros = torch.zeros((), dtype=dtype, device=extended.device)
    return torch.where(allowed, zeros, torch.full_like(zeros, NEG_INF))


def recursion(emissions: torch.Tensor, penalty: torch.Tensor, start: torch.Tensor, backward: bool) -> torch.Tensor:
    """The CTC recursion over time, forward (alpha) or backward (beta), *excluding* the current emission.

    Forward, ``entry[t, b, s]`` is the log-probability of all partial alignments of frames
    ``0..t-1`` that move into state s at frame t (the reference alpha is ``entry + emissions``).
    Backward, ``entry[t, b, s]`` is the log-probability of completing frames ``t+1..T-1`` from
    state s at frame t: exactly the reference beta. The two directions are mirror images: time
    runs the other way and the predecessors s-1, s-2 become the successors s+1, s+2.

    Parameters
    ----------
    emissions : (T, B, S) ``log_probs[t, b, extended[b, s]]``.
    penalty : (B, S) 0/-inf added to the score that arrives by a skip; forward, skips *into* s
        (:func:`skip_penalty`); backward, skips *out of* s (the same penalty shifted left by 2).
    start : (B, S) the entry scores of the first frame processed (frame 0 forward, T-1 backward).
    backward : direction.

    Returns
    -------
    entry : (T, B, S)
    """
    num_frames, batch, num_states = emissions.shape
    entry = emissions.new_empty(num_frames, batch, num_states)  # (T, B, S)
    if num_frames == 0:
        return entry
    # The previous frame's scores (entry + emission) sit in a buffer with PAD permanent -inf
    # columns on the side the neighbours come from, so that "s+-1" and "s+-2" are plain views:
    # no per-step allocation, no per-step boundary handling.
    previous = emissions.new_full((batch, num_states + PAD), NEG_INF)  # (B, S + PAD)
    if backward:
        scores, step, skip_over = previous[:, :num_states], previous[:, 1 : num_states + 1], previous[:, PAD:]
        frames = range(num_frames - 2, -1, -1)
        neighbour = 1  # the frame whose scores feed frame t
    else:
        scores, step, skip_over = previous[:, PAD:], previous[:, PAD - 1 : -1], previous[:, :num_states]
        frames = range(1, num_frames)
        neighbour = -1
    stay_or_step = emissions.new_empty(batch, num_states)  # (B, S)
    skip = emissions.new_empty(batch, num_states)  # (B, S)
    entry_at, emission_at = entry.unbind(0), emissions.unbind(0)  # per-frame views, made once
    entry_at[frames.start + neighbour].copy_(start)  # frame 0 forward, T-1 backward
    for t in frames:
        torch.add(entry_at[t + neighbour], emission_at[t + neighbour], out=scores)
        torch.logaddexp(scores, step, out=stay_or_step)
        torch.add(skip_over, penalty, out=skip)
        torch.logaddexp(stay_or_step, skip, out=entry_at[t])
    return entry


class _CTCFunction(torch.autograd.Function):
    """Per-utterance CTC negative log-likelihood with the closed-form gradient."""

    @staticmethod
    def forward(ctx, log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor,
                target_lengths: torch.Tensor, blank: int, zero_infinity: bool) -> torch.Tensor:
        log_probs = log_probs.detach()
        num_frames, batch, _ = log_probs.shape
        extended = extend_targets(targets, blank)  # (B, S)
        num_states = extended.shape[1]
        emissions = log_probs.gather(2, extended[None].expand(num_frames, batch, num_states))  # (T, B, S)
        penalty = skip_penalty(extended, blank, log_probs.dtype)  # (B, S)
        states = torch.arange(num_states, device=log_probs.device)  # (S,)
        start = torch.where(states < 2, 0.0, NEG_INF).to(emissions).expand(batch, num_states)  # (B, S)
        entry = recursion(emissions, penalty, start, backward=False)  # (T, B, S)

        # log Z: alpha at each utterance's last frame, in its last label or its trailing blank.
        rows = torch.arange(batch, device=log_probs.device)
        last_frame = (input_lengths - 1).clamp_min(0)  # (B,)
        alpha_last = entry[last_frame, rows] + emissions[last_frame, rows]  # (B, S)
        final_blank = alpha_last.gather(1, (2 * target_lengths)[:, None])[:, 0]  # (B,)
        final_label = alpha_last.gather(1, (2 * target_lengths - 1).clamp_min(0)[:, None])[:, 0]
        final_label = final_label.masked_fill(target_lengths == 0, NEG_INF)  # no label to end on
        log_z = torch.logaddexp(final_blank, final_label)  # (B,)
        # Zero frames carry only the empty sequence (probability 1), nothing else.
        empty = torch.where(target_lengths == 0, 0.0, NEG_INF).to(log_z)
        log_z = torch.where(input_lengths == 0, empty, log_z)
        nll = -log_z  # (B,)
        infeasible = torch.isinf(nll)  # (B,) no alignment exists
        if zero_infinity:
            nll = nll.masked_fill(infeasible, 0.0)

        ctx.save_for_backward(log_probs, extended, emissions, penalty, entry, log_z, input_lengths, target_lengths)
        ctx.zero_infinity = zero_infinity
        return nll

    @staticmethod
    def backward(ctx, grad_nll: torch.Tensor):
        log_probs, extended, emissions, penalty, entry, log_z, input_lengths, target_lengths = ctx.saved_tensors
        num_frames, batch, num_states = emissions.shape
        device = log_probs.device
        states = torch.arange(num_states, device=device)  # (S,)
        last_state = 2 * target_lengths[:, None]  # (B, 1) the trailing blank
        # beta starts at each utterance's own last frame T_b - 1 in its last two states. The padded
        # frames after it are made "idle": emission log 1 in the trailing blank, log 0 elsewhere,
        # which keeps the scores at exactly that start value until frame T_b - 1 is reached.
        end_states = (states >= last_state - 1) & (states <= last_state)  # (B, S)
        start = torch.where(end_states, 0.0, NEG_INF).to(emissions)  # (B, S)
        past_end = torch.arange(num_frames, device=device)[:, None] >= input_lengths  # (T, B)
        idle = torch.where(states == last_state, 0.0, NEG_INF).to(emissions)  # (B, S)
        emissions_beta = torch.where(past_end[:, :, None], idle, emissions)  # (T, B, S)
        penalty_out = torch.full_like(penalty, NEG_INF)  # (B, S) skips s -> s+2
        penalty_out[:, :-2] = penalty[:, 2:]
        beta = recursion(emissions_beta, penalty_out, start, backward=True)  # (T, B, S)

        # State posteriors gamma = alpha * beta / Z (NaN for infeasible utterances: 0 / 0), summed per class.
        log_gamma = torch.add(entry, emissions).add_(beta).sub_(log_z[None, :, None])  # (T, B, S)
        past_last_state = states > last_state  # (B, S) padding states
        gamma = torch.exp(log_gamma.masked_fill_(past_last_state, NEG_INF))  # (T, B, S)
        class_mass = torch.zeros_like(log_probs).scatter_add_(
            2, extended[None].expand(num_frames, batch, num_states), gamma)  # (T, B, C)
        grad = torch.exp(log_probs).sub_(class_mass)  # (T, B, C)

        infeasible = torch.isinf(log_z)  # (B,)
        if ctx.zero_infinity:
            grad.masked_fill_(infeasible[None, :, None], 0.0)
        else:  # as torch: every class of every valid frame gets NaN, not only the target classes
            grad.masked_fill_((infeasible[None, :] & ~past_end)[:, :, None], float("nan"))
        grad.masked_fill_(past_end[:, :, None], 0.0)
        grad.mul_(grad_nll[None, :, None])
        return grad, None, None, None, None, None


def ctc_loss(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor | Sequence[int],
    target_lengths: torch.Tensor | Sequence[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> torch.Tensor:
    """Connectionist Temporal Classification loss, a drop-in for ``torch.nn.functional.ctc_loss``.

    Parameters
    ----------
    log_probs : (T, B, C) or unbatched (T, C) float log_softmax outputs, time first.
    targets : (B, S) padded or (sum(target_lengths),) concatenated class indices, or (S,) when
        unbatched; must not contain the blank within the target lengths (padding is ignored).
    input_lengths : (B,) frames per utterance, each <= T (tensor or sequence of ints).
    target_lengths : (B,) labels per utterance, each <= S (tensor or sequence of ints).
    blank : blank index (torch's default 0; the course character vocabulary uses 28);
        a negative value counts from the end.
    reduction : ``"none"`` -> (B,) losses; ``"sum"`` -> their sum; ``"mean"`` -> the mean over the
        batch of each loss divided by its target length (clamped to >= 1).
    zero_infinity : replace infinite losses (too few frames for the labels) and their gradients by 0.

    Returns
    -------
    loss : 0-d tensor, or (B,) for ``reduction="none"`` (0-d when unbatched), dtype of log_probs
        (float16/bfloat16 inputs are computed in float32 and cast back).

    Raises
    ------
    CTCInputError, CTCTypeError
        For bad shapes, dtypes, lengths, labels (blank or out of range) and probabilities passed
        instead of log-probabilities.
    """
    inputs = normalize_batch_inputs(log_probs, targets, input_lengths, target_lengths, blank, reduction)
    scores = inputs.log_probs
    if scores.dtype not in (torch.float32, torch.float64):  # half precision: too narrow for the sums
        scores = scores.float()
    device = scores.device
    input_lengths = inputs.input_lengths.to(device, non_blocking=True)
    target_lengths = inputs.target_lengths.to(device, non_blocking=True)
    nll = _CTCFunction.apply(scores, inputs.targets, input_lengths, target_lengths, inputs.blank,
                             zero_infinity)  # (B,)
    nll = nll.to(inputs.log_probs.dtype)
    if reduction == "none":
        return nll[0] if inputs.unbatched else nll
    if reduction == "sum":
        return nll.sum()
    return (nll / target_lengths.clamp_min(1).to(nll.dtype)).mean()
