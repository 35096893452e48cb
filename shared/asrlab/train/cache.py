"""Train a model once, then load it: the "train or load the checkpoint" step of the course notebooks.

A notebook's training cell saves its model next to the notebook; run again, it loads that file instead of
training (students submit notebook + checkpoint, and the grader does not retrain). The checkpoint is the
course format, ``{"config": model.config, "state_dict": ...}``, plus the run's ``history`` records and
``train_seconds``, all plain data (``torch.load(weights_only=True)`` reads it).

Usage::

    def fit(model):
        return Trainer(model, VOCAB, train_loader, val_loader, config, device=DEVICE).fit()

    run = train_or_load("ctc_model.pt", lambda: CTCModel(...), fit, retrain=RETRAIN, seed=0, device=DEVICE)
    run.model, run.history, run.seconds, run.loaded
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from asrlab.train.history import History
from asrlab.train.seed import seed_everything


@dataclass
class TrainedModel:
    """What :func:`train_or_load` returns.

    Attributes
    ----------
    model : the model in evaluation mode, on the requested device.
    history : the training record (also when loaded, if the checkpoint holds one), else None.
    seconds : wall-clock training time (when loaded: the saved one, or None).
    loaded : True when the weights came from the checkpoint file.
    """

    model: nn.Module
    history: History | None
    seconds: float | None
    loaded: bool


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` of a course checkpoint, with a clear error when it is not one."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or "config" not in saved or "state_dict" not in saved:
        raise ValueError(f"{path} is not a course checkpoint (a dict with 'config' and 'state_dict'); delete it "
                         "and run the training cell again")
    return saved


def _model_config(model: nn.Module) -> dict[str, Any]:
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise TypeError(f"{type(model).__name__} has no `config` dict of constructor arguments; set self.config in "
                        "__init__ so that the checkpoint can rebuild the model")
    return dict(config)


def train_or_load(
    path: str | Path,
    build: Callable[[], nn.Module],
    fit: Callable[[nn.Module], History],
    *,
    retrain: bool = False,
    same_config: bool = False,
    rebuild: Callable[[dict[str, Any]], nn.Module] | None = None,
    seed: int | None = None,
    device: str | torch.device | None = None,
    name: str = "",
) -> TrainedModel:
    """Load ``path`` into ``build()`` when it exists, else train ``build()`` with ``fit`` and save it there.

    Parameters
    ----------
    path : the checkpoint file, next to the notebook.
    build : makes the untrained model (it must have a ``config`` dict of its constructor arguments).
    fit : trains the model in place and returns its :class:`~asrlab.train.History`.
    retrain : train even when ``path`` exists (the notebooks' ``RETRAIN`` switch).
    same_config : load only a checkpoint whose config equals ``build().config``; train otherwise
        (a notebook that trains several models under one set of settings).
    rebuild : makes the model to load from the checkpoint's config (e.g. ``lambda config: Transducer(**config)``),
        so a checkpoint trained with other settings still loads; default ``build()``.
    seed : :func:`~asrlab.train.seed_everything` before the model is built for training (the model's initial
        weights); None leaves the generators as they are.
    device : where the returned model lives (default: where it is).
    name : prefix of the printed lines (e.g. the model's name).

    Returns
    -------
    TrainedModel
        The model (eval mode), its history, the training seconds and whether it was loaded.
    """
    path = Path(path)
    label = f"{name}: " if name else ""
    if path.is_file() and not retrain:
        saved = read_checkpoint(path)
        model = rebuild(saved["config"]) if rebuild is not None else build()
        if not same_config or saved["config"] == _model_config(model):
            model.load_state_dict(saved["state_dict"])
            print(f"{label}loaded {path} (set RETRAIN = True or delete the file to train again)")
            history = History(saved["history"]) if saved.get("history") else None
            return TrainedModel(_placed(model, device), history, saved.get("train_seconds"), loaded=True)
        print(f"{label}{path} holds another configuration: training again")
    if seed is not None:
        seed_everything(seed)
    model = build()
    config = _model_config(model)
    start, cpu = time.perf_counter(), time.process_time()
    history = fit(model)
    seconds = time.perf_counter() - start
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    torch.save({"config": config, "state_dict": state, "history": history.state_dict(), "train_seconds": seconds}, path)
    print(f"{label}trained in {seconds:.0f} s ({time.process_time() - cpu:.0f} s CPU); saved {path}")
    return TrainedModel(_placed(model, device), history, seconds, loaded=False)


def _placed(model: nn.Module, device: str | torch.device | None) -> nn.Module:
    return (model.to(device) if device is not None else model).eval()
