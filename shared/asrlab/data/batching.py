"""Length-bucketed batches and dynamic padding.

Sorting utterances by length before batching means a batch is padded to a length close to its
members' lengths instead of to the corpus maximum. With a fixed ``batch_size`` the sorted items are
cut into equal-count buckets and shuffled within them; with a ``max_frames`` budget the items are
sorted by a jittered length each epoch and cut greedily into full batches (a "sortish" order: near
minimal padding, every batch close to the budget, members that change between epochs). The batch
order is shuffled too, all seeded per epoch, so runs are reproducible.

Usage::

    from torch.utils.data import DataLoader
    from asrlab.data import BucketBatchSampler, PadCollate
    sampler = BucketBatchSampler(dataset.durations(), max_frames=200.0, seed=0)   # <= 200 s of padded audio
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=PadCollate({"tokens": 0}))
    for epoch in range(num_epochs):
        sampler.set_epoch(epoch)
        for batch in loader:
            batch["waveform"]          # (B, N_max) float32
            batch["waveform_lengths"]  # (B,) int64
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler

NUM_BUCKETS = 30  # equal-count length buckets: lengths within a bucket stay close, yet each holds many batches
# max_frames batching sorts by length x U(1 - j, 1 + j) each epoch: batch members vary, padding stays ~j.
LENGTH_JITTER = 0.05
LENGTH_KEY_NAMES = {"waveform": "waveform_lengths", "features": "feature_lengths", "tokens": "token_lengths"}


class BucketBatchSampler(Sampler[list[int]]):
    """Yield lists of dataset indices whose lengths are similar.

    Parameters
    ----------
    lengths : sequence (U,) of non-negative numbers (samples, frames or seconds) per item.
    batch_size : fixed number of items per batch. Give exactly one of ``batch_size``/``max_frames``.
    max_frames : budget per batch in the unit of ``lengths``: ``len(batch) * max(lengths in batch)``
        (the padded size) stays <= ``max_frames``; an item longer than the budget gets a batch alone.
    shuffle : shuffle within buckets and the order of batches, seeded by ``seed + epoch``.
        Without shuffling, batches come in ascending length order.
    seed : base seed; the same (seed, epoch) always gives the same batches.
    drop_last : drop batches smaller than ``batch_size`` (only with ``batch_size``; at most one batch
        per epoch is dropped because bucket widths are multiples of ``batch_size``).
    num_buckets : with ``batch_size``, the sorted items are cut into this many buckets of (nearly)
        equal count. (``max_frames`` batching needs no buckets: it fills batches along a jittered
        length order, so small datasets still get full batches.)
    """

    def __init__(
        self,
        lengths: Sequence[float] | np.ndarray | torch.Tensor,
        batch_size: int | None = None,
        max_frames: float | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        num_buckets: int = NUM_BUCKETS,
    ) -> None:
        super().__init__()
        lengths = np.asarray(lengths.tolist() if isinstance(lengths, torch.Tensor) else lengths, dtype=np.float64)
        if lengths.ndim != 1 or lengths.size == 0:
            raise ValueError(f"lengths must be a non-empty 1-D sequence (one length per item), got shape {lengths.shape}")
        if not np.all(np.isfinite(lengths)) or np.any(lengths < 0):
            raise ValueError("lengths must be finite and >= 0; check the durations passed to BucketBatchSampler")
        if (batch_size is None) == (max_frames is None):
            raise TypeError("BucketBatchSampler needs exactly one of batch_size= (items per batch) or max_frames= (padded size per batch)")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_frames is not None and max_frames <= 0:
            raise ValueError(f"max_frames must be > 0, got {max_frames}")
        if drop_last and batch_size is None:
            raise ValueError("drop_last only applies to batch_size batching; with max_frames every batch is kept")
        if num_buckets < 1:
            raise ValueError(f"num_buckets must be >= 1, got {num_buckets}")
        self.lengths = lengths
        self.batch_size, self.max_frames = batch_size, max_frames
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        self._order = np.argsort(lengths, kind="stable")  # (U,) ascending length
        width = int(np.ceil(len(lengths) / num_buckets))
        if batch_size is not None:  # round up to whole batches so only the last bucket has a partial batch
            width = int(np.ceil(width / batch_size)) * batch_size
        self._buckets = [self._order[i : i + width] for i in range(0, len(self._order), width)]
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffle for ``epoch`` (call before iterating each epoch)."""
        self.epoch = int(epoch)

    def _split(self, bucket: np.ndarray) -> list[list[int]]:
        if self.batch_size is not None:
            batches = [bucket[i : i + self.batch_size].tolist() for i in range(0, len(bucket), self.batch_size)]
            return [b for b in batches if len(b) == self.batch_size] if self.drop_last else batches
        batches, current, longest = [], [], 0.0
        for idx in bucket.tolist():
            longest_if_added = max(longest, self.lengths[idx])
            if current and longest_if_added * (len(current) + 1) > self.max_frames:
                batches.append(current)
                current, longest_if_added = [], self.lengths[idx]
            current.append(idx)
            longest = longest_if_added
        if current:
            batches.append(current)
        return batches

    def batches(self) -> list[list[int]]:
        """The batches of the current epoch (deterministic given seed and epoch)."""
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, self.epoch])
        batches: list[list[int]] = []
        if self.max_frames is not None:
            keys = self.lengths
            if self.shuffle:
                keys = keys * rng.uniform(1 - LENGTH_JITTER, 1 + LENGTH_JITTER, size=len(keys))
            batches = self._split(np.argsort(keys, kind="stable"))
        else:
            for bucket in self._buckets:
                batches.extend(self._split(rng.permutation(bucket) if self.shuffle else bucket))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        self._cache = (self.epoch, batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())


class PadCollate:
    """Collate dict items, padding variable-length tensors to the batch maximum.

    For every key: tensors (or numpy arrays) with at least one dimension are padded along their
    first dimension to the longest in the batch, stacked to (B, T_max, ...), and their true
    lengths are added as an int64 (B,) tensor under ``waveform_lengths`` / ``feature_lengths`` /
    ``token_lengths`` (``<key>_lengths`` for other keys). 0-d tensors and numbers are stacked to
    (B,); strings and everything else become lists.

    Parameters
    ----------
    pad_values : pad value per key, e.g. ``{"tokens": vocab.pad_index}``; other keys use ``default_pad``.
    default_pad : pad value for keys not in ``pad_values`` (0).
    """

    def __init__(self, pad_values: Mapping[str, float] | None = None, default_pad: float = 0.0) -> None:
        self.pad_values = dict(pad_values or {})
        self.default_pad = default_pad

    def __call__(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        if not items:
            raise ValueError("PadCollate got an empty batch")
        if not all(isinstance(item, Mapping) for item in items):
            raise TypeError(
                f"PadCollate expects dict items, got {type(items[0]).__name__}; "
                "use torch.utils.data.default_collate for fixed-size tuple items"
            )
        keys = list(items[0])
        for n, item in enumerate(items):
            if list(item) != keys:
                raise ValueError(f"batch item {n} has keys {sorted(item)} but item 0 has {sorted(keys)}; all items need the same keys")
        batch: dict[str, Any] = {}
        for key in keys:
            values = [item[key] for item in items]
            first = values[0]
            if isinstance(first, (torch.Tensor, np.ndarray)):
                tensors = [torch.as_tensor(v) for v in values]
                if tensors[0].ndim == 0:
                    batch[key] = torch.stack(tensors)  # (B,)
                else:
                    padded, lengths = self.pad(tensors, self.pad_values.get(key, self.default_pad), key)
                    batch[key] = padded
                    batch[LENGTH_KEY_NAMES.get(key, f"{key}_lengths")] = lengths
            elif isinstance(first, (bool, int, float, np.number, np.bool_)):
                batch[key] = torch.tensor(values)  # (B,)
            else:
                batch[key] = values
        return batch

    @staticmethod
    def pad(tensors: Sequence[torch.Tensor], pad_value: float, key: str = "tensor") -> tuple[torch.Tensor, torch.Tensor]:
        """Pad (T_i, *rest) tensors along dim 0. Returns padded (B, T_max, *rest) and lengths (B,) int64."""
        rest = tensors[0].shape[1:]
        for n, t in enumerate(tensors):
            if t.shape[1:] != rest or t.ndim != tensors[0].ndim:
                raise ValueError(
                    f"cannot pad {key!r}: item {n} has shape {tuple(t.shape)} but item 0 has {tuple(tensors[0].shape)}; "
                    "only the first dimension may differ"
                )
        lengths = torch.tensor([t.shape[0] for t in tensors], dtype=torch.long)  # (B,)
        out = tensors[0].new_full((len(tensors), int(lengths.max()), *rest), pad_value)  # (B, T_max, *rest)
        for n, t in enumerate(tensors):
            out[n, : t.shape[0]] = t
        return out, lengths


def collate_padded(items: Sequence[Mapping[str, Any]], pad_values: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Functional form of :class:`PadCollate` (use the class as a DataLoader ``collate_fn`` to set pad values)."""
    return PadCollate(pad_values)(items)
