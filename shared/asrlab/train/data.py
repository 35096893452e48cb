"""Training data loaders: length-bucketed batches with dynamic padding by default.

Usage::

    loader = make_loader(train_set, max_seconds=120.0, seed=0)     # ~120 s of padded audio per batch
    loader = make_loader(dev_set, batch_size=16, shuffle=False)

The dataset needs ``durations()`` (seconds per item, all asrlab corpora have it) for bucketing and
dict items (``waveform``, ``tokens``, ``text``, ...), which :class:`asrlab.data.PadCollate` pads to
the longest item of each batch.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from torch.utils.data import DataLoader, Dataset

from asrlab.data.batching import BucketBatchSampler, PadCollate


def make_loader(
    dataset: Dataset,
    batch_size: int | None = None,
    max_seconds: float | None = None,
    shuffle: bool = True,
    bucketing: bool = True,
    seed: int = 0,
    num_workers: int = 0,
    pad_values: Mapping[str, float] | None = None,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader over dict items with dynamic padding.

    Parameters
    ----------
    dataset : map-style dataset of dict items; with ``bucketing`` it must have ``durations()``.
    batch_size : items per batch; or
    max_seconds : padded audio seconds per batch (with ``bucketing``; gives large batches of short
        utterances and small batches of long ones, so memory use stays flat).
    shuffle : shuffle (within buckets and over batches; reseeded per epoch by the trainer's ``set_epoch``).
    bucketing : group utterances of similar length (:class:`asrlab.data.BucketBatchSampler`). Without it
        batches are random and padded to their longest item.
    seed : shuffle seed.
    num_workers, pin_memory : as :class:`torch.utils.data.DataLoader` (pin_memory helps on GPU).
    pad_values : pad value per key, e.g. ``{"tokens": 0}`` (default 0 everywhere).
    """
    collate = PadCollate(pad_values)
    if bucketing:
        if not hasattr(dataset, "durations"):
            raise TypeError(f"{type(dataset).__name__} has no durations(); bucketing needs one length per item "
                            "(or pass bucketing=False)")
        sampler = BucketBatchSampler(dataset.durations(), batch_size=batch_size, max_frames=max_seconds,
                                     shuffle=shuffle, seed=seed)
    else:
        if batch_size is None:
            raise ValueError("without bucketing give batch_size= (max_seconds needs lengths, i.e. bucketing=True)")
        sampler = RandomBatchSampler(len(dataset), batch_size, shuffle, seed)  # type: ignore[arg-type]
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=num_workers,
                      pin_memory=pin_memory, persistent_workers=num_workers > 0)


class RandomBatchSampler:
    """Random fixed-size batches, reshuffled per epoch by ``set_epoch`` (same protocol as BucketBatchSampler)."""

    def __init__(self, num_items: int, batch_size: int, shuffle: bool = True, seed: int = 0) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.num_items, self.batch_size, self.shuffle, self.seed = num_items, batch_size, shuffle, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def batches(self) -> list[list[int]]:
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.num_items) if self.shuffle
                 else np.arange(self.num_items))
        return [order[i : i + self.batch_size].tolist() for i in range(0, self.num_items, self.batch_size)]

    def __iter__(self):
        return iter(self.batches())

    def __len__(self) -> int:
        return -(-self.num_items // self.batch_size)
