"""Features computed on the training device, batch by batch.

Data loader workers only read and pad waveforms; the log-Mel transform, normalization and SpecAugment
run here, batched, on the same device as the model. On a Colab GPU that keeps the GPU fed where a
per-utterance CPU transform in two workers would starve it.

Usage::

    frontend = FeatureFrontend(LogMel(), spec_augment=SpecAugment()).to(device)
    feats, lengths = frontend(batch, device)    # batch["waveform"] (B, N) -> (B, T, 80), (B,)

Batches that already carry ``features`` / ``feature_lengths`` (precomputed, or tiny test tensors)
skip the log-Mel step but are still normalized and augmented as configured.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from asrlab.features import LogMel, SpecAugment, utterance_cmvn

NORMALIZATIONS = ("utterance", "none")


class FeatureFrontend(nn.Module):
    """Waveforms (or ready features) -> normalized, optionally augmented (B, T, F) features.

    Parameters
    ----------
    log_mel : the feature extractor; ``None`` means batches must carry ``features``.
    normalize : ``"utterance"`` (per-utterance mean/variance, :func:`asrlab.features.utterance_cmvn`) or ``"none"``.
    spec_augment : applied in training mode only (``frontend.train()``/``.eval()`` follow the trainer).
    """

    def __init__(
        self, log_mel: LogMel | None = None, normalize: str = "utterance", spec_augment: SpecAugment | None = None
    ) -> None:
        super().__init__()
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        self.log_mel = log_mel
        self.normalize = normalize
        self.spec_augment = spec_augment

    @property
    def feature_dim(self) -> int | None:
        return None if self.log_mel is None else self.log_mel.n_mels

    @torch.no_grad()
    def forward(self, batch: Mapping[str, Any], device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and lengths of a collated batch, on ``device``.

        Returns
        -------
        feats : (B, T, F) float32.
        lengths : (B,) int64 valid frames.
        """
        if "features" in batch:
            feats = batch["features"].to(device, non_blocking=True).float()  # (B, T, F)
            lengths = batch.get("feature_lengths")
            lengths = (torch.full((feats.shape[0],), feats.shape[1], dtype=torch.long) if lengths is None else lengths)
            lengths = lengths.to(device)
        elif "waveform" in batch:
            if self.log_mel is None:
                raise ValueError("the batch has waveforms but the FeatureFrontend has no log_mel; "
                                 "pass FeatureFrontend(LogMel(...)) or add 'features' to the dataset items")
            wav = batch["waveform"].to(device, non_blocking=True)  # (B, N)
            feats, lengths = self.log_mel(wav, batch["waveform_lengths"].to(device))  # (B, T, F)
        else:
            raise KeyError(f"a batch needs 'waveform' (+ 'waveform_lengths') or 'features'; got keys {sorted(batch)}")
        if self.normalize == "utterance":
            feats = utterance_cmvn(feats, lengths)
        if self.spec_augment is not None and self.training:
            feats = self.spec_augment(feats, lengths)
        return feats, lengths
