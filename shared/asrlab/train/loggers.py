"""Metric sinks: TensorBoard (works offline, ``torch.utils.tensorboard``) and optional Weights & Biases.

Both receive ``log(metrics: dict[str, float], step: int)`` with keys like ``train/loss``, ``val/cer``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Protocol


class MetricLogger(Protocol):
    def log(self, metrics: dict[str, float], step: int) -> None: ...

    def close(self) -> None: ...


class TensorBoardLogger:
    """Scalars to event files in ``log_dir``; view with ``%tensorboard --logdir <log_dir>`` in a notebook."""

    def __init__(self, log_dir: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # tensorboard itself is a separate package
            raise ImportError("TensorBoard logging needs the tensorboard package: pip install tensorboard "
                              "(or leave log_dir=None)") from exc
        self.writer = SummaryWriter(log_dir=str(log_dir))

    def log(self, metrics: dict[str, float], step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()


class WandbLogger:
    """Weights & Biases run; only built when requested, and only if ``wandb`` is installed."""

    def __init__(self, project: str, config: dict[str, Any] | None = None, **init_kwargs: Any) -> None:
        if importlib.util.find_spec("wandb") is None:
            raise ImportError(f"wandb_project={project!r} was given but wandb is not installed; "
                              "pip install wandb, or drop wandb_project to log to TensorBoard only")
        import wandb

        self.run = wandb.init(project=project, config=config, **init_kwargs)

    def log(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def close(self) -> None:
        self.run.finish()
