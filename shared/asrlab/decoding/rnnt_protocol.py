"""The small interface RNN-T decoders need from a model, and helpers for predictor states.

An RNN-T model is decoded through three pieces:

* the encoder output ``(B, T, D)`` (computed once, outside the search);
* a :class:`Predictor`, stepped one token at a time::

      state = predictor.initial_state(batch_size)
      out, state = predictor.step(tokens, state)     # tokens (N,) -> out (N, H)

* a :class:`Joiner` mapping ``(enc_t (N, D), pred_u (N, H))`` to logits ``(N, V)``.

A predictor state is a tensor or a tuple of tensors with the **batch in dimension 0** (an LSTM predictor keeps
``(h, c)`` as ``(N, layers, hidden)`` and transposes around ``nn.LSTM``), so that the decoders can pick and
merge rows without knowing the predictor's internals.
"""
from __future__ import annotations

from typing import Protocol, Union, runtime_checkable

import torch

from asrlab.decoding.inputs import DecodingInputError

State = Union[torch.Tensor, tuple[torch.Tensor, ...]]


@runtime_checkable
class Predictor(Protocol):
    """Prediction network (label-side "language model") of an RNN-T."""

    def initial_state(self, batch_size: int) -> State:
        """State before any token, batch in dimension 0."""
        ...

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Feed tokens (N,) -> output (N, H) and the next state."""
        ...


@runtime_checkable
class Joiner(Protocol):
    """Joint network: one frame of encoder output and one predictor output -> logits over the vocabulary."""

    def __call__(self, enc: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """enc (N, D), pred (N, H) -> logits (N, V)."""
        ...


def _parts(state: State) -> tuple[torch.Tensor, ...]:
    if isinstance(state, torch.Tensor):
        return (state,)
    if isinstance(state, (tuple, list)) and all(isinstance(s, torch.Tensor) for s in state):
        return tuple(state)
    raise TypeError("a predictor state must be a tensor or a tuple of tensors (batch in dim 0); "
                    f"got {type(state).__name__}")


def _rebuild(template: State, parts: list[torch.Tensor]) -> State:
    return parts[0] if isinstance(template, torch.Tensor) else tuple(parts)


def select_state(state: State, index: torch.Tensor) -> State:
    """Rows ``index`` (N',) of every state tensor."""
    return _rebuild(state, [s.index_select(0, index) for s in _parts(state)])


def concat_states(first: State, second: State) -> State:
    """Stack two states' rows: first's rows, then second's."""
    return _rebuild(first, [torch.cat([a, b], 0) for a, b in zip(_parts(first), _parts(second))])


def where_state(mask: torch.Tensor, new: State, old: State) -> State:
    """Row-wise choice: ``new`` where mask (N,) is true, else ``old``."""
    out = []
    for n, o in zip(_parts(new), _parts(old)):
        m = mask.view(-1, *([1] * (n.dim() - 1)))
        out.append(torch.where(m, n, o))
    return _rebuild(new, out)


def check_step_output(out: torch.Tensor, state: State, rows: int) -> None:
    """Make a predictor that breaks the protocol fail loudly instead of silently mis-decoding."""
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != rows:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise DecodingInputError(f"predictor.step must return an output of shape (N={rows}, H), got {shape}")
    for s in _parts(state):
        if s.shape[0] != rows:
            raise DecodingInputError(
                f"predictor state tensors must have the batch ({rows}) in dimension 0, got shape {tuple(s.shape)}; "
                "transpose LSTM states (layers, N, H) to (N, layers, H)"
            )


def check_encoder_output(
    encoder_out: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate (B, T, D) encoder output and (B,) lengths; returns lengths as int64 on CPU."""
    if not isinstance(encoder_out, torch.Tensor) or encoder_out.dim() != 3:
        shape = tuple(encoder_out.shape) if isinstance(encoder_out, torch.Tensor) else type(encoder_out).__name__
        raise DecodingInputError(f"encoder_out must be a tensor shaped (B, T, D), got {shape}")
    batch, frames, _ = encoder_out.shape
    if lengths is None:
        return encoder_out, torch.full((batch,), frames, dtype=torch.long)
    lengths = torch.as_tensor(lengths).detach().cpu()
    if lengths.shape != (batch,) or lengths.dtype.is_floating_point:
        raise DecodingInputError(f"lengths must be an integer tensor of shape (B,) = ({batch},), got "
                                 f"{tuple(lengths.shape)} {lengths.dtype}")
    if batch and (int(lengths.min()) < 0 or int(lengths.max()) > frames):
        raise DecodingInputError(f"lengths must lie in [0, T={frames}], got {lengths.tolist()}")
    return encoder_out, lengths.long()
