"""Padding waste and epoch time: length-bucketed dynamic batches vs. the usual alternatives.

Three ways to batch the same utterances (lengths drawn like LibriSpeech train-clean-100 feature
frames, or read from a corpus on disk) are compared in one run:

- fixed:    every utterance padded to one global maximum length, random batches (what a
            fixed-size ``Dataset`` item with a ``wav_max_length`` does)
- random:   random batches padded to the batch maximum (``PadCollate`` without bucketing)
- bucketed: ``BucketBatchSampler`` + ``PadCollate`` (asrlab's loader)

For each it reports padded frames / real frames, and the time to collate one epoch of (T, 40)
features and run a small 1-D convolution over every padded batch (a stand-in for a model whose
cost grows with padded length). Ratios are against ``bucketed``.

Usage::

    python bench/bench_batching.py                      # synthetic length distribution
    python bench/bench_batching.py --num-utts 2000 --batch-size 32
    python bench/bench_batching.py --librispeech-root data/synth-libri --split train-clean
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from asrlab.data.batching import BucketBatchSampler, PadCollate

FRAMES_PER_SECOND = 100  # 10 ms hop
FEATURE_DIM = 40
CHANNELS = 64


def synthetic_lengths(num: int, seed: int) -> np.ndarray:
    """Frame counts shaped like LibriSpeech training utterances (about 12.7 s mean, 1-24.5 s)."""
    rng = np.random.default_rng(seed)
    seconds = np.clip(rng.lognormal(mean=2.45, sigma=0.45, size=num), 1.0, 24.5)
    return (seconds * FRAMES_PER_SECOND).astype(np.int64)


def corpus_lengths(root: str, split: str) -> np.ndarray:
    from asrlab.data import LibriSpeech

    return (np.array(LibriSpeech(root, split).durations()) * FRAMES_PER_SECOND).astype(np.int64)


def random_batches(num: int, batch_size: int, seed: int) -> list[list[int]]:
    perm = np.random.default_rng(seed).permutation(num)
    return [perm[i : i + batch_size].tolist() for i in range(0, num, batch_size)]


def run_epoch(batches, lengths, pad_to: int | None, conv: torch.nn.Module) -> tuple[int, float]:
    """Collate (T, 40) features per batch, run ``conv``; returns (padded frames, seconds)."""
    collate = PadCollate()
    padded = 0
    start = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            items = [{"features": torch.ones(int(lengths[i]), FEATURE_DIM)} for i in batch]
            if pad_to is not None:  # fixed-length padding: append one dummy row of the global length
                items.append({"features": torch.ones(pad_to, FEATURE_DIM)})
            feats = collate(items)["features"]  # (B, T_max, 40)
            if pad_to is not None:
                feats = feats[:-1]
            padded += feats.shape[0] * feats.shape[1]
            conv(feats.transpose(1, 2))  # (B, 64, T_max)
    return padded, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-utts", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--librispeech-root", default=None, help="measure a corpus on disk instead")
    parser.add_argument("--split", default="train-clean")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # steadier timings on a shared machine
    lengths = (
        corpus_lengths(args.librispeech_root, args.split) if args.librispeech_root else synthetic_lengths(args.num_utts, args.seed)
    )
    conv = torch.nn.Conv1d(FEATURE_DIM, CHANNELS, kernel_size=3, padding=1)
    real = int(lengths.sum())
    strategies = {
        "fixed": (random_batches(len(lengths), args.batch_size, args.seed), int(lengths.max())),
        "random": (random_batches(len(lengths), args.batch_size, args.seed), None),
        "bucketed": (list(BucketBatchSampler(lengths, batch_size=args.batch_size, seed=args.seed)), None),
    }
    results = {name: run_epoch(batches, lengths, pad_to, conv) for name, (batches, pad_to) in strategies.items()}
    base_frames, base_time = results["bucketed"]
    print(f"{len(lengths)} utterances, {real} real frames, batch size {args.batch_size}")
    print(f"{'strategy':<10}{'padded/real':>12}{'epoch s':>10}{'frames vs bucketed':>20}{'time vs bucketed':>18}")
    for name, (frames, seconds) in results.items():
        print(f"{name:<10}{frames / real:>12.3f}{seconds:>10.2f}{frames / base_frames:>19.2f}x{seconds / base_time:>17.2f}x")


if __name__ == "__main__":
    main()
