"""Model-only checkpoints: ``{"config": model.config, "state_dict": model.state_dict()}``.

Both parts are plain data (a dict of ints/floats/strs/bools and tensors), so a checkpoint loads
with ``torch.load(path, weights_only=True)``: safe for graders and for students sharing models.

Usage::

    save_model(model, "bilstm.pt")
    model = load_model("bilstm.pt")             # the right class, from config["arch"]
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from asrlab.models.ctc import CTCModel
from asrlab.models.multitask import MultiTaskCTC
from asrlab.models.rnnt import RNNTModel

ARCHITECTURES: dict[str, type[nn.Module]] = {
    CTCModel.arch: CTCModel,
    RNNTModel.arch: RNNTModel,
    MultiTaskCTC.arch: MultiTaskCTC,
}
CONFIG_TYPES = (int, float, str, bool, type(None))


def check_config(config: dict[str, Any]) -> None:
    """A config must be a flat dict of plain values so that ``weights_only`` loading accepts it."""
    for key, value in config.items():
        if not isinstance(key, str) or not isinstance(value, CONFIG_TYPES):
            raise TypeError(f"model config entry {key!r} = {value!r} is not a plain int/float/str/bool; "
                            "keep configs flat so checkpoints load with weights_only=True")


def model_from_config(config: dict[str, Any]) -> nn.Module:
    """Instantiate the model class named by ``config["arch"]``."""
    arch = config.get("arch")
    if arch not in ARCHITECTURES:
        raise ValueError(f"config has arch={arch!r}; known architectures: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch].from_config(config)  # type: ignore[attr-defined]


def model_checkpoint(model: nn.Module) -> dict[str, Any]:
    """The checkpoint dict of ``model`` (tensors moved to the CPU)."""
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise TypeError(f"{type(model).__name__} has no `config` dict; asrlab checkpoints need one to rebuild the model")
    check_config(config)
    return {"config": dict(config), "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def save_model(model: nn.Module, path: str | Path) -> Path:
    """Write ``{"config", "state_dict"}`` to ``path`` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model_checkpoint(model), path)
    return path


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Load a model saved by :func:`save_model` (or a training checkpoint, whose extra keys are ignored)."""
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(checkpoint, dict) or "config" not in checkpoint or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not an asrlab checkpoint: expected a dict with 'config' and 'state_dict'")
    model = model_from_config(checkpoint["config"])
    model.load_state_dict(checkpoint["state_dict"])
    return model
