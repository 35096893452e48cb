"""What differs between model kinds: how a batch becomes a loss, and how outputs become token ids.

An objective is a small object with three methods, so one :class:`~asrlab.train.Trainer` loop trains
every model of the course:

* ``check(model, tokenizer)`` -- catch configuration mistakes (blank index, vocabulary size) before step 1;
* ``loss(model, feats, lengths, batch) -> (loss, stats)`` -- a scalar to minimize and floats to log;
* ``outputs(model, feats, lengths)`` -- what a decoder reads (:mod:`asrlab.decoding.strategies`):
  :class:`~asrlab.decoding.CTCOutputs` or :class:`~asrlab.decoding.TransducerOutputs`.

Decoding itself is the decoder's job (``GreedyDecoder``, ``BeamDecoder``): the trainer calls
``decoder(objective.outputs(model, feats, lengths))``.

Objectives: :class:`CTCObjective` (:class:`~asrlab.models.CTCModel`), :class:`RNNTObjective`
(:class:`~asrlab.models.RNNTModel`), :class:`MultiTaskObjective` (:class:`~asrlab.models.MultiTaskCTC`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import torch
from torch import nn

from asrlab.ctc.loss import ctc_loss
from asrlab.decoding.strategies import CTCOutputs, ModelOutputs, TransducerOutputs
from asrlab.models.ctc import check_lengths
from asrlab.models.multitask import MultiTaskHeads
from asrlab.rnnt.loss import rnnt_loss

DEFAULT_BEAM_SIZE = 8
AUX_TASKS = ("task_type", "dialog_acts", "sentiment")


class Objective(Protocol):
    name: str

    def check(self, model: nn.Module, tokenizer: Any) -> None: ...

    def loss(self, model: nn.Module, feats: torch.Tensor, lengths: torch.Tensor,
             batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]: ...

    def outputs(self, model: nn.Module, feats: torch.Tensor, lengths: torch.Tensor) -> ModelOutputs: ...


def check_blank(model: nn.Module, tokenizer: Any) -> None:
    """The model's blank and class count must match the tokenizer's, or the loss trains the wrong symbol."""
    blank, classes = getattr(model, "blank", None), getattr(model, "num_classes", None)
    tok_blank = getattr(tokenizer, "blank", None)
    if tok_blank is not None and blank is not None and blank != tok_blank:
        raise ValueError(
            f"blank index mismatch: the model's loss uses blank={blank} but {type(tokenizer).__name__} has "
            f"blank={tok_blank}; build the model with blank=tokenizer.blank"
        )
    if classes is not None and classes != len(tokenizer):
        raise ValueError(
            f"the model has {classes} output classes but {type(tokenizer).__name__} has {len(tokenizer)} symbols; "
            "build the model with num_classes=len(tokenizer)"
        )


def targets(batch: Mapping[str, Any], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) padded token ids and (B,) lengths of a batch, on ``device``."""
    if "tokens" not in batch:
        raise KeyError("the batch has no 'tokens'; give the dataset a tokenizer (e.g. LibriSpeech(..., tokenizer=CharTokenizer()))")
    tokens = batch["tokens"].to(device, non_blocking=True).long()
    token_lengths = batch.get("token_lengths")
    if token_lengths is None:
        token_lengths = torch.full((tokens.shape[0],), tokens.shape[1], dtype=torch.long)
    return tokens, token_lengths.to(device).long()


def ctc_from_log_probs(
    log_probs: torch.Tensor, out_lengths: torch.Tensor, feat_lengths: torch.Tensor, tokens: torch.Tensor,
    token_lengths: torch.Tensor, blank: int,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean CTC loss of (B, T', C) log-probs, with the length guards every CTC model needs."""
    check_lengths("the CTC model", out_lengths, feat_lengths, log_probs.shape[1])
    feasible = out_lengths.cpu() >= token_lengths.cpu()
    if not bool(feasible.any()):
        raise ValueError(
            f"every utterance in the batch has fewer output frames ({out_lengths.tolist()}) than labels "
            f"({token_lengths.tolist()}); CTC needs at least one frame per label: reduce the subsampling factor"
        )
    # zero_infinity: a rare utterance too short for its transcript must not turn the whole batch into inf/NaN.
    loss = ctc_loss(log_probs.transpose(0, 1), tokens, out_lengths, token_lengths, blank=blank,
                    reduction="mean", zero_infinity=True)
    return loss, {"infeasible": float((~feasible).sum())}


class CTCObjective:
    """CTC loss (:func:`asrlab.ctc.ctc_loss`) for models returning ``(log_probs (B, T', C), lengths)``."""

    name = "ctc"

    def check(self, model: nn.Module, tokenizer: Any) -> None:
        check_blank(model, tokenizer)

    def loss(self, model: nn.Module, feats: torch.Tensor, lengths: torch.Tensor,
             batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        log_probs, out_lengths = model(feats, lengths)  # (B, T', C), (B,)
        tokens, token_lengths = targets(batch, feats.device)
        return ctc_from_log_probs(log_probs, out_lengths, lengths, tokens, token_lengths, model.blank)

    def outputs(self, model: nn.Module, feats: torch.Tensor, lengths: torch.Tensor) -> CTCOutputs:
        log_probs, out_lengths = model(feats, lengths)  # (B, T', C), (B,)
        return CTCOutputs(log_probs, out_lengths)


class RNNTObjective:
    """RNN-T loss (:func:`asrlab.rnnt.rnnt_loss`, mean over the batch) for :class:`~asrlab.models.RNNTModel`.

    Decoders read the encoder output with the model's ``predictor`` and ``joiner``.
    """

    name = "rnnt"

    def check(self, model: nn.Module, tokenizer: Any) -> None:
        check_blank(model, tokenizer)

    def loss(self, model: nn.Module, feats: torch.Tensor, lengths: torch.Tensor,
             batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        tokens, token_lengths = targets(batch, feats.device)
        enc, enc_lengths = model.encoder(feats, lengths)  # (B, T', D)
        check_lengths("the RNN-T encoder", enc_lengths, lengths, enc.shape[1])
        # rnnt_loss wants the lattice trimmed to the longest utterance and transcript of the batch.
        enc = enc[:, : int(enc_lengths.max())]
        tokens = tokens[:, : int(token_lengths.max())]
        pred = model.predictor(tokens)  # (B, U+1, D)
        logits = model.joiner(enc[:, :, None], pred[:, None])  # (B, T', U+1, V)
        loss = rnnt_loss(logits.float(), tokens, enc_lengths, token_lengths, blank=model.blank, reduction="mean")
        return loss, {}

    def outputs(self, model: nn.Module, feats: torch.Tensor, lengths: torch.Tensor) -> TransducerOutputs:
        enc, enc_lengths = model.encoder(feats, lengths)  # (B, T', D), (B,)
        return TransducerOutputs(enc, enc_lengths, model.predictor, model.joiner)


class MultiTaskObjective:
    """Weighted sum of the CTC loss and the three HarperValleyBank head losses.

    Parameters
    ----------
    weights : per-task weights; keys ``asr``, ``task_type``, ``dialog_acts``, ``sentiment`` (missing: 1.0).
        A weight of 0 turns a head off; the HarperValleyBank assignment asks students to tune these.
    """

    name = "multitask"

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        weights = dict(weights or {})
        unknown = set(weights) - {"asr", *AUX_TASKS}
        if unknown:
            raise ValueError(f"unknown task weight(s) {sorted(unknown)}; use asr, {', '.join(AUX_TASKS)}")
        self.weights = {task: float(weights.get(task, 1.0)) for task in ("asr", *AUX_TASKS)}

    def check(self, model: nn.Module, tokenizer: Any) -> None:
        check_blank(model, tokenizer)
        if not isinstance(getattr(model, "heads", None), MultiTaskHeads):
            raise TypeError(f"MultiTaskObjective needs a model with MultiTaskHeads (MultiTaskCTC), got {type(model).__name__}")

    def loss(self, model: nn.Module, feats: torch.Tensor, lengths: torch.Tensor,
             batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        missing = [task for task in AUX_TASKS if task not in batch]
        if missing:
            raise KeyError(f"the batch lacks {missing}; use HarperValleyBankMTL items for multi-task training")
        out = model(feats, lengths)
        tokens, token_lengths = targets(batch, feats.device)
        asr, stats = ctc_from_log_probs(out["log_probs"], out["lengths"], lengths, tokens, token_lengths, model.blank)
        labels = {task: batch[task].to(feats.device) for task in AUX_TASKS}
        losses = {"asr": asr, **MultiTaskHeads.losses(out, **labels)}
        total = sum(self.weights[task] * value for task, value in losses.items())
        stats.update({f"{task}_loss": float(value.detach()) for task, value in losses.items()})
        stats.update(MultiTaskHeads.metrics(out, **labels))
        return total, stats

    def outputs(self, model: nn.Module, feats: torch.Tensor, lengths: torch.Tensor) -> CTCOutputs:
        out = model(feats, lengths)
        return CTCOutputs(out["log_probs"], out["lengths"])


def objective_for(model: nn.Module) -> Objective:
    """The default objective of an asrlab model, from its ``config["arch"]``."""
    arch = getattr(model, "config", {}).get("arch")
    if arch == "ctc":
        return CTCObjective()
    if arch == "rnnt":
        return RNNTObjective()
    if arch == "multitask_ctc":
        return MultiTaskObjective()
    raise ValueError(f"no default objective for {type(model).__name__} (arch={arch!r}); pass objective= explicitly")
