"""A CTC acoustic model and its tokenizer.

The model is ``asrlab.models.CTCModel``: convolutional subsampling, a (Bi)LSTM encoder and a linear layer over
the tokens plus the blank. ``(B, T, n_mels) features, (B,) lengths -> (B, T', C) log-probabilities, (B,)``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from asrlab.models import CTCModel
from asrlab.text import BPETokenizer, CharTokenizer
from torch import nn

TOKENIZERS = ("char", "bpe")
BPE_FILE = "bpe.model"


def build_tokenizer(kind: str, folder: str | Path | None = None, texts: Iterable[str] | None = None,
                    vocab_size: int = 128) -> Any:
    """The ``"char"`` tokenizer, or a ``"bpe"`` one: trained on ``texts`` (and saved in ``folder``) or loaded
    from ``folder/bpe.model``."""
    if kind == "char":
        return CharTokenizer()
    if kind != "bpe":
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {kind!r}")
    if texts is not None:
        return BPETokenizer.train(texts, vocab_size=vocab_size, model_dir=folder)
    if folder is None:
        raise ValueError("a BPE tokenizer needs texts to train on or a folder holding bpe.model")
    return BPETokenizer.load(Path(folder) / BPE_FILE)


def token_texts(tokenizer: Any) -> list[str]:
    """The text each token id writes (``""`` for the blank; a sentencepiece ``"▁"`` becomes a space)."""
    return ["" if i == tokenizer.blank else s.replace("\u2581", " ") for i, s in enumerate(tokenizer.symbols)]


def build_model(config: Mapping[str, Any], num_classes: int, blank: int) -> nn.Module:
    """A CTC model from the ``model`` config (encoder, n_mels, hidden_dim, num_layers, dropout, subsampling)."""
    if config.get("kind", "ctc") != "ctc":
        raise ValueError(f"model kind {config.get('kind')!r} is not implemented here; use kind: ctc")
    return CTCModel(input_dim=int(config["n_mels"]), num_classes=num_classes, blank=blank,
                    encoder=str(config.get("encoder", "bilstm")), hidden_dim=int(config["hidden_dim"]),
                    num_layers=int(config["num_layers"]), dropout=float(config.get("dropout", 0.1)),
                    subsampling=int(config.get("subsampling", 2)),
                    conv_channels=int(config.get("conv_channels", 32)))
