"""RNN-Transducer pieces: encoder, predictor (with the decoders' ``step`` API) and joiner.

The predictor follows :mod:`asrlab.decoding.rnnt_protocol`: ``initial_state(batch)`` and
``step(tokens (N,), state) -> (out (N, D), state)`` with states batch-first, so
:func:`asrlab.decoding.rnnt_greedy_search` and :func:`asrlab.decoding.rnnt_beam_search` decode an
:class:`RNNTModel` directly::

    enc, enc_lengths = model.encoder(feats, feat_lengths)                 # (B, T', D)
    hyps = rnnt_greedy_search(enc, enc_lengths, model.predictor, model.joiner, blank=model.blank)

The blank doubles as the start-of-sequence input of the predictor (the decoders' default
``start_token``), so no extra vocabulary entry is needed.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from asrlab.models.encoders import LSTMEncoder
from asrlab.models.subsampling import ConvSubsampling

# Default sizes: the reference document's transducer (4-layer BiLSTM encoder of 320, 1-layer predictor of 512,
# joint 512). The rnnt notebook passes smaller ones, chosen per budget (256 x 3 / 256 / 256 full, 160 x 2 / 128 / 128 ci).
DEFAULT_ENCODER_DIM = 320
DEFAULT_ENCODER_LAYERS = 4
DEFAULT_PREDICTOR_DIM = 512
DEFAULT_PREDICTOR_LAYERS = 1
DEFAULT_JOINT_DIM = 512
DEFAULT_DROPOUT = 0.2

LSTMState = tuple[torch.Tensor, torch.Tensor]


class RNNTEncoder(nn.Module):
    """Optional subsampling -> (Bi)LSTM -> linear projection to the joint dimension.

    Parameters
    ----------
    input_dim : feature dimension F.
    hidden_dim, num_layers, bidirectional, dropout : LSTM size.
    output_dim : joint dimension D.
    subsampling : 1, 2 or 4 (see :class:`~asrlab.models.subsampling.ConvSubsampling`).
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, num_layers: int, output_dim: int,
        bidirectional: bool = True, dropout: float = 0.0, subsampling: int = 1,
    ) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.subsampling = ConvSubsampling(input_dim, subsampling)
        self.lstm = LSTMEncoder(self.subsampling.output_dim, hidden_dim, num_layers, bidirectional, dropout)
        self.proj = nn.Linear(self.lstm.output_dim, output_dim)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.subsampling.output_lengths(lengths)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, F), (B,) -> (B, T', D), (B,)."""
        if feats.dim() != 3 or feats.shape[-1] != self.input_dim:
            raise ValueError(f"expected features of shape (B, T, {self.input_dim}), got {tuple(feats.shape)}")
        x, lengths = self.subsampling(feats, lengths)
        x, lengths = self.lstm(x, lengths)  # (B, T', H)
        return self.proj(x), lengths


class Predictor(nn.Module):
    """Label-side network: embedding -> LSTM -> linear projection to the joint dimension.

    Parameters
    ----------
    vocab_size : V, including the blank (which is also the start-of-sequence input).
    hidden_dim : embedding and LSTM size.
    num_layers : LSTM layers.
    output_dim : joint dimension D.
    blank : blank / start index.
    dropout : on the embedding and between LSTM layers.
    """

    def __init__(
        self, vocab_size: int, hidden_dim: int, num_layers: int, output_dim: int, blank: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.blank = blank
        self.num_layers, self.hidden_dim = num_layers, hidden_dim
        self.embedding = nn.Embedding(vocab_size, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(hidden_dim, hidden_dim, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.proj = nn.Linear(hidden_dim, output_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced outputs for training.

        Parameters
        ----------
        tokens : (B, U) int64 labels (padding after each length is harmless: outputs at position u only
            depend on tokens before u).

        Returns
        -------
        (B, U + 1, D): output 0 follows the start symbol, output u follows ``tokens[:, :u]``.
        """
        start = tokens.new_full((tokens.shape[0], 1), self.blank)
        x = self.dropout(self.embedding(torch.cat([start, tokens], dim=1)))  # (B, U+1, H)
        out, _ = self.lstm(x)
        return self.proj(out)  # (B, U+1, D)

    def initial_state(self, batch_size: int) -> LSTMState:
        """Zero (h, c), each (N, layers, H): batch first, as the decoders require."""
        weight = self.proj.weight
        zeros = weight.new_zeros(batch_size, self.num_layers, self.hidden_dim)
        return zeros, zeros.clone()

    def step(self, tokens: torch.Tensor, state: LSTMState) -> tuple[torch.Tensor, LSTMState]:
        """Feed one token per row: (N,) and state -> output (N, D) and the next state."""
        h, c = state  # (N, layers, H) each
        x = self.embedding(tokens)[:, None]  # (N, 1, H)
        out, (h, c) = self.lstm(x, (h.transpose(0, 1).contiguous(), c.transpose(0, 1).contiguous()))
        return self.proj(out[:, 0]), (h.transpose(0, 1), c.transpose(0, 1))


class Joiner(nn.Module):
    """``Linear(tanh(enc + pred))``: works on single frames (N, D) and on the (B, T, U+1) lattice.

    Call with ``enc (N, D), pred (N, D)`` in decoding, or broadcastable ``enc[:, :, None]`` (B, T, 1, D)
    and ``pred[:, None]`` (B, 1, U+1, D) in training, giving (B, T, U+1, V) logits.
    """

    def __init__(self, input_dim: int, vocab_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(input_dim, vocab_size)

    def forward(self, enc: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.tanh(enc + pred))  # (..., V)


class RNNTModel(nn.Module):
    """Encoder + predictor + joiner with a plain-dict ``config``.

    Parameters
    ----------
    input_dim : feature dimension F.
    vocab_size : V including the blank.
    blank : blank index (``tokenizer.blank``).
    encoder_dim, encoder_layers, bidirectional : encoder LSTM size.
    predictor_dim, predictor_layers : predictor size.
    joint_dim : D, the common size of encoder and predictor outputs.
    dropout : dropout in encoder and predictor.
    subsampling : encoder front-end time reduction (1, 2 or 4).
    """

    arch = "rnnt"

    def __init__(
        self,
        input_dim: int,
        vocab_size: int,
        blank: int,
        encoder_dim: int = DEFAULT_ENCODER_DIM,
        encoder_layers: int = DEFAULT_ENCODER_LAYERS,
        bidirectional: bool = True,
        predictor_dim: int = DEFAULT_PREDICTOR_DIM,
        predictor_layers: int = DEFAULT_PREDICTOR_LAYERS,
        joint_dim: int = DEFAULT_JOINT_DIM,
        dropout: float = DEFAULT_DROPOUT,
        subsampling: int = 1,
    ) -> None:
        super().__init__()
        if not 0 <= blank < vocab_size:
            raise ValueError(f"blank={blank} must be a class index in [0, {vocab_size})")
        self.config: dict[str, Any] = {
            "arch": self.arch, "input_dim": input_dim, "vocab_size": vocab_size, "blank": blank,
            "encoder_dim": encoder_dim, "encoder_layers": encoder_layers, "bidirectional": bidirectional,
            "predictor_dim": predictor_dim, "predictor_layers": predictor_layers, "joint_dim": joint_dim,
            "dropout": dropout, "subsampling": subsampling,
        }
        self.blank = blank
        self.num_classes = vocab_size
        self.encoder = RNNTEncoder(input_dim, encoder_dim, encoder_layers, joint_dim, bidirectional, dropout, subsampling)
        self.predictor = Predictor(vocab_size, predictor_dim, predictor_layers, joint_dim, blank, dropout)
        self.joiner = Joiner(joint_dim, vocab_size)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RNNTModel:
        return cls(**{k: v for k, v in config.items() if k != "arch"})

    def forward(
        self, feats: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint logits over the whole lattice.

        Parameters
        ----------
        feats : (B, T, F) features; lengths : (B,) valid frames.
        tokens : (B, U) labels.

        Returns
        -------
        logits : (B, T', U + 1, V) raw joiner outputs (for :func:`asrlab.rnnt.rnnt_loss`).
        enc_lengths : (B,) valid encoder frames.
        """
        enc, enc_lengths = self.encoder(feats, lengths)  # (B, T', D)
        pred = self.predictor(tokens)  # (B, U+1, D)
        return self.joiner(enc[:, :, None], pred[:, None]), enc_lengths
