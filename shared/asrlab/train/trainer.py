"""One training loop for every model of the course (CTC, RNN-T, multi-task CTC).

Usage::

    from asrlab.models import CTCModel
    from asrlab.train import Trainer, TrainConfig, make_loader, seed_everything

    seed_everything(0)
    model = CTCModel(input_dim=80, num_classes=len(tok), blank=tok.blank, encoder="bilstm")
    trainer = Trainer(model, tok, make_loader(train_set, max_seconds=200.0), make_loader(dev_set, batch_size=16,
                      shuffle=False), TrainConfig(epochs=10, lr=1e-3, checkpoint_dir="ckpt", log_dir="runs"))
    trainer.overfit_batch(steps=100)       # sanity check: the loss of one batch should fall near 0
    history = trainer.fit()                # tqdm bars, TensorBoard, checkpoints each epoch
    trainer.evaluate(test_loader, decoder="beam")        # or a decoder object, e.g. BeamDecoder(..., lm=lm)
    plot_history(history)

    trainer.load_checkpoint("ckpt/last.pt"); trainer.fit()    # resume exactly where it stopped

What a step does: features on the device (:class:`~asrlab.train.frontend.FeatureFrontend`), forward and
loss under autocast (:mod:`~asrlab.train.precision`), scaled backward, gradient clipping, optimizer
and scheduler step. The objective (:mod:`~asrlab.train.objectives`) is the only model-specific part.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from asrlab.features import LogMel
from asrlab.metrics import char_errors, word_errors
from asrlab.models.checkpoint import model_checkpoint
from asrlab.train.frontend import FeatureFrontend
from asrlab.train.history import History
from asrlab.train.loggers import MetricLogger, TensorBoardLogger, WandbLogger
from asrlab.decoding.strategies import Decoder, make_decoder
from asrlab.train.objectives import DEFAULT_BEAM_SIZE, Objective, objective_for
from asrlab.train.precision import resolve_precision
from asrlab.train.schedulers import make_scheduler
from asrlab.train.seed import rng_state, seed_everything, set_rng_state

LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
OVERFIT_STEPS = 200


@dataclass
class TrainConfig:
    """Hyper-parameters and switches of a training run (plain values: stored in checkpoints).

    Attributes
    ----------
    epochs : passes over the training loader.
    max_steps : stop after this many optimizer steps (also sets the schedule length); None: epochs only.
    lr, weight_decay : AdamW settings (lr is OneCycle's peak).
    scheduler : ``"onecycle"``, ``"warmup_linear"`` or ``"constant"``; warmup_steps, final_lr_ratio for warmup_linear.
    grad_clip : max global gradient norm (None: no clipping).
    precision : ``"auto"`` (bf16/fp16 autocast on GPU, fp32 on CPU), ``"fp32"``, ``"bf16"``, ``"fp16"``.
    seed : seeds Python, numpy and torch at construction; also seeds batch shuffling per epoch.
    decode, beam_size : evaluation decoding: ``"greedy"``, ``"beam"`` (with ``beam_size``) or a decoder
        object (:mod:`asrlab.decoding.strategies`, e.g. a ``BeamDecoder`` with an LM).
    eval_every : also evaluate every this many steps (None: after each epoch only).
    max_eval_batches : evaluate on the first N validation batches only (None: all).
    log_every : steps per averaged training-loss record.
    checkpoint_dir : write ``last.pt`` each epoch and ``best.pt`` at the best validation CER.
    log_dir : TensorBoard event directory (None: no TensorBoard).
    wandb_project : log to Weights & Biases too (needs ``pip install wandb``).
    progress : tqdm progress bars.
    """

    epochs: int = 10
    max_steps: int | None = None
    lr: float = 1e-3
    weight_decay: float = 0.0
    scheduler: str = "onecycle"
    warmup_steps: int = 0
    final_lr_ratio: float = 0.0
    grad_clip: float | None = 1.0
    precision: str = "auto"
    seed: int = 0
    decode: Any = "greedy"
    beam_size: int = DEFAULT_BEAM_SIZE
    eval_every: int | None = None
    max_eval_batches: int | None = None
    log_every: int = 10
    checkpoint_dir: str | None = None
    log_dir: str | None = None
    wandb_project: str | None = None
    progress: bool = True


@dataclass
class EvalResult:
    """Corpus-level metrics of one evaluation and the per-utterance (reference, hypothesis) pairs."""

    metrics: dict[str, float]
    references: list[str] = field(default_factory=list)
    hypotheses: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> float:
        return self.metrics[key]


def _progress(iterable: Any, enabled: bool, **kwargs: Any) -> Any:
    if not enabled:
        return iterable
    from tqdm.auto import tqdm  # notebook widget in Jupyter/Colab, text bar in a terminal

    return tqdm(iterable, **kwargs)


class Trainer:
    """Train and evaluate an asrlab model.

    Parameters
    ----------
    model : :class:`~asrlab.models.CTCModel`, :class:`~asrlab.models.RNNTModel`,
        :class:`~asrlab.models.MultiTaskCTC` (or any model its ``objective`` understands).
    tokenizer : ``encode``/``decode``/``blank``/``symbols`` (:class:`asrlab.text.CharTokenizer`, ``HVBVocab``).
    train_loader : batches of dicts (:func:`~asrlab.train.data.make_loader`).
    val_loader : evaluated after every epoch (optional).
    config : :class:`TrainConfig`.
    objective : default: chosen from ``model.config["arch"]``.
    frontend : default ``FeatureFrontend(LogMel())`` (16 kHz, 80 mels, per-utterance normalization);
        for HarperValleyBank pass ``FeatureFrontend(LogMel(**HVB_FEATURES))``.
    device : default CUDA when available.
    optimizer : default AdamW(lr, weight_decay).
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        train_loader: DataLoader,
        val_loader: DataLoader | None = None,
        config: TrainConfig | None = None,
        objective: Objective | None = None,
        frontend: FeatureFrontend | None = None,
        device: str | torch.device | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> None:
        self.config = config = config or TrainConfig()
        seed_everything(config.seed)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device)
        self.tokenizer = tokenizer
        self.objective = objective or objective_for(model)
        self.objective.check(model, tokenizer)
        self.decoder = self._decoder(config.decode, config.beam_size)
        self.frontend = (frontend or FeatureFrontend(LogMel())).to(self.device)
        feature_dim, input_dim = self.frontend.feature_dim, getattr(model, "config", {}).get("input_dim")
        if feature_dim is not None and input_dim is not None and feature_dim != input_dim:
            raise ValueError(f"the front end makes {feature_dim}-dim features but the model expects input_dim={input_dim}; "
                             "make LogMel(n_mels=...) and the model's input_dim agree")
        self.train_loader, self.val_loader = train_loader, val_loader
        self.precision = resolve_precision(config.precision, self.device)
        self.optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.total_steps = config.max_steps or config.epochs * len(train_loader)
        self.scheduler = make_scheduler(self.optimizer, config.scheduler, self.total_steps,
                                        config.warmup_steps, config.final_lr_ratio)
        self.scaler = self.precision.make_scaler()
        self.history = History()
        self.step = 0  # optimizer steps taken
        self.epoch = 0  # completed epochs
        self.batch_in_epoch = 0  # batches of the current epoch already trained on (for mid-epoch resume)
        self.best_cer = math.inf
        self._resume_rng: dict[str, Any] | None = None
        self._stop_at: int | None = None  # fit(steps=...) limit of the current call
        self._batches: Iterator[Mapping[str, Any]] | None = None  # the current epoch's batches, kept between fit() calls
        self._loggers: list[MetricLogger] = []

    # ------------------------------------------------------------------ one step
    def train_step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """Forward, backward, clip, optimizer and scheduler step on one batch; returns its stats."""
        self.model.train()
        self.frontend.train()
        feats, lengths = self.frontend(batch, self.device)  # (B, T, F), (B,)
        with self.precision.autocast():
            loss, stats = self.objective.loss(self.model, feats, lengths, batch)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            lr = self.optimizer.param_groups[0]["lr"]
            raise FloatingPointError(
                f"the training loss is {loss_value} at step {self.step} (lr={lr:.3g}): training diverged. "
                f"Lower the learning rate (e.g. lr={self.config.lr / 3:.2g}), keep grad_clip on (now "
                f"{self.config.grad_clip}), and check the features for NaN; then resume from the last checkpoint"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the fp16-scaled ones
            stats["grad_norm"] = float(nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.step < self.total_steps:  # past the planned length (extra steps) the lr stays at its final value
            self.scheduler.step()
        self.step += 1
        return {"loss": loss_value, "lr": self.optimizer.param_groups[0]["lr"], **stats}

    # ------------------------------------------------------------------ the loop
    def fit(self, steps: int | None = None) -> History:
        """Train until ``config.epochs`` epochs (or ``max_steps`` steps) are done; returns the history.

        Parameters
        ----------
        steps : stop after this many more optimizer steps in this call (the schedule is unchanged), e.g.
            to train in slices between notebook cells; None: run to the end.

        Calling ``fit`` again (or after :meth:`load_checkpoint`) continues from the current step: the same
        batches in the same order with the same random state, as if never interrupted.
        """
        cfg = self.config
        self._stop_at = None if steps is None else self.step + steps
        if not self._loggers:  # kept open across fit(steps=...) slices: one TensorBoard/W&B run per training
            self._open_loggers()
        window: list[float] = []
        try:
            while self.epoch < cfg.epochs and not self._done():
                if self._batches is None:
                    self._batches = self._epoch_batches()
                bar = _progress(self._batches, cfg.progress, total=len(self.train_loader), initial=self.batch_in_epoch,
                                desc=f"epoch {self.epoch + 1}/{cfg.epochs}", leave=False)
                for batch in bar:
                    stats = self.train_step(batch)
                    self.batch_in_epoch += 1
                    window.append(stats["loss"])
                    if len(window) == cfg.log_every:
                        self._record("train", loss=sum(window) / len(window), lr=stats["lr"])
                        window.clear()
                    if cfg.progress:
                        bar.set_postfix(loss=f"{stats['loss']:.3f}", lr=f"{stats['lr']:.2e}")
                    if cfg.eval_every and self.step % cfg.eval_every == 0:
                        self._validate()
                    if self._done():
                        break
                if cfg.progress:
                    bar.close()
                epoch_finished = self.batch_in_epoch >= len(self.train_loader)
                if epoch_finished:
                    self.epoch += 1
                    self.batch_in_epoch = 0
                    self._batches = None
                training_finished = self.epoch >= cfg.epochs or (cfg.max_steps is not None and self.step >= cfg.max_steps)
                if epoch_finished or training_finished:
                    self._validate()
                    if cfg.checkpoint_dir:
                        self.save_checkpoint(Path(cfg.checkpoint_dir) / LAST_CHECKPOINT)
        except BaseException:  # an error or a notebook interrupt: flush what was logged
            self._close_loggers()
            raise
        if self.epoch >= cfg.epochs or (cfg.max_steps is not None and self.step >= cfg.max_steps):
            self._close_loggers()
        return self.history

    def _done(self) -> bool:
        limits = [n for n in (self.config.max_steps, self._stop_at) if n is not None]
        return any(self.step >= n for n in limits)

    def _epoch_batches(self) -> Iterator[Mapping[str, Any]]:
        """This epoch's batches, skipping those a resumed run already trained on.

        Creating a DataLoader iterator draws a seed from torch's global RNG, and a resumed run creates
        it at a different moment than the original run did. So the RNG state is put back after the
        iterator exists (the checkpoint's state when resuming), and dropout/SpecAugment see the same
        random stream either way.
        """
        state = self._resume_rng if self._resume_rng is not None else rng_state()
        self._resume_rng = None
        sampler = getattr(self.train_loader, "batch_sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)  # a new shuffle per epoch (the sampler's own seed is the base)
        iterator = iter(self.train_loader)
        for _ in range(self.batch_in_epoch):
            next(iterator)
        set_rng_state(state)
        yield from iterator

    def _record(self, split: str, **metrics: float) -> None:
        self.history.add(split, self.step, self.epoch, **metrics)
        for logger in self._loggers:
            logger.log({f"{split}/{k}": v for k, v in metrics.items()}, self.step)

    def _validate(self) -> None:
        if self.val_loader is None:
            return
        result = self.evaluate(self.val_loader, max_batches=self.config.max_eval_batches)
        self._record("val", **result.metrics)
        if self.config.checkpoint_dir and result.metrics.get("cer", math.inf) < self.best_cer:
            self.best_cer = result.metrics["cer"]
            self.save_checkpoint(Path(self.config.checkpoint_dir) / BEST_CHECKPOINT)

    def _open_loggers(self) -> None:
        if self.config.log_dir:
            self._loggers.append(TensorBoardLogger(self.config.log_dir))
        if self.config.wandb_project:
            self._loggers.append(WandbLogger(self.config.wandb_project, {**asdict(self.config), **self.model.config}))

    def _close_loggers(self) -> None:
        for logger in self._loggers:
            logger.close()
        self._loggers.clear()

    # ------------------------------------------------------------------ evaluation
    def _decoder(self, decoder: str | Decoder, beam_size: int) -> Decoder:
        blank = getattr(self.tokenizer, "blank", getattr(self.model, "blank", None))
        return make_decoder(decoder, blank=blank, symbols=getattr(self.tokenizer, "symbols", ()), beam_size=beam_size)

    @torch.no_grad()
    def evaluate(self, loader: DataLoader, decoder: str | Decoder | None = None, beam_size: int | None = None,
                 max_batches: int | None = None) -> EvalResult:
        """Mean loss, corpus CER and WER (:mod:`asrlab.metrics`) over ``loader``.

        References are the decoded target tokens (what the model can spell); hypotheses come from
        ``decoder`` (a name, ``"greedy"`` or ``"beam"``, or a decoder object; default: ``config.decode``).
        Per-utterance pairs are in the result.
        """
        decode = self.decoder if decoder is None and beam_size is None else \
            self._decoder(decoder or self.config.decode, beam_size or self.config.beam_size)
        saved_rng = rng_state()  # evaluating must not shift the training run's random stream
        self.model.eval()
        self.frontend.eval()
        totals: dict[str, float] = {}
        num_batches = 0
        refs: list[str] = []
        hyps: list[str] = []
        start = time.perf_counter()
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            feats, lengths = self.frontend(batch, self.device)
            with self.precision.autocast():
                loss, stats = self.objective.loss(self.model, feats, lengths, batch)
                ids = decode(self.objective.outputs(self.model, feats, lengths))
            for key, value in {"loss": float(loss), **stats}.items():
                totals[key] = totals.get(key, 0.0) + value
            num_batches += 1
            for b, hyp in enumerate(ids):
                length = int(batch["token_lengths"][b])
                refs.append(self.tokenizer.decode(batch["tokens"][b, :length].tolist()))
                hyps.append(self.tokenizer.decode(hyp))
        set_rng_state(saved_rng)
        if num_batches == 0:
            raise ValueError("the evaluation loader yielded no batches")
        metrics = {key: value / num_batches for key, value in totals.items()}
        metrics["cer"] = char_errors(refs, hyps).rate
        metrics["wer"] = word_errors(refs, hyps).rate
        metrics["seconds"] = time.perf_counter() - start
        return EvalResult(metrics, refs, hyps)

    # ------------------------------------------------------------------ sanity check
    def overfit_batch(self, batch: Mapping[str, Any] | None = None, steps: int = OVERFIT_STEPS,
                      lr: float | None = None) -> list[float]:
        """Train a copy-free sanity check: ``steps`` updates on one batch; returns the loss per step.

        A correct model and loss drive the loss of a single batch close to 0. If it stalls, something
        is wrong before any hyper-parameter matters (labels, blank index, lengths, features). Uses its
        own Adam optimizer at constant ``lr`` (default ``config.lr``) and no SpecAugment; the model's
        weights *are* changed, so rebuild (or reload) the model before real training.
        """
        batch = batch if batch is not None else next(iter(self.train_loader))
        optimizer = torch.optim.Adam(self.model.parameters(), lr=lr or self.config.lr)
        self.model.train()  # cuDNN RNNs only run backward in training mode
        self.frontend.eval()  # no SpecAugment: the batch must stay the same
        feats, lengths = self.frontend(batch, self.device)
        losses = []
        for _ in _progress(range(steps), self.config.progress, desc="overfit one batch", leave=False):
            with self.precision.autocast():
                loss, _ = self.objective.loss(self.model, feats, lengths, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {float(loss)} while overfitting one batch; lower lr (now {lr or self.config.lr})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            optimizer.step()
            losses.append(float(loss.detach()))
        return losses

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path: str | Path) -> Path:
        """Write model ``{"config", "state_dict"}`` plus ``"train_state"`` (optimizer, scheduler, scaler,
        step, epoch, history, RNG states). Everything is plain data: ``torch.load(weights_only=True)`` works,
        and :func:`asrlab.models.load_model` reads the model part."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint = model_checkpoint(self.model)
        checkpoint["train_state"] = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "best_cer": self.best_cer,
            "history": self.history.state_dict(),
            "rng": rng_state(),
            "train_config": asdict(self.config),
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(checkpoint, tmp)
        tmp.replace(path)  # atomic: a crash while saving never leaves a truncated checkpoint
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a :meth:`save_checkpoint` file; the next :meth:`fit` continues from its step."""
        checkpoint = torch.load(path, map_location=self.device, weights_only=True)
        if checkpoint.get("config") != self.model.config:
            raise ValueError(f"{path} holds a model with config {checkpoint.get('config')}, but this trainer's model has "
                             f"{self.model.config}; build the model with CTCModel.from_config(checkpoint['config'])")
        self.model.load_state_dict(checkpoint["state_dict"])
        state = checkpoint.get("train_state")
        if state is None:
            raise ValueError(f"{path} is a model-only checkpoint (no optimizer/step state); it can be used for "
                             "evaluation with asrlab.models.load_model, but not to resume training")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        self.best_cer = state["best_cer"]
        self.history.load_state_dict(state["history"])
        self._resume_rng = state["rng"]
        self._batches = None
