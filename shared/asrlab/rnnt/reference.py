"""Reference RNN-T forward/backward algorithms in numpy (one utterance, log domain).

These loops are the readable definition of the RNN-T loss; the batched torch version in
``asrlab.rnnt.loss`` must agree with them.

Conventions
-----------
* ``log_probs[t, u, k]`` (shape ``(T, U+1, V)``) is ``log P(k | t, u)``: the log-probability of
  emitting symbol ``k`` at frame ``t`` after the first ``u`` labels have been emitted
  (0-based ``t`` in ``[0, T)``, ``u`` in ``[0, U]``).
* ``blank`` is an index into the last axis; a negative value counts from the end, so the
  default ``-1`` is the last symbol. ``labels`` never contain the blank.
* Moves: a blank at ``(t, u)`` goes to ``(t+1, u)``; the label ``labels[u]`` at ``(t, u)``
  goes to ``(t, u+1)``. Every alignment ends with the *terminal blank* emitted at
  ``(T-1, U)``, which leaves the lattice; it is not a cell of ``alpha`` or ``beta``.
* ``alpha[t, u]`` is the log-probability of all partial alignments that reach cell
  ``(t, u)`` (``alpha[0, 0] = 0``)::

      alpha[t, u] = logaddexp(alpha[t-1, u] + log_probs[t-1, u, blank],
                              alpha[t, u-1] + log_probs[t, u-1, labels[u-1]])

* ``beta[t, u]`` is the log-probability of finishing from ``(t, u)``, terminal blank included
  (``beta[T-1, U] = log_probs[T-1, U, blank]``)::

      beta[t, u] = logaddexp(beta[t+1, u] + log_probs[t, u, blank],
                             beta[t, u+1] + log_probs[t, u, labels[u]])

* Identities: ``log P(y|x) = alpha[T-1, U] + log_probs[T-1, U, blank] = beta[0, 0]``, and,
  because every alignment crosses each anti-diagonal ``t + u = n`` exactly once,
  ``logsumexp(alpha[t, u] + beta[t, u] over t + u = n) = log P(y|x)`` for every
  ``n`` in ``[0, T + U - 1]``.

Usage::

    from asrlab.rnnt import reference
    alpha = reference.forward(log_probs, labels, blank=-1)   # (T, U+1)
    beta = reference.backward(log_probs, labels, blank=-1)   # (T, U+1)
    cost = reference.loss(log_probs, labels, blank=-1)       # -log P(y|x)
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from asrlab.rnnt.validation import check_reference_inputs

NEG_INF = -np.inf  # log(0): cells that no alignment reaches


def forward(log_probs: np.ndarray, labels: np.ndarray, blank: int = -1) -> np.ndarray:
    """Forward variables of the RNN-T lattice.

    Parameters
    ----------
    log_probs : array, shape (T, U+1, V), log-softmax outputs of the joiner.
    labels : int array, shape (U,), target labels (no blank).
    blank : index of the blank symbol; negative counts from the end.

    Returns
    -------
    alpha : float64 array, shape (T, U+1), ``alpha[0, 0] = 0``.
    """
    log_probs, labels, blank = check_reference_inputs(log_probs, labels, blank)
    num_frames, num_states, _ = log_probs.shape
    alpha = np.full((num_frames, num_states), NEG_INF)
    alpha[0, 0] = 0.0
    for t in range(num_frames):
        for u in range(num_states):
            if t == 0 and u == 0:
                continue
            from_blank = alpha[t - 1, u] + log_probs[t - 1, u, blank] if t > 0 else NEG_INF
            from_label = alpha[t, u - 1] + log_probs[t, u - 1, labels[u - 1]] if u > 0 else NEG_INF
            alpha[t, u] = np.logaddexp(from_blank, from_label)
    return alpha


def backward(log_probs: np.ndarray, labels: np.ndarray, blank: int = -1) -> np.ndarray:
    """Backward variables of the RNN-T lattice.

    Parameters
    ----------
    log_probs : array, shape (T, U+1, V), log-softmax outputs of the joiner.
    labels : int array, shape (U,), target labels (no blank).
    blank : index of the blank symbol; negative counts from the end.

    Returns
    -------
    beta : float64 array, shape (T, U+1), ``beta[T-1, U] = log_probs[T-1, U, blank]``
        and ``beta[0, 0] = log P(y|x)``.
    """
    log_probs, labels, blank = check_reference_inputs(log_probs, labels, blank)
    num_frames, num_states, _ = log_probs.shape
    last_t, last_u = num_frames - 1, num_states - 1
    beta = np.full((num_frames, num_states), NEG_INF)
    beta[last_t, last_u] = log_probs[last_t, last_u, blank]  # the terminal blank
    for t in range(last_t, -1, -1):
        for u in range(last_u, -1, -1):
            if t == last_t and u == last_u:
                continue
            to_blank = beta[t + 1, u] + log_probs[t, u, blank] if t < last_t else NEG_INF
            to_label = beta[t, u + 1] + log_probs[t, u, labels[u]] if u < last_u else NEG_INF
            beta[t, u] = np.logaddexp(to_blank, to_label)
    return beta


def loss(log_probs: np.ndarray, labels: np.ndarray, blank: int = -1) -> float:
    """RNN-T loss ``-log P(y|x)`` of one utterance, from the forward variables.

    Parameters
    ----------
    log_probs : array, shape (T, U+1, V), log-softmax outputs of the joiner.
    labels : int array, shape (U,), target labels (no blank).
    blank : index of the blank symbol; negative counts from the end.

    Returns
    -------
    cost : float, ``-(alpha[T-1, U] + log_probs[T-1, U, blank])``.
    """
    log_probs, labels, blank = check_reference_inputs(log_probs, labels, blank)
    alpha = forward(log_probs, labels, blank)
    return float(-(alpha[-1, -1] + log_probs[-1, -1, blank]))


def alignments(num_frames: int, num_labels: int) -> Iterator[tuple[bool, ...]]:
    """Every RNN-T alignment of ``num_labels`` labels to ``num_frames`` frames.

    An alignment is a sequence of ``num_frames + num_labels`` moves, ``True`` for a blank
    (next frame) and ``False`` for a label (next label); the last move is always the terminal
    blank. There are ``C(num_frames - 1 + num_labels, num_labels)`` of them.

    Yields
    ------
    moves : tuple of bool, length ``num_frames + num_labels``.
    """
    num_moves = num_frames - 1 + num_labels  # all moves before the terminal blank
    for label_positions in itertools.combinations(range(num_moves), num_labels):
        moves = [True] * num_moves
        for position in label_positions:
            moves[position] = False
        yield tuple(moves) + (True,)


def brute_force_loss(log_probs: np.ndarray, labels: np.ndarray, blank: int = -1) -> float:
    """``-log P(y|x)`` by summing the probability of every alignment (tiny lattices only).

    Parameters
    ----------
    log_probs : array, shape (T, U+1, V), log-softmax outputs of the joiner.
    labels : int array, shape (U,), target labels (no blank).
    blank : index of the blank symbol; negative counts from the end.

    Returns
    -------
    cost : float
    """
    log_probs, labels, blank = check_reference_inputs(log_probs, labels, blank)
    num_frames, num_states, _ = log_probs.shape
    path_scores = []
    for moves in alignments(num_frames, num_states - 1):
        t = u = 0
        score = 0.0
        for is_blank in moves:
            if is_blank:
                score += log_probs[t, u, blank]
                t += 1
            else:
                score += log_probs[t, u, labels[u]]
                u += 1
        path_scores.append(score)
    return float(-np.logaddexp.reduce(path_scores))
