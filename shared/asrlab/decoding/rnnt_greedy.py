"""Batched RNN-T greedy search.

For every frame t, each utterance repeatedly takes the joiner's argmax at (t, u): a non-blank symbol is
appended and fed to the predictor (u += 1), blank moves on to frame t + 1. At most ``max_symbols_per_frame``
symbols are emitted per frame, after which the search moves on (this also guarantees termination). The whole
batch advances together; utterances that already chose blank, or whose length has run out, keep their
predictor state untouched.

>>> rnnt_greedy_search(encoder_out, lengths, predictor, joiner, blank=28)   # -> B token-id lists  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Sequence

import torch

from asrlab.decoding.inputs import DecodingInputError
from asrlab.decoding.rnnt_protocol import (
    Joiner,
    Predictor,
    check_encoder_output,
    check_step_output,
    where_state,
)

DEFAULT_MAX_SYMBOLS_PER_FRAME = 5


@torch.no_grad()
def rnnt_greedy_search(
    encoder_out: torch.Tensor,
    lengths: torch.Tensor | Sequence[int] | None,
    predictor: Predictor,
    joiner: Joiner,
    blank: int,
    start_token: int | None = None,
    max_symbols_per_frame: int = DEFAULT_MAX_SYMBOLS_PER_FRAME,
) -> list[list[int]]:
    """Greedy-decode a batch of encoder outputs.

    Parameters
    ----------
    encoder_out : (B, T, D) encoder output.
    lengths : (B,) valid frames per utterance (``None``: all T).
    predictor : :class:`~asrlab.decoding.rnnt_protocol.Predictor`.
    joiner : :class:`~asrlab.decoding.rnnt_protocol.Joiner` returning (N, V) logits.
    blank : blank index in the joiner's output.
    start_token : token fed to the predictor first (``<s>``/BOS); default: ``blank``.
    max_symbols_per_frame : cap on symbols emitted in one frame (>= 1).

    Returns
    -------
    list[list[int]]
        B lists of emitted token ids.

    Notes
    -----
    Ties in the argmax go to the lowest index (``torch.argmax`` on CPU); the result for an utterance does not
    depend on what else is in the batch.
    """
    encoder_out, lens = check_encoder_output(encoder_out, lengths)
    if not isinstance(max_symbols_per_frame, int) or max_symbols_per_frame < 1:
        raise ValueError(f"max_symbols_per_frame must be an int >= 1, got {max_symbols_per_frame!r}")
    batch, frames, _ = encoder_out.shape
    device = encoder_out.device
    start = blank if start_token is None else start_token

    state = predictor.initial_state(batch)
    pred_out, state = predictor.step(torch.full((batch,), start, dtype=torch.long, device=device), state)
    check_step_output(pred_out, state, batch)  # (B, H)
    hyps: list[list[int]] = [[] for _ in range(batch)]
    lens_dev = lens.to(device)

    for t in range(frames):
        active = t < lens_dev  # (B,) utterances still inside their length
        for _ in range(max_symbols_per_frame):
            logits = joiner(encoder_out[:, t], pred_out)  # (B, V)
            if logits.dim() != 2 or logits.shape[0] != batch:
                raise DecodingInputError(f"joiner must return logits of shape (N={batch}, V), "
                                         f"got {tuple(logits.shape)}")
            best = logits.argmax(-1)  # (B,)
            emit = active & (best != blank)  # (B,)
            if not bool(emit.any()):
                break
            for b in emit.nonzero().flatten().tolist():
                hyps[b].append(int(best[b]))
            tokens = torch.where(emit, best, torch.full_like(best, start))
            new_out, new_state = predictor.step(tokens, state)
            pred_out = torch.where(emit[:, None], new_out, pred_out)  # (B, H)
            state = where_state(emit, new_state, state)
            active = emit  # only utterances that just emitted may emit again in this frame
    return hyps
