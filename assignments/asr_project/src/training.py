"""Training run behind train.py: data, tokenizer, model, the loop with TensorBoard logs, LM and checkpoint.

The optimizer step, schedule and evaluation come from ``asrlab.train.Trainer`` (``train_step``/``evaluate``);
this module owns the loop so that it can log what the project needs:

    train/loss, train/lr, train/grad_norm        every step
    val/loss, val/cer, val/wer                   after every epoch
    spectrogram/<i>, audio/<i>, text/<i>         dev samples after every epoch (image, audio, reference/hypothesis)
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from asrlab import course
from asrlab.data import LibriSpeech
from asrlab.features import LogMel
from asrlab.train import FeatureFrontend, TrainConfig, Trainer, make_loader, seed_everything
from torch.utils.data import Dataset

from src.augment import augment
from src.decoding import greedy_decode
from src.model import LM_FILE, build_model, build_tokenizer, save_checkpoint


class AugmentedDataset(Dataset):
    """Items of ``base`` (asrlab dicts with ``waveform``) with :func:`src.augment.augment` applied."""

    def __init__(self, base: Any, names: list[str], p: float, sample_rate: int) -> None:
        self.base, self.names, self.p, self.sample_rate = base, list(names), float(p), sample_rate

    def __len__(self) -> int:
        return len(self.base)

    def durations(self) -> list[float]:
        return self.base.durations()

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.base[index])
        if self.names and self.p > 0:
            item["waveform"] = augment(item["waveform"], self.sample_rate, self.names, self.p)
        return item


def corpus_root(cfg: Any) -> Path:
    """The training corpus: ``data.root`` or the course corpus of the current budget."""
    if cfg.data.root:
        return Path(cfg.data.root)
    return course.librispeech(progress=False, budget_name=cfg.budget)


def _device(name: str) -> str:
    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _log_samples(writer: Any, trainer: Trainer, batch: Mapping[str, Any], cfg: Any, step: int) -> None:
    """Spectrogram, audio and reference/greedy hypothesis of the first dev utterances."""
    trainer.model.eval()
    trainer.frontend.eval()
    with torch.no_grad():
        feats, lengths = trainer.frontend(batch, trainer.device)  # (B, T, F)
        log_probs, out_lengths = trainer.model(feats, lengths)
    for i in range(min(int(cfg.trainer.samples), feats.shape[0])):
        image = feats[i, : int(lengths[i])].T.flip(0).cpu()  # (F, T), low frequencies at the bottom
        image = (image - image.min()) / (image.max() - image.min() + 1e-8)
        writer.add_image(f"spectrogram/{i}", image[None], step)
        n = int(batch["waveform_lengths"][i])
        writer.add_audio(f"audio/{i}", batch["waveform"][i, :n].clamp(-1, 1)[None], step,
                         sample_rate=int(cfg.sample_rate))
        hyp = trainer.tokenizer.decode(greedy_decode(log_probs[i, : int(out_lengths[i])], trainer.tokenizer.blank))
        writer.add_text(f"text/{i}", f"reference: {batch['text'][i]}  \nhypothesis: {hyp}", step)


def _validate(writer: Any, trainer: Trainer, dev_loader: Any, sample_batch: Mapping[str, Any], cfg: Any) -> dict:
    result = trainer.evaluate(dev_loader, decoder="greedy", max_batches=cfg.trainer.max_eval_batches)
    for key in ("loss", "cer", "wer"):
        writer.add_scalar(f"val/{key}", result.metrics[key], trainer.step)
    _log_samples(writer, trainer, sample_batch, cfg, trainer.step)
    return result.metrics


def write_lm(texts: list[str], order: int, folder: Path) -> str | None:
    """A Kneser-Ney word LM of ``order`` on the normalized ``texts``, written to ``folder/lm.arpa``."""
    if order <= 0:
        return None
    from asrlab.lm import estimate_kneser_ney
    from asrlab.text import normalize_transcript

    estimate_kneser_ney([normalize_transcript(t) for t in texts], order=order).to_arpa(folder / LM_FILE)
    return LM_FILE


def checkpoint_config(cfg: Any, lm_file: str | None) -> dict[str, Any]:
    """The plain-value config.json of the checkpoint."""
    from omegaconf import OmegaConf

    return {"kind": cfg.model.kind, "tokenizer": cfg.tokenizer, "lm": lm_file, "sample_rate": int(cfg.sample_rate),
            "model": OmegaConf.to_container(cfg.model, resolve=True),
            "decoder": {k: v for k, v in OmegaConf.to_container(cfg.decoder, resolve=True).items() if k != "name"},
            "budget": cfg.budget}


def run(cfg: Any) -> dict[str, Any]:
    """Train as ``cfg`` says; writes ``cfg.checkpoint_dir`` and ``cfg.log_dir``. Returns a summary
    (first and last training loss, steps, seconds, final dev metrics)."""
    from torch.utils.tensorboard import SummaryWriter

    start = time.perf_counter()
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    seed_everything(int(cfg.seed))
    ckpt = Path(cfg.checkpoint_dir)
    ckpt.mkdir(parents=True, exist_ok=True)
    root = corpus_root(cfg)
    train_texts = LibriSpeech(root, cfg.data.train_split).texts()
    tokenizer = build_tokenizer(cfg.tokenizer, ckpt, train_texts if cfg.tokenizer == "bpe" else None,
                                int(cfg.bpe_vocab_size))
    train_set = AugmentedDataset(LibriSpeech(root, cfg.data.train_split, tokenizer=tokenizer),
                                 list(cfg.augment.names), float(cfg.augment.p), int(cfg.sample_rate))
    dev_set = LibriSpeech(root, cfg.data.dev_split, tokenizer=tokenizer)
    train_loader = make_loader(train_set, max_seconds=float(cfg.data.max_seconds), seed=int(cfg.seed))
    dev_loader = make_loader(dev_set, batch_size=16, shuffle=False)
    sample_batch = next(iter(make_loader(dev_set, batch_size=max(1, int(cfg.trainer.samples)), shuffle=False,
                                         bucketing=False)))
    epochs = int(cfg.trainer.epochs)
    if cfg.data.overfit_batch:  # one epoch of the same batch, max_steps (else epochs) times
        batch = next(iter(make_loader(LibriSpeech(root, cfg.data.train_split, tokenizer=tokenizer), batch_size=4,
                                      shuffle=False, bucketing=False)))
        train_loader, epochs = [batch] * int(cfg.trainer.max_steps or epochs), 1
    model = build_model(cfg.model, num_classes=len(tokenizer), blank=tokenizer.blank)
    config = TrainConfig(epochs=epochs, max_steps=cfg.trainer.max_steps, lr=float(cfg.trainer.lr),
                         grad_clip=float(cfg.trainer.grad_clip), scheduler="onecycle", seed=int(cfg.seed),
                         progress=False)
    trainer = Trainer(model, tokenizer, train_loader, dev_loader, config,
                      frontend=FeatureFrontend(LogMel(n_mels=int(cfg.model.n_mels))), device=_device(cfg.device))
    writer = SummaryWriter(log_dir=str(cfg.log_dir))
    losses: list[float] = []
    metrics: dict[str, float] = {}
    max_steps = cfg.trainer.max_steps or math.inf
    try:
        for epoch in range(epochs):
            if hasattr(getattr(train_loader, "batch_sampler", None), "set_epoch"):
                train_loader.batch_sampler.set_epoch(epoch)
            for batch in train_loader:
                stats = trainer.train_step(batch)
                losses.append(stats["loss"])
                for key in ("loss", "lr", "grad_norm"):
                    writer.add_scalar(f"train/{key}", stats[key], trainer.step)
                if trainer.step % int(cfg.trainer.print_every) == 0:
                    print(f"step {trainer.step}: loss {stats['loss']:.3f}, lr {stats['lr']:.2e}", flush=True)
                if trainer.step >= max_steps:
                    break
            metrics = _validate(writer, trainer, dev_loader, sample_batch, cfg)
            print(f"epoch {epoch + 1}: step {trainer.step}, dev loss {metrics['loss']:.3f}, "
                  f"CER {metrics['cer']:.3f}, WER {metrics['wer']:.3f}", flush=True)
            if trainer.step >= max_steps:
                break
    finally:
        writer.close()
    lm_file = write_lm(train_texts, int(cfg.lm.order), ckpt)
    save_checkpoint(ckpt, trainer.model, checkpoint_config(cfg, lm_file))
    summary = {"steps": trainer.step, "first_loss": losses[0], "last_loss": losses[-1],
               "seconds": time.perf_counter() - start, **{f"dev_{k}": v for k, v in metrics.items()}}
    print(f"trained {summary['steps']} steps in {summary['seconds']:.0f} s: loss {summary['first_loss']:.3f} -> "
          f"{summary['last_loss']:.3f}; checkpoint in {ckpt}, logs in {cfg.log_dir}", flush=True)
    return summary
