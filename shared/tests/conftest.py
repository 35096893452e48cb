"""Shared fixtures: tiny synthetic corpora generated once per test session.

``synth_librispeech`` and ``synth_hvb`` are the corpus roots (``pathlib.Path``); the generation
parameters are recorded in each root's ``synth.json`` under ``"params"``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

# A few dozen utterances each: 10 LibriSpeech speakers over 4 splits, 10 HVB speakers (80/10/10 -> 8/1/1).
TINY_LIBRISPEECH = {"hours": 0.03, "seed": 0, "workers": 2}
TINY_HVB = {"hours": 0.02, "seed": 0, "workers": 2, "speakers": 10}


@pytest.fixture(scope="session")
def synth_librispeech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of a tiny LibriSpeech-style corpus (train-clean, dev-clean, test-clean, test-other)."""
    from asrlab.data.synth import make_librispeech

    root = tmp_path_factory.mktemp("synth") / "librispeech"
    make_librispeech(root, progress=False, **TINY_LIBRISPEECH)
    return root


@pytest.fixture(scope="session")
def synth_hvb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of a tiny HarperValleyBank-style corpus (data.h5 + labels.npz)."""
    from asrlab.data.synth import make_hvb

    root = tmp_path_factory.mktemp("synth") / "hvb"
    make_hvb(root, progress=False, **TINY_HVB)
    return root


@pytest.fixture
def one_torch_thread():
    """Run a test with one intra-op torch thread: on an oversubscribed 2-core machine two threads
    are ~10x slower than one for the small tensors of the training tests."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
