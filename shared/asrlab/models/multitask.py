"""Multi-task learning on HarperValleyBank: a CTC model plus three utterance-level heads.

The heads read a length-masked mean of the CTC encoder states (one vector per utterance):

* task type -- one of N classes (log-softmax, NLL loss);
* dialog acts -- independent yes/no per act (logits, binary cross-entropy);
* sentiment -- a distribution over (negative, neutral, positive) trained against soft labels
  (cross-entropy with probability targets).

Usage::

    model = MultiTaskCTC(input_dim=128, num_classes=48, blank=0, num_task_types=7, num_dialog_acts=12)
    out = model(feats, feat_lengths)
    out["log_probs"], out["lengths"]                 # (B, T', 48), (B,)  -> CTC loss
    out["task_type"], out["dialog_acts"], out["sentiment"]   # (B, N), (B, D), (B, 3)
    losses = model.heads.losses(out, task_type=..., dialog_acts=..., sentiment=...)
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from asrlab.models.ctc import DEFAULT_CONV_CHANNELS, DEFAULT_DROPOUT, DEFAULT_HIDDEN_DIM, DEFAULT_NUM_LAYERS, CTCModel

NUM_SENTIMENTS = 3  # negative, neutral, positive


def masked_mean(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over the valid frames: (B, T, H), (B,) -> (B, H). Padding frames do not dilute the mean."""
    mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]).to(x.dtype)  # (B, T)
    return (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)


class MultiTaskHeads(nn.Module):
    """Three linear heads on a pooled utterance vector, and their losses.

    Parameters
    ----------
    input_dim : size H of the encoder states.
    num_task_types : N task-type classes.
    num_dialog_acts : D dialog-act labels.
    num_sentiments : sentiment classes (3).
    """

    def __init__(self, input_dim: int, num_task_types: int, num_dialog_acts: int, num_sentiments: int = NUM_SENTIMENTS) -> None:
        super().__init__()
        self.task_type = nn.Linear(input_dim, num_task_types)
        self.dialog_acts = nn.Linear(input_dim, num_dialog_acts)
        self.sentiment = nn.Linear(input_dim, num_sentiments)

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T, H), (B,) -> task_type log-probs (B, N), dialog_acts logits (B, D), sentiment log-probs (B, 3)."""
        pooled = masked_mean(hidden, lengths).float()  # (B, H); heads in float32: tiny, and BCE wants it
        return {
            "task_type": self.task_type(pooled).log_softmax(-1),
            "dialog_acts": self.dialog_acts(pooled),
            "sentiment": self.sentiment(pooled).log_softmax(-1),
        }

    @staticmethod
    def losses(
        outputs: dict[str, torch.Tensor], task_type: torch.Tensor, dialog_acts: torch.Tensor, sentiment: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Per-task mean losses.

        Parameters
        ----------
        outputs : :meth:`forward`'s dict.
        task_type : (B,) int64 class ids.
        dialog_acts : (B, D) float multi-hot targets.
        sentiment : (B, 3) float target probabilities (rows sum to 1).
        """
        return {
            "task_type": F.nll_loss(outputs["task_type"], task_type.long()),
            # with_logits: stable where a sigmoid followed by BCE would saturate to log(0)
            "dialog_acts": F.binary_cross_entropy_with_logits(outputs["dialog_acts"], dialog_acts.float()),
            "sentiment": -(sentiment.float() * outputs["sentiment"]).sum(-1).mean(),
        }

    @staticmethod
    def metrics(
        outputs: dict[str, torch.Tensor], task_type: torch.Tensor, dialog_acts: torch.Tensor, sentiment: torch.Tensor
    ) -> dict[str, float]:
        """Task-type accuracy, dialog-act F1 (micro, threshold 0.5) and sentiment accuracy (argmax vs argmax)."""
        pred_acts = outputs["dialog_acts"] > 0.0  # sigmoid(x) > 0.5
        true_acts = dialog_acts > 0.5
        tp = float((pred_acts & true_acts).sum())
        denom = float(pred_acts.sum() + true_acts.sum())
        return {
            "task_type_acc": float((outputs["task_type"].argmax(-1) == task_type).float().mean()),
            "dialog_acts_f1": 2 * tp / denom if denom else 1.0,
            "sentiment_acc": float((outputs["sentiment"].argmax(-1) == sentiment.argmax(-1)).float().mean()),
        }


class MultiTaskCTC(nn.Module):
    """:class:`~asrlab.models.ctc.CTCModel` with :class:`MultiTaskHeads` on its encoder states.

    Parameters
    ----------
    input_dim, num_classes, blank, encoder, hidden_dim, num_layers, dropout, subsampling, conv_channels :
        as :class:`~asrlab.models.ctc.CTCModel`.
    num_task_types, num_dialog_acts, num_sentiments : head sizes (``dataset.task_type_num_class`` etc.).
    """

    arch = "multitask_ctc"

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        blank: int,
        num_task_types: int,
        num_dialog_acts: int,
        num_sentiments: int = NUM_SENTIMENTS,
        encoder: str = "bilstm",
        hidden_dim: int = DEFAULT_HIDDEN_DIM,
        num_layers: int = DEFAULT_NUM_LAYERS,
        dropout: float = DEFAULT_DROPOUT,
        subsampling: int = 1,
        conv_channels: int = DEFAULT_CONV_CHANNELS,
    ) -> None:
        super().__init__()
        self.ctc = CTCModel(input_dim, num_classes, blank, encoder, hidden_dim, num_layers, dropout, subsampling, conv_channels)
        self.heads = MultiTaskHeads(self.ctc.encoder_dim, num_task_types, num_dialog_acts, num_sentiments)
        self.config: dict[str, Any] = {
            **self.ctc.config, "arch": self.arch, "num_task_types": num_task_types,
            "num_dialog_acts": num_dialog_acts, "num_sentiments": num_sentiments,
        }
        self.blank = blank
        self.num_classes = num_classes

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MultiTaskCTC:
        return cls(**{k: v for k, v in config.items() if k != "arch"})

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T, F), (B,) -> dict with ``log_probs`` (B, T', C), ``lengths`` (B,) and the three head outputs."""
        hidden, out_lengths = self.ctc.encode(feats, lengths)  # (B, T', H)
        log_probs = self.ctc.classifier(hidden).float().log_softmax(-1)  # (B, T', C)
        return {"log_probs": log_probs, "lengths": out_lengths, **self.heads(hidden, out_lengths)}
