"""CTC acoustic models: optional convolutional subsampling -> encoder -> linear -> log-softmax.

Three encoders give the three baselines of the CTC training assignment::

    CTCModel(input_dim=80, num_classes=29, blank=28, encoder="feedforward")
    CTCModel(input_dim=80, num_classes=29, blank=28, encoder="lstm")
    CTCModel(input_dim=80, num_classes=29, blank=28, encoder="bilstm", subsampling=2)

    log_probs, out_lengths = model(feats, feat_lengths)   # (B, T, 80), (B,) -> (B, T', 29), (B,)

``model.config`` is a plain dict, so a checkpoint ``{"config": model.config, "state_dict": ...}``
loads with ``torch.load(path, weights_only=True)`` and ``CTCModel.from_config(config)``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from asrlab.models.encoders import FeedForwardEncoder, LSTMEncoder
from asrlab.models.subsampling import ConvSubsampling

ENCODERS = ("feedforward", "lstm", "bilstm")
# The BiLSTM baseline of the course (CTC training assignment: 128-256 units, 2-3 layers, stride 2, dropout 0.2).
DEFAULT_HIDDEN_DIM = 256
DEFAULT_NUM_LAYERS = 2
DEFAULT_DROPOUT = 0.2
DEFAULT_SUBSAMPLING = 2
DEFAULT_CONV_CHANNELS = 32


def build_encoder(kind: str, input_dim: int, hidden_dim: int, num_layers: int, dropout: float) -> nn.Module:
    """The frame encoder named ``kind`` (one of :data:`ENCODERS`); it has an ``output_dim`` attribute."""
    if kind == "feedforward":
        return FeedForwardEncoder(input_dim, hidden_dim, num_layers, dropout)
    if kind in ("lstm", "bilstm"):
        return LSTMEncoder(input_dim, hidden_dim, num_layers, bidirectional=kind == "bilstm", dropout=dropout)
    raise ValueError(f"unknown encoder {kind!r}; choose one of {ENCODERS}")


def check_lengths(name: str, out_lengths: torch.Tensor, in_lengths: torch.Tensor, frames: int) -> None:
    """Fail loudly when a model claims more output frames than it produced or than it was given."""
    if bool((out_lengths > frames).any()):
        raise ValueError(
            f"{name} returned lengths up to {int(out_lengths.max())} but only {frames} output frames; "
            "output_lengths() must describe the tensor forward() returns"
        )
    if bool((out_lengths.cpu() > in_lengths.cpu()).any()):
        raise ValueError(
            f"{name} output lengths exceed the input lengths ({out_lengths.tolist()} > {in_lengths.tolist()}); "
            "a CTC/RNN-T model may keep or shorten the time axis, never lengthen it"
        )


class CTCModel(nn.Module):
    """Frame classifier trained with CTC.

    Parameters
    ----------
    input_dim : feature dimension F (80 for the LibriSpeech front end, 128 for HarperValleyBank).
    num_classes : output classes C including the blank (29 for :class:`asrlab.text.CharTokenizer`).
    blank : blank index (``tokenizer.blank``); stored so training can check it against the tokenizer.
    encoder : ``"feedforward"``, ``"lstm"`` or ``"bilstm"``.
    hidden_dim, num_layers, dropout : encoder size.
    subsampling : time reduction of the convolutional front end (1 = no front end, 2 or 4).
    conv_channels : channels of the front-end convolutions.
    """

    arch = "ctc"

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        blank: int,
        encoder: str = "bilstm",
        hidden_dim: int = DEFAULT_HIDDEN_DIM,
        num_layers: int = DEFAULT_NUM_LAYERS,
        dropout: float = DEFAULT_DROPOUT,
        subsampling: int = DEFAULT_SUBSAMPLING,
        conv_channels: int = DEFAULT_CONV_CHANNELS,
    ) -> None:
        super().__init__()
        if not 0 <= blank < num_classes:
            raise ValueError(f"blank={blank} must be a class index in [0, {num_classes})")
        self.config: dict[str, Any] = {
            "arch": self.arch, "input_dim": input_dim, "num_classes": num_classes, "blank": blank,
            "encoder": encoder, "hidden_dim": hidden_dim, "num_layers": num_layers, "dropout": dropout,
            "subsampling": subsampling, "conv_channels": conv_channels,
        }
        self.blank = blank
        self.num_classes = num_classes
        self.subsampling = ConvSubsampling(input_dim, subsampling, conv_channels)
        self.encoder = build_encoder(encoder, self.subsampling.output_dim, hidden_dim, num_layers, dropout)
        self.classifier = nn.Linear(self.encoder.output_dim, num_classes)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CTCModel:
        """Rebuild a model from ``model.config`` (the ``arch`` key is ignored)."""
        return cls(**{k: v for k, v in config.items() if k != "arch"})

    @property
    def encoder_dim(self) -> int:
        """Size of the per-frame representation :meth:`encode` returns."""
        return self.encoder.output_dim

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Output frames for (B,) input frame counts."""
        return self.subsampling.output_lengths(lengths)

    def encode(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, F), (B,) -> encoder states (B, T', encoder_dim) and (B,) lengths."""
        if feats.dim() != 3 or feats.shape[-1] != self.config["input_dim"]:
            raise ValueError(
                f"expected features of shape (B, T, {self.config['input_dim']}), got {tuple(feats.shape)}; "
                "check n_mels of the front end against the model's input_dim"
            )
        x, lengths = self.subsampling(feats, lengths)  # (B, T', F')
        return self.encoder(x, lengths)  # (B, T', H)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame log-probabilities.

        Parameters
        ----------
        feats : (B, T, F) features, zero-padded.
        lengths : (B,) valid frames.

        Returns
        -------
        log_probs : (B, T', C) log-softmax over classes (float32 even under autocast).
        out_lengths : (B,) valid output frames, each <= the input length.
        """
        hidden, out_lengths = self.encode(feats, lengths)  # (B, T', H)
        logits = self.classifier(hidden)  # (B, T', C)
        return logits.float().log_softmax(dim=-1), out_lengths
