"""Tests for asrlab.data.batching: the length-bucketing sampler and the padding collate."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from asrlab.data.batching import BucketBatchSampler, PadCollate, collate_padded


def _lengths(n=500, seed=0):
    return np.random.default_rng(seed).integers(10, 1000, size=n)


def _padded_size(batches, lengths):
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def test_every_item_once_per_epoch_and_len_matches():
    lengths = _lengths()
    sampler = BucketBatchSampler(lengths, batch_size=16, seed=1)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert len(sampler) == len(batches) == int(np.ceil(500 / 16))
        assert all(len(b) <= 16 for b in batches)


def test_bucketing_pads_far_less_than_random_batches():
    lengths = _lengths()
    bucketed = list(BucketBatchSampler(lengths, batch_size=16, seed=0))
    perm = np.random.default_rng(0).permutation(len(lengths))
    random_batches = [perm[i : i + 16].tolist() for i in range(0, len(perm), 16)]
    real = int(lengths.sum())
    assert _padded_size(bucketed, lengths) / real < 1.1
    assert _padded_size(random_batches, lengths) / real > 1.3


def test_shuffle_is_deterministic_per_seed_and_epoch():
    lengths = _lengths()
    a = BucketBatchSampler(lengths, batch_size=8, seed=7)
    b = BucketBatchSampler(lengths, batch_size=8, seed=7)
    assert list(a) == list(b)
    epoch0 = list(a)
    a.set_epoch(1)
    assert list(a) != epoch0
    a.set_epoch(0)
    assert list(a) == epoch0
    assert list(BucketBatchSampler(lengths, batch_size=8, seed=8)) != epoch0


def test_no_shuffle_gives_ascending_contiguous_batches():
    lengths = [5, 1, 3, 9, 2, 7, 4, 8, 6, 0.5]
    batches = list(BucketBatchSampler(lengths, batch_size=3, shuffle=False))
    assert batches == [[9, 1, 4], [2, 6, 0], [8, 5, 7], [3]]


def test_max_frames_budget():
    lengths = _lengths()
    budget = 4000
    sampler = BucketBatchSampler(lengths, max_frames=budget, seed=3)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) * max(lengths[i] for i in b) <= budget for b in batches)
    assert np.mean([len(b) for b in batches]) > 3  # the budget is actually used
    # an item longer than the budget still appears, alone
    solo = list(BucketBatchSampler([1, 2, 50, 3], max_frames=10, shuffle=False))
    assert [2] in solo and sorted(i for b in solo for i in b) == [0, 1, 2, 3]


def test_max_frames_batches_are_full_and_change_between_epochs():
    """A budget batches along a jittered length order: little padding, batches near the budget even for a
    small dataset (fixed buckets of 4 items would cut it into slivers), and new batch members each epoch."""
    lengths = _lengths(120)
    budget = 6000
    sampler = BucketBatchSampler(lengths, max_frames=budget, seed=0)
    batches = list(sampler)
    assert _padded_size(batches, lengths) / lengths.sum() < 1.15
    sizes = sorted(len(b) * max(lengths[i] for i in b) for b in batches)
    assert np.mean(sizes[:-1]) > 0.75 * budget  # all but the last batch are close to full
    sampler.set_epoch(1)
    assert {tuple(sorted(b)) for b in sampler} != {tuple(sorted(b)) for b in batches}


def test_drop_last_keeps_only_full_batches():
    sampler = BucketBatchSampler(_lengths(103), batch_size=10, drop_last=True)
    batches = list(sampler)
    assert all(len(b) == 10 for b in batches) and len(batches) == 10


def test_sampler_argument_errors():
    with pytest.raises(TypeError, match="exactly one of batch_size"):
        BucketBatchSampler([1, 2], batch_size=2, max_frames=10)
    with pytest.raises(TypeError, match="exactly one of batch_size"):
        BucketBatchSampler([1, 2])
    with pytest.raises(ValueError, match="finite and >= 0"):
        BucketBatchSampler([1, -2], batch_size=1)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        BucketBatchSampler([], batch_size=1)
    with pytest.raises(ValueError, match="drop_last only applies"):
        BucketBatchSampler([1, 2], max_frames=5, drop_last=True)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        BucketBatchSampler([1, 2], batch_size=0)


def test_pad_collate_pads_and_reports_lengths():
    items = [
        {"waveform": torch.ones(3), "features": torch.ones(2, 4), "tokens": torch.tensor([5, 6]), "text": "ab", "n": 1,
         "label": torch.tensor(2), "score": np.float32(0.5)},
        {"waveform": torch.ones(5), "features": np.ones((4, 4), dtype=np.float32), "tokens": torch.tensor([7]), "text": "c",
         "n": 2, "label": torch.tensor(0), "score": np.float32(1.5)},
    ]
    batch = PadCollate({"tokens": -1, "features": -5.0})(items)
    assert batch["waveform"].shape == (2, 5) and batch["waveform"][0, 3:].eq(0).all()
    assert batch["waveform_lengths"].tolist() == [3, 5] and batch["waveform_lengths"].dtype == torch.long
    assert batch["features"].shape == (2, 4, 4) and batch["features"][0, 2:].eq(-5).all()
    assert batch["feature_lengths"].tolist() == [2, 4]
    assert batch["tokens"].tolist() == [[5, 6], [7, -1]] and batch["token_lengths"].tolist() == [2, 1]
    assert batch["text"] == ["ab", "c"] and batch["n"].tolist() == [1, 2] and batch["label"].tolist() == [2, 0]
    assert batch["score"].tolist() == [0.5, 1.5]
    assert collate_padded(items)["tokens"].tolist() == [[5, 6], [7, 0]]


def test_pad_collate_errors():
    with pytest.raises(ValueError, match="only the first dimension may differ"):
        collate_padded([{"features": torch.ones(2, 4)}, {"features": torch.ones(2, 3)}])
    with pytest.raises(TypeError, match="expects dict items"):
        collate_padded([(torch.ones(2),)])
    with pytest.raises(ValueError, match="all items need the same keys"):
        collate_padded([{"a": 1}, {"b": 1}])


def test_sampler_and_collate_in_a_dataloader():
    lengths = _lengths(64)
    data = [{"waveform": torch.full((int(n),), float(i)), "utt_id": str(i)} for i, n in enumerate(lengths)]
    sampler = BucketBatchSampler(lengths, batch_size=8, seed=0)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=PadCollate())
    seen = []
    for batch in loader:
        for row, n in zip(batch["waveform"], batch["waveform_lengths"]):
            assert row[n:].eq(0).all() and row[:n].eq(row[0]).all()
        seen += batch["utt_id"]
    assert sorted(seen, key=int) == [str(i) for i in range(64)]
