"""Frame encoders shared by the CTC, RNN-T and multi-task models.

* :class:`FeedForwardEncoder` -- per-frame MLP (context only from the convolutional front end);
* :class:`LSTMEncoder` -- uni- or bidirectional LSTM that ignores padding (no packing needed).

Both map (B, T, F) features and (B,) lengths to (B, T, output_dim) and the same lengths.
Padding never influences valid frames of the LSTM: the backward direction of a BiLSTM reads each
utterance reversed within its own length, so it starts at the utterance's last real frame.
"""
from __future__ import annotations

import torch
from torch import nn


class FeedForwardEncoder(nn.Module):
    """``num_layers`` x (Linear -> ReLU -> Dropout), applied to every frame independently.

    Parameters
    ----------
    input_dim, hidden_dim : input and hidden sizes.
    num_layers : number of Linear layers (>= 1).
    dropout : dropout after each activation.
    """

    def __init__(self, input_dim: int, hidden_dim: int, num_layers: int, dropout: float = 0.0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers += [nn.Linear(input_dim if i == 0 else hidden_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers)
        self.output_dim = hidden_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, F), (B,) -> (B, T, hidden_dim), (B,)."""
        return self.net(x), lengths


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence within its own length; padding stays at the end.

    (B, T, H), (B,) -> (B, T, H) with ``out[b, t] = x[b, lengths[b] - 1 - t]`` for ``t < lengths[b]``.
    The permutation is its own inverse, so applying it twice gives ``x`` back.
    """
    steps = torch.arange(x.shape[1], device=x.device)[None, :]  # (1, T)
    lengths = lengths.to(x.device)[:, None]  # (B, 1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (B, T)
    return x.gather(1, index[..., None].expand_as(x))


class LSTMEncoder(nn.Module):
    """Stacked uni- or bidirectional LSTM that ignores padding without packing.

    The forward direction runs over the zero-padded batch as is: padding comes after the valid frames,
    so it cannot influence them. The backward direction runs a second LSTM over every utterance
    reversed *within its own length* (:func:`reverse_padded`), so it starts at the utterance's last
    real frame, not in the padding. This gives exactly what ``pack_padded_sequence`` gives, but on
    the CPU it is several times faster: the backward pass of a packed LSTM re-allocates a full-size
    gradient for every time step (quadratic in the length), while padded batches from the
    length-bucketing loader carry little padding to waste.

    Parameters
    ----------
    input_dim, hidden_dim : input size and hidden size per direction.
    num_layers : stacked layers (each layer's two directions are concatenated for the next).
    bidirectional : add the backward direction; ``output_dim`` is then ``2 * hidden_dim``.
    dropout : between layers and on the output.
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, num_layers: int, bidirectional: bool = True, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        directions = 2 if bidirectional else 1
        self.bidirectional = bidirectional
        self.forward_layers = nn.ModuleList(
            nn.LSTM(input_dim if i == 0 else directions * hidden_dim, hidden_dim, batch_first=True)
            for i in range(num_layers)
        )
        self.backward_layers = nn.ModuleList(
            nn.LSTM(input_dim if i == 0 else directions * hidden_dim, hidden_dim, batch_first=True)
            for i in range(num_layers if bidirectional else 0)
        )
        self.dropout = nn.Dropout(dropout)
        self.output_dim = hidden_dim * directions

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, F), (B,) -> (B, T, output_dim), (B,); frames past each length are 0."""
        valid = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None])[..., None]  # (B, T, 1)
        for i, forward_lstm in enumerate(self.forward_layers):
            if i > 0:
                x = self.dropout(x)
            out, _ = forward_lstm(x)  # (B, T, H)
            if self.bidirectional:
                backward, _ = self.backward_layers[i](reverse_padded(x, lengths))
                out = torch.cat([out, reverse_padded(backward, lengths)], dim=-1)  # (B, T, 2H)
            x = out.masked_fill(~valid, 0.0)  # padding outputs are garbage; zero them for the next layer
        return self.dropout(x), lengths
