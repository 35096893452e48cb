"""Reference CTC forward/backward algorithms in numpy (one utterance, log domain).

These loops are the readable definition of the CTC loss; the batched torch version in
``asrlab.ctc.loss`` must agree with them.

Conventions
-----------
* ``log_probs[t, c]`` (shape ``(T, C)``) is the natural-log probability of class ``c`` at
  frame ``t`` (log_softmax outputs, time first).
* ``blank`` is an index into the classes; a negative value counts from the end. The course
  character vocabulary ``' , space, a..z, _`` puts the blank last (index 28 of 29, or ``-1``);
  ``torch.nn.functional.ctc_loss`` defaults to 0. ``labels`` (shape ``(L,)``) never contain it.
* The *extended* label sequence puts a blank before, between and after the labels::

      labels = [c, a, t]  ->  extended = [_, c, _, a, _, t, _]      (S = 2L + 1 states)

  Even states ``2i`` are blanks; state ``2i + 1`` is ``labels[i]``.
* An alignment visits one state per frame, starts in state 0 or 1, ends in state ``S-1`` or
  ``S-2``, and from state ``s`` moves to ``s`` (stay), ``s+1`` (advance) or ``s+2`` (skip).
  The skip jumps over a blank and is only allowed into a label that differs from the label
  two states back: between two equal labels (``l, l``) the blank is compulsory, otherwise the
  alignment would collapse to a single ``l``.
* ``alpha[s, t]`` is the log-probability of all partial alignments of frames ``0..t`` that are
  in state ``s`` at frame ``t``; it *includes* the emission ``log_probs[t, extended[s]]``::

      alpha[s, t] = logsumexp(alpha[s, t-1], alpha[s-1, t-1], alpha[s-2, t-1] if skip allowed)
                    + log_probs[t, extended[s]]

* ``beta[s, t]`` is the log-probability of completing frames ``t+1..T-1`` from state ``s`` at
  frame ``t``; it *excludes* the emission at frame ``t`` (``beta[S-1, T-1] = beta[S-2, T-1] = 0``)::

      beta[s, t] = logsumexp(beta[s', t+1] + log_probs[t+1, extended[s']]
                             for s' in (s, s+1, s+2 if skip allowed))

* Identities, with ``log Z = log P(labels | log_probs)``: for **every** frame ``t``::

      logsumexp over s of (alpha[s, t] + beta[s, t]) = log Z

  because every alignment is in exactly one state at frame ``t``. In particular
  ``log Z = logaddexp(alpha[S-1, T-1], alpha[S-2, T-1])``. (Texts that let beta include the
  emission at ``t`` must subtract ``log_probs[t, extended[s]]`` once in this sum.)
* Impossible alignments appear as ``-inf`` (``log 0``), never as NaN: states that cannot be
  reached from the start hold ``alpha = -inf``, states that cannot reach the end hold
  ``beta = -inf``. An alignment needs ``min_frames(labels) = L + (number of adjacent equal
  labels)`` frames (each repeat costs an extra blank frame). With fewer frames ``log Z = -inf``
  and :func:`loss` returns ``+inf``.

Usage::

    from asrlab.ctc import reference
    alpha = reference.forward(log_probs, labels, blank=28)    # (2L+1, T)
    beta = reference.backward(log_probs, labels, blank=28)    # (2L+1, T)
    cost = reference.loss(log_probs, labels, blank=28)        # -log P(labels | log_probs)
    gamma = reference.soft_alignment(log_probs, labels, blank=28)   # (2L+1, T), columns sum to 1
"""
from __future__ import annotations

import itertools

import numpy as np

from asrlab.ctc.validation import CTCInputError, check_reference_inputs

NEG_INF = -np.inf  # log(0): states that no alignment reaches
MAX_BRUTE_FORCE_PATHS = 2_000_000  # C**T above this would take minutes in pure Python


def extend_labels(labels: np.ndarray, blank: int) -> np.ndarray:
    """Insert the blank before, between and after the labels.

    Parameters
    ----------
    labels : int array, shape (L,).
    blank : blank index in ``[0, C)``.

    Returns
    -------
    extended : int64 array, shape (2L+1,), ``[blank, l0, blank, l1, ..., l_{L-1}, blank]``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    extended = np.full(2 * len(labels) + 1, blank, dtype=np.int64)
    extended[1::2] = labels
    return extended


def skip_allowed(extended: np.ndarray, blank: int) -> np.ndarray:
    """Which states may be entered by skipping the blank two states back.

    Parameters
    ----------
    extended : int array, shape (S,), from :func:`extend_labels`.
    blank : blank index.

    Returns
    -------
    allowed : bool array, shape (S,); ``allowed[s]`` is True when the move ``s-2 -> s`` is legal,
        i.e. ``extended[s]`` is a label and differs from ``extended[s-2]``.
    """
    allowed = np.zeros(len(extended), dtype=bool)
    allowed[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
    return allowed


def min_frames(labels: np.ndarray) -> int:
    """Fewest frames that can carry ``labels``: one per label plus a blank between equal neighbours.

    Parameters
    ----------
    labels : int array, shape (L,).

    Returns
    -------
    frames : int, ``L + #{i : labels[i] == labels[i-1]}``.
    """
    labels = np.asarray(labels)
    return int(len(labels) + np.count_nonzero(labels[1:] == labels[:-1]))


def forward(log_probs: np.ndarray, labels: np.ndarray, blank: int) -> np.ndarray:
    """Forward variables of the CTC trellis.

    Parameters
    ----------
    log_probs : array, shape (T, C), log_softmax outputs (time first).
    labels : int array, shape (L,), target labels without the blank.
    blank : blank index; negative counts from the end (the course vocabulary uses 28 or -1).

    Returns
    -------
    alpha : float64 array, shape (2L+1, T); ``alpha[s, t]`` includes the emission at frame t,
        unreachable states hold ``-inf``.
    """
    log_probs, labels, blank = check_reference_inputs(log_probs, labels, blank)
    extended = extend_labels(labels, blank)  # (S,)
    can_skip = skip_allowed(extended, blank)  # (S,)
    num_frames, num_states = log_probs.shape[0], len(extended)
    emissions = log_probs[:, extended].T  # (S, T): emissions[s, t] = log_probs[t, extended[s]]

    alpha = np.full((num_states, num_frames), NEG_INF)
    if num_frames == 0:
        return alpha
    alpha[:2, 0] = emissions[:2, 0]  # start in the leading blank or on the first label
    for t in range(1, num_frames):
        previous = alpha[:, t - 1]  # (S,)
        stay = previous
        advance = np.concatenate([[NEG_INF], previous[:-1]])  # from s-1
        skip = np.where(can_skip, np.concatenate([[NEG_INF, NEG_INF], previous[:-2]])[:num_states], NEG_INF)
        alpha[:, t] = np.logaddexp(np.logaddexp(stay, advance), skip) + emissions[:, t]
    return alpha


def backward(log_probs: np.ndarray, labels: np.ndarray, blank: int) -> np.ndarray:
    """Backward variables of the CTC trellis.

    Parameters
    ----------
    log_probs : array, shape (T, C), log_softmax outputs (time first).
    labels : int array, shape (L,), target labels without the blank.
    blank : blank index; negative counts from the end.

    Returns
    -------
    beta : float64 array, shape (2L+1, T); ``beta[s, t]`` *excludes* the emission at frame t,
        ``beta[S-1, T-1] = beta[S-2, T-1] = 0``; states that cannot finish hold ``-inf``.
    """
    log_probs, labels, blank = check_reference_inputs(log_probs, labels, blank)
    extended = extend_labels(labels, blank)  # (S,)
    can_skip = skip_allowed(extended, blank)  # (S,)
    num_frames, num_states = log_probs.shape[0], len(extended)
    emissions = log_probs[:, extended].T  # (S, T)

    beta = np.full((num_states, num_frames), NEG_INF)
    if num_frames == 0:
        return beta
    beta[-2:, -1] = 0.0  # end in the last label or the trailing blank (S-2 = -1 when L = 0)
    for t in range(num_frames - 2, -1, -1):
        following = beta[:, t + 1] + emissions[:, t + 1]  # (S,): continue into s' and emit there
        stay = following
        advance = np.concatenate([following[1:], [NEG_INF]])  # into s+1
        # into s+2, allowed when the move s -> s+2 is a legal skip (can_skip of the target)
        skip = np.where(np.concatenate([can_skip[2:], [False, False]])[:num_states],
                        np.concatenate([following[2:], [NEG_INF, NEG_INF]])[:num_states], NEG_INF)
        beta[:, t] = np.logaddexp(np.logaddexp(stay, advance), skip)
    return beta


def log_likelihood(log_probs: np.ndarray, labels: np.ndarray, blank: int) -> float:
    """``log P(labels | log_probs)`` summed over all alignments (``-inf`` when none exists).

    Parameters
    ----------
    log_probs : array, shape (T, C); labels : int array, shape (L,); blank : blank index.

    Returns
    -------
    log_z : float, ``logaddexp(alpha[S-1, T-1], alpha[S-2, T-1])``; ``0`` for ``T = L = 0``.
    """
    return _log_z(forward(log_probs, labels, blank))


def _log_z(alpha: np.ndarray) -> float:
    """Total log-probability from the forward variables ``alpha`` (S, T)."""
    if alpha.shape[1] == 0:
        return 0.0 if alpha.shape[0] == 1 else NEG_INF  # zero frames carry only the empty sequence
    return float(np.logaddexp.reduce(alpha[-2:, -1]))  # the last two states (one state when L = 0)


def loss(log_probs: np.ndarray, labels: np.ndarray, blank: int) -> float:
    """CTC loss, the negative log-likelihood ``-log P(labels | log_probs)``.

    Parameters
    ----------
    log_probs : array, shape (T, C), log_softmax outputs (time first).
    labels : int array, shape (L,), target labels without the blank.
    blank : blank index; negative counts from the end.

    Returns
    -------
    cost : float, ``+inf`` when ``T < min_frames(labels)`` (no alignment exists).
    """
    return -log_likelihood(log_probs, labels, blank)


def soft_alignment(log_probs: np.ndarray, labels: np.ndarray, blank: int, collapse: bool = False) -> np.ndarray:
    """Posterior probability of each trellis state at each frame (the "soft alignment").

    ``gamma[s, t] = exp(alpha[s, t] + beta[s, t] - log Z)``: the share of the total probability
    of all alignments that pass through state ``s`` at frame ``t``. Each column sums to 1.

    Parameters
    ----------
    log_probs : array, shape (T, C), log_softmax outputs (time first).
    labels : int array, shape (L,), target labels without the blank.
    blank : blank index; negative counts from the end.
    collapse : if True, merge the L+1 blank states into row 0 and return one row per label.

    Returns
    -------
    gamma : float64 array, shape (2L+1, T), or (L+1, T) with ``collapse=True`` (row 0 = any
        blank, row ``i+1`` = ``labels[i]``); every column sums to 1.

    Raises
    ------
    CTCInputError
        When no alignment exists (``T < min_frames(labels)``): there is nothing to normalize.
    """
    alpha = forward(log_probs, labels, blank)  # (S, T)
    beta = backward(log_probs, labels, blank)  # (S, T)
    log_z = _log_z(alpha)
    if log_z == NEG_INF:
        raise CTCInputError(
            f"no alignment of {len(labels)} labels to {alpha.shape[1]} frames exists (needs at least "
            f"{min_frames(labels)} frames, counting a blank between repeated labels); "
            "give more frames or fewer labels"
        )
    gamma = np.exp(alpha + beta - log_z)  # (S, T)
    # Columns already sum to 1 up to rounding (the identity above); normalizing per frame removes
    # the rounding so that plots and argmax ties are clean.
    gamma /= gamma.sum(axis=0, keepdims=True)
    if collapse:
        gamma = np.concatenate([gamma[0::2].sum(axis=0, keepdims=True), gamma[1::2]], axis=0)  # (L+1, T)
    return gamma


def collapse_path(path: np.ndarray, blank: int) -> tuple[int, ...]:
    """The CTC many-to-one map: merge consecutive repeats, then drop blanks.

    Parameters
    ----------
    path : int array, shape (T,), one class per frame.
    blank : blank index.

    Returns
    -------
    labels : tuple of int, e.g. ``[_, c, c, _, a, a, t] -> (c, a, t)``.
    """
    merged = [cls for cls, _ in itertools.groupby(int(c) for c in path)]
    return tuple(c for c in merged if c != blank)


def brute_force_loss(log_probs: np.ndarray, labels: np.ndarray, blank: int) -> float:
    """``-log P(labels | log_probs)`` by enumerating all ``C**T`` frame paths (tiny cases only).

    This is the definition of CTC: sum the probability of every path that collapses to the labels.

    Parameters
    ----------
    log_probs : array, shape (T, C) with ``C**T <= 2e6``; labels : int array, shape (L,);
    blank : blank index.

    Returns
    -------
    cost : float, ``+inf`` when no path collapses to the labels.
    """
    log_probs, labels, blank = check_reference_inputs(log_probs, labels, blank)
    num_frames, num_classes = log_probs.shape
    if num_classes**num_frames > MAX_BRUTE_FORCE_PATHS:
        raise CTCInputError(
            f"brute force over C**T = {num_classes}**{num_frames} paths is too slow; "
            f"keep C**T <= {MAX_BRUTE_FORCE_PATHS} (use loss() for real sizes)"
        )
    target = tuple(int(label) for label in labels)
    path_scores = [
        sum(log_probs[t, c] for t, c in enumerate(path))
        for path in itertools.product(range(num_classes), repeat=num_frames)
        if collapse_path(np.asarray(path), blank) == target
    ]
    if not path_scores:
        return float("inf")
    return float(-np.logaddexp.reduce(path_scores))
