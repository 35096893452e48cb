"""Convolutional subsampling front end: fewer, richer frames before the recurrent layers.

Each stage is a 3x3 ``Conv2d`` with stride 2 over (time, frequency) followed by ReLU, so two stages
shorten a 100 frames/s feature sequence to 25 frames/s. Recurrent layers then run 4x fewer steps,
which is most of the training time of an LSTM acoustic model.

Usage::

    sub = ConvSubsampling(input_dim=80, factor=4)
    x, lengths = sub(feats, feat_lengths)      # (B, T, 80), (B,) -> (B, T', sub.output_dim), (B,)
"""
from __future__ import annotations

import torch
from torch import nn

SUBSAMPLING_FACTORS = (1, 2, 4)
KERNEL_SIZE = 3
STRIDE = 2
PADDING = 1  # "same"-style padding: T' = ceil(T / 2) per stage, so no utterance loses its last frames


def _stage_length(lengths: torch.Tensor) -> torch.Tensor:
    """Output length of one stride-2 stage: floor((T + 2*pad - kernel) / stride) + 1."""
    return torch.div(lengths + 2 * PADDING - KERNEL_SIZE, STRIDE, rounding_mode="floor") + 1


class ConvSubsampling(nn.Module):
    """Stride-2 convolution stages over (time, frequency), then a flatten of channels x frequency.

    Parameters
    ----------
    input_dim : feature dimension F of the (B, T, F) input.
    factor : time reduction, one of 1 (identity), 2 or 4 (one or two stages).
    channels : convolution channels per stage.
    """

    def __init__(self, input_dim: int, factor: int = 2, channels: int = 32) -> None:
        super().__init__()
        if factor not in SUBSAMPLING_FACTORS:
            raise ValueError(f"subsampling factor must be one of {SUBSAMPLING_FACTORS}, got {factor}")
        self.factor = factor
        num_stages = {1: 0, 2: 1, 4: 2}[factor]
        layers: list[nn.Module] = []
        in_channels, freq = 1, input_dim
        for _ in range(num_stages):
            layers += [nn.Conv2d(in_channels, channels, KERNEL_SIZE, STRIDE, PADDING), nn.ReLU()]
            in_channels = channels
            freq = (freq + 2 * PADDING - KERNEL_SIZE) // STRIDE + 1
        self.conv = nn.Sequential(*layers)
        self.num_stages = num_stages
        self.output_dim = input_dim if num_stages == 0 else channels * freq

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frames after subsampling for (B,) input frame counts."""
        for _ in range(self.num_stages):
            lengths = _stage_length(lengths)
        return lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, F), (B,) -> (B, T', output_dim), (B,) with T' = output_lengths(T)."""
        if self.num_stages == 0:
            return x, lengths
        x = self.conv(x.unsqueeze(1))  # (B, C, T', F')
        batch, channels, frames, freq = x.shape
        x = x.permute(0, 2, 1, 3).reshape(batch, frames, channels * freq)  # (B, T', C*F')
        return x, self.output_lengths(lengths)
