"""Epoch time of the reference BiLSTM-CTC: length-bucketed dynamic padding vs fixed-length padding.

The same model (same initial weights), the same utterances and the same
training step (``asrlab.train.Trainer.train_step``: forward, CTC loss, backward, clipping, AdamW) run
one epoch per strategy in one process:

- fixed:    random batches of ``batch_size`` utterances, every utterance padded to the corpus's longest
            one (what the old course notebooks do with a fixed ``wav_max_length``);
- bucketed: ``asrlab.train.make_loader(batch_size=...)`` (``BucketBatchSampler`` + ``PadCollate``):
            similar lengths batched together, padded to the batch's longest utterance, same batch size;
- frames:   ``make_loader(max_seconds=...)``, the library's default: batches hold a budget of padded
            frames equal to one fixed batch (``batch_size`` x longest), so both peak at the same memory
            and batches of short utterances hold more of them (fewer, fuller steps per epoch).

Log-Mel features are computed once up front for all (not timed), so the figures compare batching
only. Prints the epoch times, padded-frame fractions (padding / all frames fed to the model),
utterances per second, the padding bound (longest / mean length: the best ratio any batching can
reach at equal batch size when every padded frame costs as much as a real one), the equal-batch-size
ratio, and finally ``ratio: X`` = fixed epoch time / frames epoch time (goal on CPU: >= 3).

Usage::

    python bench/train_epoch.py --quick                         # subset, < 60 s on 2 cores
    python bench/train_epoch.py                                 # 0.5 h synthetic corpus (cached)
    python bench/train_epoch.py --root data/synth-libri --split train-clean --max-utts 400
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from asrlab.data import LibriSpeech, PadCollate
from asrlab.features import LogMel
from asrlab.models import CTCModel
from asrlab.text import CharTokenizer
from asrlab.train import FeatureFrontend, RandomBatchSampler, TrainConfig, Trainer, make_loader

CACHE = Path.home() / ".cache" / "asrlab" / "bench"
FRAMES_PER_SECOND = 100  # LogMel hop of 10 ms
QUICK = {"hours": 0.1, "max_utts": 24, "batch_size": 8, "repeats": 1}
FULL = {"hours": 0.5, "max_utts": 160, "batch_size": 16, "repeats": 2}
# Reference BiLSTM-CTC of the CTC training assignment (128 units, 2 layers, stride 2, dropout 0.2).
MODEL = {"encoder": "bilstm", "hidden_dim": 128, "num_layers": 2, "dropout": 0.2, "subsampling": 2}


class FeatureSet(Dataset):
    """Precomputed (T, 80) features and token ids; ``durations`` in frames for bucketing."""

    def __init__(self, feats: list[torch.Tensor], tokens: list[torch.Tensor]) -> None:
        self.feats, self.tokens = feats, tokens

    def __len__(self) -> int:
        return len(self.feats)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"features": self.feats[i], "tokens": self.tokens[i]}

    def durations(self) -> list[float]:
        return [float(f.shape[0]) for f in self.feats]


class FixedPadCollate(PadCollate):
    """PadCollate, then features padded further to one global length (true lengths are kept)."""

    def __init__(self, pad_to: int) -> None:
        super().__init__()
        self.pad_to = pad_to

    def __call__(self, items):
        batch = super().__call__(items)
        feats = batch["features"]  # (B, T_batch, F)
        batch["features"] = torch.nn.functional.pad(feats, (0, 0, 0, self.pad_to - feats.shape[1]))  # (B, T_max, F)
        return batch


def load_features(root: Path, split: str, max_utts: int, seed: int) -> FeatureSet:
    tok = CharTokenizer()
    corpus = LibriSpeech(root, split, tokenizer=tok)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.permutation(len(corpus))[:max_utts].tolist())
    log_mel = LogMel()
    feats, tokens = [], []
    with torch.no_grad():
        for i in chosen:
            item = corpus[i]
            f, _ = log_mel(item["waveform"])  # (T, 80)
            feats.append(f)
            tokens.append(item["tokens"])
    return FeatureSet(feats, tokens)


def run_epoch(trainer: Trainer, loader: DataLoader) -> tuple[float, int, int]:
    """Train one epoch; returns (seconds, frames fed to the model, real frames)."""
    padded = real = 0
    start = time.perf_counter()
    for batch in loader:
        trainer.train_step(batch)
        padded += batch["features"].shape[0] * batch["features"].shape[1]
        real += int(batch["feature_lengths"].sum())
    return time.perf_counter() - start, padded, real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"small subset ({QUICK})")
    parser.add_argument("--root", type=Path, default=None, help="LibriSpeech-layout corpus (default: synthetic, cached)")
    parser.add_argument("--split", default="train-clean")
    parser.add_argument("--hours", type=float, default=None, help="size of the synthetic corpus to generate")
    parser.add_argument("--max-utts", type=int, default=None, help="utterances in the epoch")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None,
                        help="epochs per strategy, interleaved; the fastest counts (a shared machine is noisy)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared machine)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    preset = QUICK if args.quick else FULL
    hours = args.hours or preset["hours"]
    max_utts, batch_size = args.max_utts or preset["max_utts"], args.batch_size or preset["batch_size"]
    repeats = args.repeats or preset["repeats"]
    torch.set_num_threads(args.threads)

    root = args.root
    if root is None:
        from asrlab.data.synth import make_librispeech

        root = CACHE / f"synth-libri-{hours:g}h-seed{args.seed}"
        make_librispeech(root, hours=hours, seed=args.seed, progress=False)  # no-op when cached
    t0 = time.perf_counter()
    data = load_features(root, args.split, max_utts, args.seed)
    lengths = np.array(data.durations())
    print(f"{len(data)} utterances of {root}/{args.split}: {lengths.sum() / FRAMES_PER_SECOND / 60:.1f} min, "
          f"{lengths.min():.0f}-{lengths.max():.0f} frames (features in {time.perf_counter() - t0:.1f} s, not timed)")

    tok = CharTokenizer()
    torch.manual_seed(args.seed)
    model = CTCModel(80, len(tok), tok.blank, **MODEL)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    loaders = {
        "fixed": DataLoader(data, batch_sampler=RandomBatchSampler(len(data), batch_size, seed=args.seed),
                            collate_fn=FixedPadCollate(int(lengths.max()))),
        "bucketed": make_loader(data, batch_size=batch_size, seed=args.seed),
        # The library's default: a budget of padded frames per batch (durations() are in frames here) equal to
        # what one fixed batch holds, so both loaders peak at the same memory; short buckets get more items.
        "frames": make_loader(data, max_seconds=float(batch_size * lengths.max()), seed=args.seed),
    }
    results: dict[str, tuple[float, int, int]] = {}
    for _ in range(repeats):  # interleaved, so a burst of load on the shared machine hits both strategies
        for name, loader in loaders.items():
            model.load_state_dict(initial)  # same starting point: same step costs, same loss landscape
            config = TrainConfig(epochs=1, scheduler="constant", progress=False, seed=args.seed)
            trainer = Trainer(model, tok, loader, config=config, frontend=FeatureFrontend(None), device="cpu")
            trainer.train_step(next(iter(loader)))  # warm-up: first-call allocations are not part of an epoch
            run = run_epoch(trainer, loader)
            if name not in results or run[0] < results[name][0]:
                results[name] = run

    print(f"model: BiLSTM-CTC {MODEL}, {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, "
          f"batch size {batch_size}, {args.threads} thread(s), fastest of {repeats} epoch(s) per strategy")
    print(f"{'strategy':<10}{'epoch s':>10}{'padded frac':>13}{'utts/s':>10}{'steps':>7}")
    for name, (seconds, padded, real) in results.items():
        print(f"{name:<10}{seconds:>10.2f}{1 - real / padded:>13.3f}{len(data) / seconds:>10.2f}"
              f"{len(loaders[name]):>7}")
    # Padding to the longest utterance feeds the model len * longest frames instead of the real total, so
    # no batching strategy can beat longest / mean on a recurrent model that pays for every frame.
    print(f"padding bound (longest / mean length): {lengths.max() / lengths.mean():.2f}")
    print(f"same batch size: fixed / bucketed = {results['fixed'][0] / results['bucketed'][0]:.2f}")
    print(f"ratio: {results['fixed'][0] / results['frames'][0]:.2f}")


if __name__ == "__main__":
    main()
