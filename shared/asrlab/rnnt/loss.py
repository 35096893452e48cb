"""Batched RNN-T loss with an analytic gradient, torchaudio argument semantics.

``rnnt_loss`` computes ``-log P(y|x)`` per utterance on the anti-diagonal lattices of
``asrlab.rnnt.lattice`` and differentiates it analytically:

* The gradient w.r.t. the logits is ``softmax * occupancy - transition posteriors``: the
  occupancy of a cell is ``exp(alpha + beta - log P)`` and the posteriors (probability that an
  alignment leaves the cell by blank / by its next label) sit on those two entries only.
* Besides the gradient only O(B T U) tensors exist. The fused log-softmax output is the one
  ``(B, T, U+1, V)`` buffer: backward turns it into the gradient in place, so no second buffer
  of that size is ever held (a ``logsumexp`` normaliser would cost more passes over the
  logits: small-V reductions are slow).
* Backward finishes the gradient in three passes over that buffer: ``exp`` (numpy's vectorised
  one on CPU, about half the time of torch's single-threaded ``exp_`` at small V), ``x
  occupancy``, and the two posteriors subtracted at their entries (a strided view for the blank,
  ``scatter_add_`` with a frame-independent index for the labels). Whole-batch ops, not one
  utterance at a time: fewer, larger kernels are faster on one thread and far faster on two.

Usage::

    from asrlab.rnnt import rnnt_loss
    loss = rnnt_loss(logits, targets, logit_lengths, target_lengths, blank=0)  # logits (B, T, U+1, V)
    loss.backward()
"""
from __future__ import annotations

import torch
from torch import Tensor

from asrlab.rnnt.lattice import (
    BLANK,
    LABEL,
    Lattice,
    exp_in_place,
    forward_variables,
    moves_buffer,
    next_label_columns,
    one_thread,
    transition_posteriors,
)
from asrlab.rnnt.validation import check_loss_inputs


class _RNNTLoss(torch.autograd.Function):
    """Per-utterance costs (B,) with the gradient w.r.t. logits from alpha, beta and softmax."""

    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor, logit_lengths: Tensor, target_lengths: Tensor,
                blank: int, clamp: float, fused_log_softmax: bool) -> Tensor:
        _, num_frames, num_states, vocab = logits.shape
        with_grad = ctx.needs_input_grad[0]
        lattice = Lattice(num_frames, num_states, logit_lengths, target_lengths, directions=2 if with_grad else 1)
        label_columns = next_label_columns(targets, lattice, vocab)  # (B, U1)
        log_probs = torch.log_softmax(logits, dim=-1) if fused_log_softmax else logits  # (B, T, U1, V)
        with one_thread(logits.device):
            moves = moves_buffer(log_probs, label_columns, blank, lattice)
            alpha, log_like = forward_variables(moves, lattice)
        if with_grad:
            ctx.save_for_backward(logits, moves, alpha, log_like)
            # Kept as an attribute, not a saved tensor: backward overwrites it with the gradient.
            ctx.log_softmax_buffer = log_probs if fused_log_softmax else None
            ctx.lattice, ctx.label_columns = lattice, label_columns
            ctx.blank, ctx.clamp, ctx.fused = blank, clamp, fused_log_softmax
        return (-log_like).to(logits.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_costs: Tensor):
        logits, moves, alpha, log_like = ctx.saved_tensors
        lattice, dtype = ctx.lattice, logits.dtype
        with one_thread(logits.device):
            posteriors = transition_posteriors(alpha, moves, log_like, lattice)  # (2, B, T, U1)
            scale = grad_costs.to(alpha.dtype).view(1, -1, 1, 1)  # (1, B, 1, 1)
            if ctx.clamp <= 0:  # fold the incoming gradient into the small tensors
                posteriors.mul_(scale)
            posteriors = posteriors.to(dtype).contiguous()
        if ctx.fused:
            grad = ctx.log_softmax_buffer
            ctx.log_softmax_buffer = None
            if grad is None:  # a second backward through a retained graph: same ops, same bits
                grad = torch.log_softmax(logits, dim=-1)
        else:  # logits are log-probabilities: only the two move entries get a gradient
            grad = torch.zeros(logits.shape, dtype=dtype, device=logits.device)
        _finish_gradient(grad, posteriors, ctx.label_columns, ctx.blank, softmax=ctx.fused)
        if lattice.has_padding and ctx.fused:
            # occupancy is exactly 0 there, but non-finite padding logits would give 0 * inf
            grad.masked_fill_(lattice.outside.unsqueeze(-1), 0.0)
        if ctx.clamp > 0:
            grad.clamp_(-ctx.clamp, ctx.clamp).mul_(scale.view(-1, 1, 1, 1).to(dtype))
        return grad, None, None, None, None, None, None


# --------------------------------------------------------------------------- gradient

def _finish_gradient(buffer: Tensor, posteriors: Tensor, label_columns: Tensor, blank: int, softmax: bool) -> None:
    """Turn ``buffer`` into ``d cost / d logits`` in place.

    Parameters
    ----------
    buffer : (B, T, U1, V) log-softmax (``softmax=True``), or zeros.
    posteriors : (2, B, T, U1) label / blank transition posteriors (planes ``LABEL``, ``BLANK``);
        their sum is the occupancy.
    label_columns : (B, U1) ``u * V + y_u`` per state (``next_label_columns``).
    """
    batch, frames, states, _ = buffer.shape
    with one_thread(buffer.device):  # O(B T U) entries
        occupancy = posteriors.sum(0).unsqueeze(-1)  # (B, T, U1, 1)
    if softmax:  # softmax * occupancy
        exp_in_place(buffer).mul_(occupancy)
    rows = buffer.view(batch, frames, -1)  # (B, T, U1 * V); one label entry per cell, never the blank
    index = label_columns.unsqueeze(1).expand(batch, frames, states)  # same for every frame, no copy
    with one_thread(buffer.device):
        buffer[..., blank].sub_(posteriors[BLANK])
        rows.scatter_add_(2, index, posteriors[LABEL].neg())  # cells without a next label add -0 to entry 0


# --------------------------------------------------------------------------- public API


def rnnt_loss(
    logits: Tensor,
    targets: Tensor,
    logit_lengths: Tensor,
    target_lengths: Tensor,
    blank: int = -1,
    clamp: float = -1.0,
    reduction: str = "mean",
    fused_log_softmax: bool = True,
) -> Tensor:
    """RNN-T loss ``-log P(y|x)`` of a padded batch (torchaudio's ``rnnt_loss`` semantics).

    Parameters
    ----------
    logits : (B, T, U+1, V) float tensor of raw joiner outputs (log-softmax is applied inside),
        or log-probabilities when ``fused_log_softmax=False``. ``T = max(logit_lengths)`` and
        ``U = max(target_lengths)``.
    targets : (B, U) int32/int64 labels; entries after ``target_lengths`` are ignored.
    logit_lengths : (B,) int32/int64 number of valid frames, each in ``[1, T]``.
    target_lengths : (B,) int32/int64 number of labels, each in ``[0, U]``.
    blank : blank index; ``-1`` (default) is the last vocabulary entry.
    clamp : if positive, clamp each utterance's gradient w.r.t. logits to ``[-clamp, clamp]``.
    reduction : ``"none"`` -> (B,) costs; ``"sum"``; ``"mean"`` -> sum / B (torchaudio divides
        by the batch size, not by the target lengths).
    fused_log_softmax : ``False`` when ``logits`` already are log-probabilities.

    Returns
    -------
    loss : (B,) if ``reduction="none"`` else a scalar, in the dtype of ``logits``. Padding
        (frames after ``logit_lengths``, label states after ``target_lengths``) gets zero gradient.
    """
    blank = check_loss_inputs(logits, targets, logit_lengths, target_lengths, blank, reduction)
    costs = _RNNTLoss.apply(logits, targets, logit_lengths, target_lengths, blank, float(clamp),
                            bool(fused_log_softmax))
    if reduction == "mean":
        return costs.mean()
    if reduction == "sum":
        return costs.sum()
    return costs


