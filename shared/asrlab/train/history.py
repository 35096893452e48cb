"""The record of a training run (loss, CER, WER, learning rate per step) and its plot.

Usage::

    history = trainer.fit()
    history.last("val", "cer")            # latest validation CER
    plot_history(history)                 # loss and CER curves inline in a notebook
    print_history(history)                # one line per epoch: validation loss, CER, WER
    plot_histories({"lstm": h1, "bilstm": h2})   # several runs compared
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

SPLITS = ("train", "val")


@dataclass
class History:
    """A list of records ``{"split": "train" | "val", "step": int, "epoch": int, <metric>: float, ...}``.

    Records are plain dicts of str/int/float, so a history is saved inside training checkpoints.
    """

    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, split: str, step: int, epoch: int, **metrics: float) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.records.append({"split": split, "step": int(step), "epoch": int(epoch),
                             **{k: float(v) for k, v in metrics.items()}})

    def series(self, split: str, metric: str) -> tuple[list[int], list[float]]:
        """(steps, values) of ``metric`` in ``split`` records that have it."""
        rows = [r for r in self.records if r["split"] == split and metric in r]
        return [r["step"] for r in rows], [r[metric] for r in rows]

    def last(self, split: str, metric: str) -> float | None:
        """Most recent value of ``metric`` in ``split`` (None if never recorded)."""
        _, values = self.series(split, metric)
        return values[-1] if values else None

    def state_dict(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.records]

    def load_state_dict(self, records: list[dict[str, Any]]) -> None:
        self.records = [dict(r) for r in records]

    def __len__(self) -> int:
        return len(self.records)


def plot_history(history: History, metric: str = "cer", show: bool = True) -> Any:
    """Plot training/validation loss and validation ``metric`` (CER by default) against the step.

    In a notebook the figure appears inline; returns the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(11, 3.8))
    for split, style in (("train", "-"), ("val", "o-")):
        steps, values = history.series(split, "loss")
        if steps:
            ax_loss.plot(steps, values, style, label=split, alpha=0.8 if split == "train" else 1.0)
    ax_loss.set(xlabel="step", ylabel="loss", title="loss")
    ax_loss.legend()
    for name in (metric, "wer") if metric != "wer" else (metric,):
        steps, values = history.series("val", name)
        if steps:
            ax_metric.plot(steps, values, "o-", label=f"val {name.upper()}")
    ax_metric.set(xlabel="step", ylabel="error rate", title=f"validation {metric.upper()}")
    ax_metric.set_ylim(bottom=0.0)
    ax_metric.legend()
    fig.tight_layout()
    if show:
        plt.show()
    return fig


DEFAULT_COLUMNS = {"loss": "loss", "CER": "cer", "WER": "wer"}


def print_history(history: History, columns: Mapping[str, str] | None = None, split: str = "val",
                  prefix: str = "  ") -> None:
    """Print one line per ``split`` record: its epoch and the ``columns`` it has.

    Parameters
    ----------
    history : the run's record.
    columns : printed label -> record key, e.g. ``{"task type acc": "task_type_acc"}``; default loss, CER, WER.
    split : ``"val"`` (one record per epoch) or ``"train"`` (one per logged step).
    prefix : put before every line (e.g. the model's name).
    """
    columns = DEFAULT_COLUMNS if columns is None else columns
    for row in history.records:
        if row["split"] == split:
            values = "  ".join(f"{label} {row[key]:.3f}" for label, key in columns.items() if key in row)
            print(f"{prefix}epoch {row['epoch']:2d}  {values}".rstrip())


def plot_histories(histories: Mapping[str, History], metric: str = "wer", show: bool = True) -> Any:
    """Compare runs: the training loss of each against the step (log scale) and its validation ``metric``
    against the epoch, one line per run, labelled by the mapping's keys. Returns the ``Figure``."""
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(13, 4))
    for name, history in histories.items():
        steps, losses = history.series("train", "loss")
        ax_loss.plot(steps, losses, label=name)
        rows = [r for r in history.records if r["split"] == "val" and metric in r]
        ax_metric.plot([r["epoch"] for r in rows], [r[metric] for r in rows], "o-", label=name)
    ax_loss.set(xlabel="optimizer step", ylabel="loss (train)", yscale="log", title="training loss")
    ax_metric.set(xlabel="epoch", ylabel=f"validation {metric.upper()}", ylim=(0, 1.05),
                  title=f"validation {metric.upper()} (greedy)")
    ax_loss.legend()
    ax_metric.legend()
    fig.tight_layout()
    if show:
        plt.show()
    return fig
