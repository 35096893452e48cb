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
* The backward variables are the forward variables of the flipped lattice: cell ``(s, v)`` of
  lane ``B + b`` is cell ``(T-1-s, U-v)`` of lane ``b`` (padded sizes ``T``, ``U``). Flipping
  the padded lattice is the same map for every utterance, so the flipped moves are two
  ``torch.flip`` copies of the forward ones (no per-utterance index maps); an utterance's own
  flipped lattice starts at ``(T-T_b, U-U_b)``, where the wavefront sets ``beta(T_b-1, U_b)``
  (its predecessors are unreachable). Both directions run in the same wavefront (twice the
  lanes), so the sequential loop runs once. CPU runs the loop's additions on numpy views of
  the same memory (much lower per-call overhead on short rows).
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

import contextlib
import functools
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from asrlab.rnnt.validation import check_loss_inputs

LOG_ZERO = -1e30  # finite log(0): exp() gives exactly 0, and sums of a few stay finite
LABEL, BLANK = 0, 1  # the two move kinds, planes of the moves buffer (see ``wavefront`` for the order)


class Lattice:
    """Shapes, masks and index maps of a padded batch of lattices stored by anti-diagonal.

    A buffer is ``(N, lanes, U1 + 1)`` with ``N = T + U1 - 1`` anti-diagonals and one lane per
    lattice (the B forward lattices, then the B flipped ones when both directions run):
    ``buffer[n, lane, u + 1]`` is cell ``(t = n - u, u)``; column 0 is a ``LOG_ZERO`` guard.
    One anti-diagonal of every lattice is then one contiguous row, which is what the wavefront
    loop touches, and the cells of a lane form a strided ``(T, U1)`` view (``cells``).
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
        self.lane_index = torch.arange(self.batch, device=device)  # (B,)
        # Buffer position of (T_b-1, U_b) in lane b, where the terminal blank leaves the lattice.
        self.terminal = self.position(self.frames.view(-1) - 1, self.labels.view(-1), self.lane_index)  # (B,)

    @functools.cached_property
    def outside(self) -> Tensor:
        """(B, T, U1) bool: not a cell of the utterance's own lattice."""
        return (self.frame_index >= self.frames) | (self.state_index > self.labels)

    @functools.cached_property
    def no_label(self) -> Tensor:
        """(B, T, U1) bool: no label move leaves this cell."""
        return (self.frame_index >= self.frames) | (self.state_index >= self.labels)

    def position(self, t: Tensor, u: Tensor, lane: Tensor | int) -> Tensor:
        """Flat buffer position of cell ``(t, u)`` in ``lane`` (broadcasting)."""
        return (t + u) * self.row + lane * self.lane_size + u + 1

    def buffer(self, dtype: torch.dtype, planes: int = 0) -> Tensor:
        """A ``LOG_ZERO`` buffer (N, lanes, U1 + 1), with a leading planes axis if ``planes``."""
        shape = (self.num_diagonals, self.lanes, self.lane_size)
        return torch.full(((planes,) if planes else ()) + shape, LOG_ZERO, dtype=dtype, device=self.device)

    def cells(self, buffer: Tensor) -> Tensor:
        """Strided (..., B, T, U1) view of the cells of the first B lanes of a (..., N, lanes, U1 + 1) buffer."""
        lanes, lane_size = buffer.shape[-2:]
        row = lanes * lane_size
        return buffer.as_strided(
            buffer.shape[:-3] + (self.batch, self.num_frames, self.num_states),
            buffer.stride()[:-3] + (lane_size, row, row + 1), buffer.storage_offset() + 1)

    def flipped_starts(self, values: Tensor) -> dict[int, tuple[Tensor, Tensor]]:
        """Where the flipped lattices start: anti-diagonal -> (flat positions, values).

        Lane ``B + b`` starts at cell ``(T - T_b, U - U_b)`` with ``values[b]`` (B,).
        """
        frames = self.num_frames - self.frames.view(-1)  # (B,)
        states = self.num_states - 1 - self.labels.view(-1)
        positions = self.position(frames, states, self.lane_index + self.batch)
        diagonals = frames + states  # (B,)
        return {n: (positions[diagonals == n], values[diagonals == n]) for n in diagonals.unique().tolist()}


def wavefront(moves: Tensor, alpha: Tensor, starts: dict[int, tuple[Tensor, Tensor]] | None = None,
              use_numpy: bool | None = None) -> None:
    """Fill ``alpha`` with log forward variables, one anti-diagonal of every lane per step.

    Parameters
    ----------
    moves : (2, N, lanes, U1 + 1) log-probabilities of leaving each cell by a label (plane
        ``LABEL``, to ``(t, u+1)``) or by a blank (plane ``BLANK``, to ``(t+1, u)``); ``LOG_ZERO``
        off the lattice.
    alpha : (N, lanes, U1 + 1) buffer, ``LOG_ZERO`` except the start cells on diagonal 0; written in place.
    starts : anti-diagonal ``n >= 1`` -> (flat positions in ``alpha``, values): start cells set
        once their diagonal is computed (their predecessors must be unreachable).
    use_numpy : run the loop's additions on numpy views (CPU only); default: on CPU.
    """
    num_diagonals, row = alpha.shape[0], alpha[0].numel()
    width = row - 1  # flat entries 1 .. row-1 of a diagonal are computed (entry 0 is lane 0's guard)
    starts = starts or {}
    # Flattening the lanes, "the cell with u-1" is the previous flat entry. At a lane boundary
    # that entry is the previous lane's last state: whatever it writes into the guard column never
    # comes back, because the guard's own moves are LOG_ZERO.
    # One step adds, for every flat entry j >= 1 of diagonal n, the pair
    #   [alpha(n-1, j-1), alpha(n-1, j)] + [label move (n-1, j-1), blank move (n-1, j)]
    # (arrival by label from u-1, by blank from t-1): both operands are strided (N, 2, width) views
    # (the LABEL plane comes first so that every stride is positive), so one addition per step.
    sources = alpha.as_strided((num_diagonals, 2, width), (row, 1, 1), alpha.storage_offset())
    plane = moves[0].numel()
    leave = moves.as_strided((num_diagonals, 2, width), (row, plane + 1, 1), moves.storage_offset())
    arrivals = torch.empty((2, width), dtype=alpha.dtype, device=alpha.device)  # by label, by blank
    if use_numpy if use_numpy is not None else alpha.device.type == "cpu":
        # The additions go through numpy views of the same memory (far lower per-call overhead
        # on short rows); logaddexp stays in torch, whose kernel is vectorised.
        add, sources_in, leave_in, arrivals_out = np.add, list(sources.numpy()), list(leave.numpy()), arrivals.numpy()
    else:
        add, sources_in, leave_in, arrivals_out = torch.add, sources.unbind(0), leave.unbind(0), arrivals
    flat = alpha.view(-1)
    targets = alpha.view(num_diagonals, -1)[:, 1:].unbind(0)
    by_label, by_blank = arrivals.unbind(0)
    for n in range(1, num_diagonals):
        add(sources_in[n - 1], leave_in[n - 1], out=arrivals_out)
        torch.logaddexp(by_label, by_blank, out=targets[n])
        if n in starts:
            flat[starts[n][0]] = starts[n][1]


@contextlib.contextmanager
def one_thread(device: torch.device) -> Iterator[None]:
    """Run the enclosed O(B T U) ops on one torch thread (CPU), restoring the thread count after.

    Lattice tensors have ~1e5 entries: split across threads, each op costs more in
    synchronisation than it saves, and on a loaded machine every parallel op waits for a
    second free core. Full-size ops stay outside and keep all threads.
    """
    threads = torch.get_num_threads()
    # torch's own (non-OpenMP) thread pool cannot be resized once used: it would only warn
    if device.type != "cpu" or threads == 1 or not torch.backends.openmp.is_available():
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def lattice_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


def exp_in_place(tensor: Tensor) -> Tensor:
    """``exp`` in place; same bits on every call.

    CPU float32/float64 tensors go through numpy's vectorised ``exp`` (faster than torch's on one
    thread); other dtypes and devices use torch.
    """
    if tensor.device.type == "cpu" and tensor.dtype in (torch.float32, torch.float64):
        array = tensor.numpy()
        np.exp(array, out=array)
        return tensor
    return tensor.exp_()


def next_label_columns(targets: Tensor, lattice: Lattice, vocab: int) -> Tensor:
    """(B, U1) positions ``u * V + y_u`` in a cell row ``(U1 * V)`` of a frame: each state's next label entry.

    States without a next label point at vocabulary entry 0 (padding labels may be anything).
    """
    batch = targets.shape[0]
    next_label = torch.cat([targets.long(), targets.new_zeros((batch, 1), dtype=torch.long)], dim=1)
    next_label = next_label.masked_fill(lattice.state_index.view(1, -1) >= lattice.labels.view(-1, 1), 0)  # (B, U1)
    return lattice.state_index.view(1, -1) * vocab + next_label


def move_entries(log_probs: Tensor, label_columns: Tensor, blank: int) -> Tensor:
    """(2, B, T, U1) log-probabilities of each cell's next label (plane ``LABEL``) and blank (``BLANK``), one gather.

    ``label_columns`` (B, U1) from ``next_label_columns``.
    """
    batch, frames, states, vocab = log_probs.shape
    columns = torch.empty((batch, 2, states), dtype=torch.long, device=log_probs.device)  # (B, 2, U1)
    columns[:, LABEL] = label_columns
    columns[:, BLANK] = torch.arange(blank, states * vocab, vocab, device=log_probs.device)
    index = columns.view(batch, 1, 2 * states).expand(batch, frames, 2 * states)  # same for every frame, no copy
    entries = log_probs.reshape(batch, frames, states * vocab).gather(2, index)  # (B, T, 2 * U1)
    return entries.view(batch, frames, 2, states).permute(2, 0, 1, 3)


def moves_buffer(log_probs: Tensor, label_columns: Tensor, blank: int, lattice: Lattice) -> Tensor:
    """Moves buffer (2, N, lanes, U1 + 1): forward lattices, then the flipped ones if two directions.

    Parameters
    ----------
    log_probs : (B, T, U1, V) log-probabilities.
    label_columns : (B, U1) from ``next_label_columns``.
    """
    moves = lattice.buffer(lattice_dtype(log_probs.device), planes=2)
    forward_cells = lattice.cells(moves)  # (2, B, T, U1) view
    forward_cells.copy_(move_entries(log_probs, label_columns, blank))  # converted to the lattice dtype
    # No label leaves the last state: its label move must be LOG_ZERO, or it would give the
    # guard column of the next lane (read as beta(t, U+1) by the posteriors) a finite value.
    forward_cells[LABEL, :, :, -1] = LOG_ZERO
    if lattice.has_padding:
        # Cells off an utterance's lattice never reach its own cells, but a NaN in padded logits
        # would leak into the next lane through the wavefront's guard column.
        forward_cells[BLANK].masked_fill_(lattice.outside, LOG_ZERO)
        forward_cells[LABEL].masked_fill_(lattice.no_label, LOG_ZERO)
    if lattice.lanes > lattice.batch:
        # Flipped cell (s, v) leaves by the blank out of (T-2-s, U-v) and by the label out of
        # (T-1-s, U-1-v): anti-diagonal N-2-m for both, columns mirrored (the label's shifted by
        # one, so its last state reads the guard: no label). The last anti-diagonal keeps LOG_ZERO.
        batch, last = lattice.batch, lattice.num_diagonals - 1
        moves[BLANK, :last, batch:, 1:] = moves[BLANK, :last, :batch, 1:].flip(0, 2)
        moves[LABEL, :last, batch:, 1:] = moves[LABEL, :last, :batch, :-1].flip(0, 2)
    return moves


def forward_variables(moves: Tensor, lattice: Lattice, use_numpy: bool | None = None) -> tuple[Tensor, Tensor]:
    """Run the wavefront over every lane of ``moves`` (``use_numpy`` as in ``wavefront``).

    Returns
    -------
    alpha : (N, lanes, U1 + 1) log forward variables of every lane; flipped lanes hold beta
        (``beta(t, u)`` at flipped cell ``(T-1-t, U-u)``).
    log_like : (B,) ``log P(y|x) = alpha(T_b-1, U_b) + log P(blank | T_b-1, U_b)``.
    """
    alpha = lattice.buffer(moves.dtype)
    alpha[0, :lattice.batch, 1] = 0.0  # alpha(0, 0) of every forward lane
    terminal_blank = moves[BLANK].view(-1).take(lattice.terminal)  # (B,)
    starts = lattice.flipped_starts(terminal_blank) if lattice.lanes > lattice.batch else {}
    if 0 in starts:  # full-length utterances start on the first diagonal
        positions, values = starts.pop(0)
        alpha.view(-1)[positions] = values
    wavefront(moves, alpha, starts, use_numpy)
    log_like = alpha.view(-1).take(lattice.terminal) + terminal_blank
    return alpha, log_like


def next_beta(alpha: Tensor, lattice: Lattice) -> Tensor:
    """(N-1, B, U1 + 1) flipped lanes read in forward order, one diagonal on.

    Entry ``[n, b, c]`` is ``beta`` of the cell on diagonal ``n + 1``, column ``c + 1`` of lane b: so
    ``[..., :-1]`` aligned with forward columns ``1:`` gives ``beta(t+1, u)``, ``[..., 1:]`` gives ``beta(t, u+1)``.
    """
    return alpha[:-1, lattice.batch:].flip(0, 2)


def transition_posteriors(alpha: Tensor, moves: Tensor, log_like: Tensor, lattice: Lattice) -> Tensor:
    """Posterior probability that an alignment leaves each cell by blank / by label.

    ``post = exp(alpha(t, u) + move(t, u) + beta(next cell) - log P)``.

    Returns
    -------
    posteriors : (2, B, T, U1) strided view, planes ``LABEL`` / ``BLANK``; their sum is the occupancy
        ``exp(alpha + beta - log P)``.
    """
    batch = lattice.batch
    posteriors = torch.zeros(moves[:, :, :batch].shape, dtype=moves.dtype, device=moves.device)  # (2, N, B, U1 + 1)
    inner = posteriors[:, :-1, :, 1:]  # cells of diagonals 0 .. N-2 (the last one holds only (T-1, U))
    torch.add(moves[:, :-1, :batch, 1:], alpha[:-1, :batch, 1:], out=inner)
    beta = next_beta(alpha, lattice).sub_(log_like.view(1, -1, 1))  # (N-1, B, U1 + 1) beta - log P
    inner[BLANK].add_(beta[..., :-1])  # beta(t+1, u)
    inner[LABEL].add_(beta[..., 1:])  # beta(t, u+1)
    exp_in_place(inner)
    # Every alignment ends with the terminal blank, which leaves the lattice: posterior 1.
    cells = lattice.cells(posteriors)
    cells[BLANK, lattice.lane_index, lattice.frames.view(-1) - 1, lattice.labels.view(-1)] = 1.0
    return cells


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
    _, num_frames, num_states, vocab = log_probs.shape
    lattice = Lattice(num_frames, num_states, logit_lengths, target_lengths, directions=2)
    moves = moves_buffer(log_probs, next_label_columns(targets, lattice, vocab), blank, lattice)
    alpha, _ = forward_variables(moves, lattice)
    forward_alpha = lattice.cells(alpha).masked_fill(lattice.outside, LOG_ZERO)
    beta = torch.full_like(alpha[:, :lattice.batch], LOG_ZERO)  # (N, B, U1 + 1)
    beta[:, :, 1:] = alpha[:, lattice.batch:].flip(0, 2)[:, :, :-1]  # flipped cell (T-1-t, U-u)
    return forward_alpha, lattice.cells(beta).masked_fill(lattice.outside, LOG_ZERO)
