"""Batched RNN-T lattices stored by anti-diagonal: forward/backward variables and posteriors.

Conventions follow ``asrlab.rnnt.reference``: cell ``(t, u)``, blank moves ``t -> t+1``, label
moves ``u -> u+1``, terminal blank at ``(T_b-1, U_b)``. This module is the machinery behind
``asrlab.rnnt.loss``; ``forward_backward`` exposes its alpha / beta for inspection and plots.

How it is computed
------------------
* Every cell on an anti-diagonal ``t + u = n`` depends only on diagonal ``n - 1``, so the
  forward variables take ``T + U`` vectorised steps over all cells of a diagonal and all
  utterances of the batch.
* Lattice tensors are stored by anti-diagonal, ``(N, lanes, U+2)`` with one lane per lattice:
  one step of the wavefront reads and writes whole contiguous rows, and the cells of a lattice
  are a strided ``(T, U+1)`` view of the same memory (``as_strided``), so no skewing copies.
* The backward variables are the forward variables of each utterance's reversed lattice,
  ``beta(t, u) = alpha_rev(T_b-1-t, U_b-u) + log P(blank | T_b-1, U_b)``: one gather builds the
  reversed moves and both directions run in the same wavefront (twice the lanes), so variable
  lengths need no special cases and the sequential loop runs once. CPU runs the loop's
  additions on numpy views of the same memory (much lower per-call overhead on short rows).
* The lattice runs in float64 (except on MPS): ``alpha + beta - log P`` cancels numbers of the
  size of ``|log P|`` (hundreds), which in float32 costs ~1e-3 relative in the gradient, and
  the lattice tensors are only O(B T U).
* ``log(0)`` is the finite ``LOG_ZERO`` so that padding and unreachable cells never produce
  ``inf - inf = nan``; their probabilities underflow to exactly 0.

Usage::

    from asrlab.rnnt.lattice import forward_backward
    alpha, beta = forward_backward(log_probs, targets, logit_lengths, target_lengths, blank=0)  # (B, T, U+1)
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from asrlab.rnnt.validation import check_loss_inputs

LOG_ZERO = -1e30  # finite log(0): exp() gives exactly 0, and sums of a few stay finite
BLANK, LABEL = 0, 1  # the two move kinds, planes of the moves buffer


class Lattice:
    """Shapes, masks and index maps of a padded batch of lattices stored by anti-diagonal.

    A buffer is ``(N, lanes, U1 + 1)`` with ``N = T + U1 - 1`` anti-diagonals and one lane per
    lattice (the B forward lattices, then the B reversed ones when both directions run):
    ``buffer[n, lane, u + 1]`` is cell ``(t = n - u, u)``; column 0 is a ``LOG_ZERO`` guard.
    One anti-diagonal of every lattice is then one contiguous row, which is what the wavefront
    loop touches, and the cells of a lane form a strided ``(T, U1)`` view (``cells``).
    Flat position 0 (diagonal 0, lane 0, guard) is never written: gathers of off-lattice
    cells point there to read ``LOG_ZERO``.
    """

    def __init__(self, num_frames: int, num_states: int, frame_lengths: Tensor, label_lengths: Tensor,
                 directions: int):
        self.batch = frame_lengths.shape[0]
        self.num_frames, self.num_states = num_frames, num_states
        self.num_diagonals = num_frames + num_states - 1
        self.lanes = directions * self.batch
        self.lane_size = num_states + 1
        self.row = self.lanes * self.lane_size  # one anti-diagonal of every lane
        self.device = device = frame_lengths.device
        self.frames = frame_lengths.long().view(-1, 1, 1)  # (B, 1, 1) T_b
        self.labels = label_lengths.long().view(-1, 1, 1)  # (B, 1, 1) U_b
        self.frame_index = torch.arange(num_frames, device=device).view(1, -1, 1)  # (1, T, 1)
        self.state_index = torch.arange(num_states, device=device).view(1, 1, -1)  # (1, 1, U1)
        # Padding exists when some utterance is shorter than the padded tensors.
        self.has_padding = bool((frame_lengths < num_frames).any() or (label_lengths < num_states - 1).any())
        lanes = torch.arange(self.batch, device=device).view(-1, 1)
        # Buffer position of (T_b-1, U_b) in lane b, where the terminal blank leaves the lattice.
        self.terminal = self.position(self.frames.view(-1, 1) - 1, self.labels.view(-1, 1), lanes)  # (B, 1)

    @functools.cached_property
    def outside(self) -> Tensor:
        """(B, T, U1) bool: not a cell of the utterance's own lattice."""
        return (self.frame_index >= self.frames) | (self.state_index > self.labels)

    @functools.cached_property
    def no_label(self) -> Tensor:
        """(B, T, U1) bool: no label move leaves this cell."""
        return (self.frame_index >= self.frames) | (self.state_index >= self.labels)

    def position(self, t: Tensor, u: Tensor, lane: Tensor | int) -> Tensor:
        """Flat buffer position of cell ``(t, u)`` in ``lane`` (broadcasting).

        ``(t + u) * row + lane * lane_size + u + 1``, grouped so that a (..., T, 1) ``t`` and a
        (..., 1, U1) ``u`` meet in a single full-size addition.
        """
        return t * self.row + (u * (self.row + 1) + lane * self.lane_size + 1)

    def buffer(self, dtype: torch.dtype, planes: int = 0) -> Tensor:
        """A ``LOG_ZERO`` buffer (N, lanes, U1 + 1), with a leading planes axis if ``planes``."""
        shape = (self.num_diagonals, self.lanes, self.lane_size)
        return torch.full(((planes,) if planes else ()) + shape, LOG_ZERO, dtype=dtype, device=self.device)

    def cells(self, buffer: Tensor, first_lane: int = 0) -> Tensor:
        """Strided (..., B, T, U1) view of the cells of lanes ``first_lane .. first_lane + B``."""
        lead = buffer.shape[:-3]
        return buffer.as_strided(
            lead + (self.batch, self.num_frames, self.num_states),
            buffer.stride()[:-3] + (self.lane_size, self.row, self.row + 1),
            buffer.storage_offset() + first_lane * self.lane_size + 1)

    def flipped(self, frame_shift: int | Tensor, state_shift: int | Tensor) -> Tensor:
        """Positions (..., B, T, U1) of cell ``(T_b-1-frame_shift-t, U_b-state_shift-u)`` of lane b.

        This is the reversal of each utterance's lattice. Cells that fall off it (negative frame
        or state) read position 0, which holds ``LOG_ZERO``. Shifts may be tensors shaped
        (P, 1, 1, 1) to get P maps at once.
        """
        t = self.frames - 1 - frame_shift - self.frame_index  # (..., B, T, 1)
        u = self.labels - state_shift - self.state_index  # (..., B, 1, U1)
        lanes = torch.arange(self.batch, device=self.device).view(-1, 1, 1)
        return torch.where((t >= 0) & (u >= 0), self.position(t, u, lanes), 0)

    @functools.cached_property
    def reversal(self) -> Tensor:
        """(2, B, T, U1) positions, in lane b, of the blank / label move out of each cell of the reversed lattice.

        The reversed lattice's blank move out of ``(s, v)`` is the blank move out of
        ``(T_b-2-s, U_b-v)``; its label move out of ``(s, v)`` is the label move out of
        ``(T_b-1-s, U_b-1-v)``. Read from the reversed forward variables, the same positions give
        ``beta(t+1, u)`` and ``beta(t, u+1)`` (up to the terminal blank).
        """
        frame_shift = torch.tensor([1, 0], device=self.device).view(2, 1, 1, 1)
        return self.flipped(frame_shift, 1 - frame_shift)


def wavefront(moves: Tensor, alpha: Tensor, use_numpy: bool | None = None) -> None:
    """Fill ``alpha`` with log forward variables, one anti-diagonal of every lane per step.

    Parameters
    ----------
    moves : (2, N, lanes, U1 + 1) log-probabilities of leaving each cell by a blank (plane 0,
        to ``(t+1, u)``) or by a label (plane 1, to ``(t, u+1)``); ``LOG_ZERO`` off the lattice.
    alpha : (N, lanes, U1 + 1) buffer, ``LOG_ZERO`` except ``alpha(0, 0) = 0``; written in place.
    use_numpy : run the loop's additions on numpy views (CPU only); default: on CPU.
    """
    num_diagonals = alpha.shape[0]
    rows = alpha.view(num_diagonals, -1)  # (N, lanes * (U1 + 1)): one anti-diagonal per row
    # Flattening the lanes, "the cell with u-1" is the previous flat entry. At a lane boundary
    # that entry is the previous lane's last state: whatever it writes into the guard column never
    # comes back, because the guard's own moves are LOG_ZERO.
    here, below = rows[:, 1:], rows[:, :-1]
    leave_blank = moves[BLANK].view(num_diagonals, -1)[:, 1:]
    leave_label = moves[LABEL].view(num_diagonals, -1)[:, :-1]
    from_blank, from_label = torch.empty((2, rows.shape[1] - 1), dtype=alpha.dtype, device=alpha.device)
    if use_numpy if use_numpy is not None else alpha.device.type == "cpu":
        # The additions go through numpy views of the same memory (far lower per-call overhead
        # on short rows); logaddexp stays in torch, whose kernel is vectorised.
        add, operand, rows_of = np.add, Tensor.numpy, list
    else:
        add, operand, rows_of = torch.add, _unchanged, Tensor.unbind
    here_in, below_in, blank_in, label_in = (rows_of(operand(x)) for x in (here, below, leave_blank, leave_label))
    blank_out, label_out = operand(from_blank), operand(from_label)
    target_rows = here.unbind(0)
    for n in range(1, num_diagonals):
        # (t, u) from (t-1, u) by blank, or from (t, u-1) by label; both on diagonal n - 1
        add(here_in[n - 1], blank_in[n - 1], out=blank_out)
        add(below_in[n - 1], label_in[n - 1], out=label_out)
        torch.logaddexp(from_blank, from_label, out=target_rows[n])


def _unchanged(tensor: Tensor) -> Tensor:
    return tensor


def lattice_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


def next_label_positions(targets: Tensor, lattice: Lattice, vocab: int) -> Tensor:
    """(B, T, U1) flat positions in a (B, T, U1, V) tensor of the next label's entry per cell.

    Cells without a next label point at vocabulary entry 0 (padding labels may be anything).
    """
    batch, num_labels = targets.shape
    next_label = torch.cat([targets.long(), targets.new_zeros((batch, 1), dtype=torch.long)], dim=1)
    next_label = next_label.masked_fill(lattice.state_index.view(1, -1) >= lattice.labels.view(-1, 1), 0)  # (B, U1)
    num_cells = batch * lattice.num_frames * lattice.num_states
    cell_starts = torch.arange(0, num_cells * vocab, vocab, device=lattice.device)
    return cell_starts.view(batch, lattice.num_frames, -1) + next_label.unsqueeze(1)


def moves_buffer(log_probs: Tensor, label_positions: Tensor, blank: int, lattice: Lattice) -> Tensor:
    """Moves buffer (2, N, lanes, U1 + 1): forward lattices, then the reversed ones if two directions.

    Parameters
    ----------
    log_probs : (B, T, U1, V) log-probabilities.
    label_positions : (B, T, U1) from ``next_label_positions``.
    """
    moves = lattice.buffer(lattice_dtype(log_probs.device), planes=2)
    forward_cells = lattice.cells(moves)  # (2, B, T, U1) view
    forward_cells[BLANK] = log_probs[..., blank]  # converted to the lattice dtype on copy
    forward_cells[LABEL] = log_probs.take(label_positions)
    if lattice.has_padding:
        # Cells off an utterance's lattice never reach its own cells, but a NaN in padded logits
        # would leak into the next lane through the wavefront's guard column.
        forward_cells[BLANK].masked_fill_(lattice.outside, LOG_ZERO)
        forward_cells[LABEL].masked_fill_(lattice.no_label, LOG_ZERO)
    if lattice.lanes > lattice.batch:
        reversed_cells = lattice.cells(moves, first_lane=lattice.batch)  # (2, B, T, U1) view
        reversal = lattice.reversal
        reversed_cells[BLANK] = moves[BLANK].take(reversal[BLANK])
        reversed_cells[LABEL] = moves[LABEL].take(reversal[LABEL])
    return moves


def forward_variables(moves: Tensor, lattice: Lattice) -> tuple[Tensor, Tensor]:
    """Run the wavefront over every lane of ``moves``.

    Returns
    -------
    alpha : (N, lanes, U1 + 1) log forward variables of every lane.
    log_like : (B,) ``log P(y|x) = alpha(T_b-1, U_b) + log P(blank | T_b-1, U_b)``.
    """
    alpha = lattice.buffer(moves.dtype)
    alpha[0, :, 1] = 0.0  # alpha(0, 0) of every lane
    wavefront(moves, alpha)
    log_like = alpha.take(lattice.terminal) + moves[BLANK].take(lattice.terminal)
    return alpha, log_like.squeeze(1)


def reversed_alpha(alpha: Tensor, lattice: Lattice, positions: Tensor) -> Tensor:
    """Read the reversed lattices' forward variables at lane-relative ``positions``."""
    reversed_lanes = alpha.view(-1)[lattice.batch * lattice.lane_size:]  # lane B + b at position of lane b
    return reversed_lanes.take(positions)


def transition_posteriors(alpha: Tensor, moves: Tensor, log_like: Tensor, lattice: Lattice) -> Tensor:
    """Posterior probability that an alignment leaves each cell by blank / by label.

    ``post = exp(alpha(t, u) + move(t, u) + beta(next cell) - log P)`` with
    ``beta(next) = alpha_reversed(...) + log P(terminal blank)``.

    Returns
    -------
    posteriors : (2, B, T, U1), blank then label; their sum is the occupancy ``exp(alpha + beta - log P)``.
    """
    terminal_blank = moves[BLANK].take(lattice.terminal)  # (B, 1)
    shift = (log_like.view(-1, 1) - terminal_blank).view(1, -1, 1, 1)  # (1, B, 1, 1)
    posteriors = reversed_alpha(alpha, lattice, lattice.reversal)  # (2, B, T, U1): beta(t+1,u), beta(t,u+1)
    posteriors.add_(lattice.cells(moves)).add_(lattice.cells(alpha)).sub_(shift).exp_()
    # Every alignment ends with the terminal blank, which leaves the lattice: posterior 1.
    utterances = torch.arange(lattice.batch, device=lattice.device)
    posteriors[BLANK, utterances, lattice.frames.view(-1) - 1, lattice.labels.view(-1)] = 1.0
    return posteriors


@torch.no_grad()
def forward_backward(
    log_probs: Tensor, targets: Tensor, logit_lengths: Tensor, target_lengths: Tensor, blank: int = -1
) -> tuple[Tensor, Tensor]:
    """Batched forward and backward variables, the tensors behind ``rnnt_loss``.

    Parameters
    ----------
    log_probs : (B, T, U+1, V) log-probabilities (already log-softmaxed).
    targets, logit_lengths, target_lengths, blank : as in ``rnnt_loss``.

    Returns
    -------
    alpha, beta : (B, T, U+1) log forward / backward variables (``reference`` conventions);
        cells outside an utterance's lattice hold ``LOG_ZERO``.
    """
    blank = check_loss_inputs(log_probs, targets, logit_lengths, target_lengths, blank, "none")
    _, num_frames, num_states, _ = log_probs.shape
    lattice = Lattice(num_frames, num_states, logit_lengths, target_lengths, directions=2)
    moves = moves_buffer(log_probs, next_label_positions(targets, lattice, log_probs.shape[-1]), blank, lattice)
    alpha, _ = forward_variables(moves, lattice)
    forward_alpha = lattice.cells(alpha).masked_fill(lattice.outside, LOG_ZERO)
    terminal_blank = moves[BLANK].take(lattice.terminal).view(-1, 1, 1)
    beta = reversed_alpha(alpha, lattice, lattice.flipped(0, 0)) + terminal_blank
    return forward_alpha, beta.masked_fill(lattice.outside, LOG_ZERO)
