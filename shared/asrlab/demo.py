"""The main job on the embedded synthetic data: make both corpora, show them, score a baseline.

Usage::

    asrlab demo                       # ./data/synth-libri (2 h) and ./data/synth-hvb, then pocketsphinx
    asrlab demo --out /tmp/asr --hours 0.5 --baseline-limit 50
    asrlab demo --hours 1 --words-per-list 10 --train-epochs 6    # + a course model trained on it

Steps: generate the LibriSpeech-style and HarperValleyBank-style corpora (a no-op when they already
exist with the same parameters), print their statistics, then run the pocketsphinx recognizer over
the synthetic ``test-clean`` split and print its WER/CER: the figure the course's models must beat.
With ``--train-epochs``, the course's reference BiLSTM-CTC model is trained on ``train-clean`` and
scored on the same ``test-clean`` utterances with greedy decoding.
"""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("data")
DEFAULT_LIBRISPEECH_HOURS = 2.0
DEFAULT_HVB_HOURS = 1.0
DEFAULT_BASELINE_SPLIT = "test-clean"
# The demo's course model: the reference BiLSTM-CTC, small batches and a high peak rate so that a few
# epochs on two CPU cores already beat the outside baseline.
DEMO_MODEL = {"encoder": "bilstm", "hidden_dim": 128, "num_layers": 2, "dropout": 0.1, "subsampling": 2}
DEMO_BATCH_SECONDS = 60.0
DEMO_LR = 4e-3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the corpora go (default: ./data)")
    parser.add_argument("--hours", type=float, default=DEFAULT_LIBRISPEECH_HOURS,
                        help=f"LibriSpeech-style hours (default: {DEFAULT_LIBRISPEECH_HOURS})")
    parser.add_argument("--hvb-hours", type=float, default=DEFAULT_HVB_HOURS,
                        help=f"HarperValleyBank-style hours (default: {DEFAULT_HVB_HOURS})")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--baseline-limit", type=int, default=None,
                        help="decode only the first N test utterances with pocketsphinx (default: all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the pocketsphinx baseline")
    parser.add_argument("--words-per-list", type=int, default=None,
                        help="smaller vocabulary for the LibriSpeech-style corpus (the course's ci profile uses 10)")
    parser.add_argument("--train-epochs", type=int, default=0,
                        help="also train the reference BiLSTM-CTC for this many epochs and score it (default: 0)")


def run(args: argparse.Namespace) -> int:
    from asrlab.data.synth import make_hvb, make_librispeech

    libri_root, hvb_root = args.out / "synth-libri", args.out / "synth-hvb"
    print(f"== LibriSpeech-style corpus: {libri_root}")
    print(make_librispeech(libri_root, hours=args.hours, seed=args.seed, workers=args.workers,
                           words_per_list=args.words_per_list))
    print(f"\n== HarperValleyBank-style corpus: {hvb_root}")
    print(make_hvb(hvb_root, hours=args.hvb_hours, seed=args.seed, workers=args.workers))
    if not args.no_baseline:
        baseline(libri_root, args.baseline_limit, args.workers)
    if args.train_epochs:
        train_reference(libri_root, args.train_epochs, args.baseline_limit)
    return 0


def baseline(libri_root: Path, limit: int | None, workers: int | None) -> None:
    """Print pocketsphinx's WER/CER on the first ``limit`` utterances of the test split."""
    from asrlab.baseline import DEFAULT_WORKERS, run_pocketsphinx
    from asrlab.data.layout import scan_librispeech

    utterances = scan_librispeech(libri_root, DEFAULT_BASELINE_SPLIT)[:limit]
    print(f"\n== Outside baseline: pocketsphinx on {DEFAULT_BASELINE_SPLIT} ({len(utterances)} utterances)")
    result = run_pocketsphinx(utterances, workers=workers or DEFAULT_WORKERS)
    print(f"WER {100 * result.wer:.2f}%   CER {100 * result.cer:.2f}%   "
          f"({result.seconds:.1f} s for {result.audio_seconds:.0f} s of audio)")


def train_reference(libri_root: Path, epochs: int, limit: int | None) -> None:
    """Train the reference BiLSTM-CTC on ``train-clean`` and print its greedy WER/CER on the test split."""
    import time

    import torch
    from torch.utils.data import Subset

    from asrlab.data import LibriSpeech
    from asrlab.features import N_MELS, LogMel
    from asrlab.models import CTCModel
    from asrlab.text import CharTokenizer
    from asrlab.train import CTCObjective, FeatureFrontend, TrainConfig, Trainer, make_loader

    tokenizer = CharTokenizer()
    train = LibriSpeech(libri_root, "train-clean", tokenizer=tokenizer)
    test = LibriSpeech(libri_root, DEFAULT_BASELINE_SPLIT, tokenizer=tokenizer)
    test = Subset(test, range(min(len(test), limit))) if limit else test
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = CTCModel(N_MELS, len(tokenizer), tokenizer.blank, **DEMO_MODEL)
    print(f"\n== A course model: BiLSTM-CTC ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters), "
          f"{epochs} epochs on train-clean ({len(train)} utterances, {device})")
    trainer = Trainer(model, tokenizer, make_loader(train, max_seconds=DEMO_BATCH_SECONDS, seed=0),
                      make_loader(test, batch_size=16, shuffle=False, bucketing=False),
                      TrainConfig(epochs=epochs, lr=DEMO_LR, progress=False), objective=CTCObjective(),
                      frontend=FeatureFrontend(LogMel()), device=device)
    start = time.perf_counter()
    trainer.fit()
    result = trainer.evaluate(make_loader(test, batch_size=16, shuffle=False, bucketing=False))
    print(f"WER {100 * result['wer']:.2f}%   CER {100 * result['cer']:.2f}%   on {DEFAULT_BASELINE_SPLIT} "
          f"({len(test)} utterances; trained in {time.perf_counter() - start:.0f} s)")
