"""RNN-T "modified" beam search (time-synchronous, at most one symbol per frame), as in icefall/k2.

At each frame t every hypothesis (a token sequence with its log-probability) proposes all V continuations:
blank keeps its tokens, a symbol ``v`` appends it, and either way the search moves on to frame t + 1. The
``beam_size`` best of the K * V proposals survive; proposals that end up with the same token sequence (e.g.
``(a, b) + blank`` and ``(a) + b``) are merged by adding their probabilities. Scores are therefore the exact
log-probability of a token sequence summed over all paths that emit at most one symbol per frame, up to
pruning. Compared with Graves' original beam search this is simpler, batches well over hypotheses and always
ends after T steps, at the cost of never emitting two symbols in one frame.

Determinism: proposals are ranked by score, highest first; ties go to the lower (hypothesis rank, token id)
pair; the final n-best list is sorted by score with ties broken by the smaller token tuple.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from asrlab.decoding.rnnt_protocol import (
    Joiner,
    Predictor,
    State,
    check_encoder_output,
    check_step_output,
    concat_states,
    select_state,
)

DEFAULT_RNNT_BEAM_SIZE = 4


@dataclass(frozen=True)
class RNNTHypothesis:
    """One RNN-T n-best entry: emitted token ids and their natural-log probability."""

    tokens: tuple[int, ...]
    score: float


@torch.no_grad()
def rnnt_beam_search(
    encoder_out: torch.Tensor,
    lengths: torch.Tensor | Sequence[int] | None,
    predictor: Predictor,
    joiner: Joiner,
    blank: int,
    beam_size: int = DEFAULT_RNNT_BEAM_SIZE,
    start_token: int | None = None,
) -> list[list[RNNTHypothesis]]:
    """Modified beam search for every utterance of a batch.

    Parameters
    ----------
    encoder_out : (B, T, D) encoder output.
    lengths : (B,) valid frames per utterance (``None``: all T).
    predictor, joiner : see :mod:`asrlab.decoding.rnnt_protocol`.
    blank : blank index in the joiner output.
    beam_size : hypotheses kept per frame.
    start_token : first predictor input; default ``blank``.

    Returns
    -------
    list[list[RNNTHypothesis]]
        B n-best lists (at most ``beam_size`` each), best first.
    """
    encoder_out, lens = check_encoder_output(encoder_out, lengths)
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be a positive int, got {beam_size!r}")
    start = blank if start_token is None else start_token
    return [
        _search_one(encoder_out[b, : int(lens[b])], predictor, joiner, blank, beam_size, start)
        for b in range(encoder_out.shape[0])
    ]


def _search_one(
    enc: torch.Tensor, predictor: Predictor, joiner: Joiner, blank: int, beam_size: int, start: int
) -> list[RNNTHypothesis]:
    """Beam search over one utterance's (T, D) encoder output."""
    device = enc.device
    state: State = predictor.initial_state(1)
    pred_out, state = predictor.step(torch.full((1,), start, dtype=torch.long, device=device), state)
    check_step_output(pred_out, state, 1)  # (1, H)
    tokens: list[tuple[int, ...]] = [()]
    scores = np.zeros(1)  # (K,) log-probabilities of the hypotheses

    for t in range(enc.shape[0]):
        k = len(tokens)
        logits = joiner(enc[t].expand(k, -1), pred_out)  # (K, V)
        log_probs = torch.log_softmax(logits.double(), dim=-1).cpu().numpy()  # (K, V)
        vocab = log_probs.shape[1]
        proposals = (scores[:, None] + log_probs).reshape(-1)  # (K * V,)
        # Stable sort of the negated scores: ties keep (hypothesis, token) order.
        chosen = np.argsort(-proposals, kind="stable")[:beam_size]

        new_tokens: list[tuple[int, ...]] = []
        new_scores: list[float] = []
        source_rows: list[int] = []  # rows of [old states; stepped states] that each new hypothesis uses
        to_step: list[tuple[int, int]] = []  # (hypothesis row, token) pairs that need a predictor step
        position: dict[tuple[int, ...], int] = {}
        for flat in chosen.tolist():
            row, token = divmod(flat, vocab)
            seq = tokens[row] if token == blank else tokens[row] + (token,)
            if seq in position:  # same sequence reached two ways: add the probabilities
                i = position[seq]
                new_scores[i] = float(np.logaddexp(new_scores[i], proposals[flat]))
                continue
            position[seq] = len(new_tokens)
            new_tokens.append(seq)
            new_scores.append(float(proposals[flat]))
            if token == blank:
                source_rows.append(row)
            else:
                source_rows.append(k + len(to_step))
                to_step.append((row, token))

        if to_step:
            rows = torch.tensor([r for r, _ in to_step], dtype=torch.long, device=device)
            step_tokens = torch.tensor([v for _, v in to_step], dtype=torch.long, device=device)
            stepped_out, stepped_state = predictor.step(step_tokens, select_state(state, rows))
            check_step_output(stepped_out, stepped_state, len(to_step))
            pred_out = torch.cat([pred_out, stepped_out], 0)  # (K + M, H)
            state = concat_states(state, stepped_state)
        index = torch.tensor(source_rows, dtype=torch.long, device=device)
        pred_out = pred_out.index_select(0, index)  # (K', H)
        state = select_state(state, index)
        tokens, scores = new_tokens, np.array(new_scores)

    hyps = [RNNTHypothesis(seq, float(s)) for seq, s in zip(tokens, scores)]
    hyps.sort(key=lambda h: (-h.score, h.tokens))
    return hyps
