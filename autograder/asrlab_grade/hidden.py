"""Hidden evaluation data for training tasks (trusted side only; never imported in a sandbox).

Usage (in a task module)::

    from asrlab_grade.hidden import librispeech_test, hvb_test

    def load_hidden_split():
        waveforms, transcripts = librispeech_test("test-clean")
        return waveforms, transcripts            # TrainingTask.test_split

The hidden corpora are the course corpora (:mod:`asrlab.course`, same profile as the current
``ASRLAB_BUDGET``) made with another seed, so they hold sentences and speakers no student has
seen, yet come from the distribution the students trained on. The seed is derived from the
course secret (:mod:`asrlab_grade.secret`), so no one can rebuild the split from the public
synthesizer; ``ASRLAB_GRADE_HIDDEN_SEED`` overrides it. They are made once per machine and
seed under ``$ASRLAB_GRADE_CACHE`` (default ``~/.cache/asrlab-grade``), a folder no sandbox sees.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import secret

HIDDEN_SEED_ENV = "ASRLAB_GRADE_HIDDEN_SEED"
CACHE_ENV = "ASRLAB_GRADE_CACHE"
DEFAULT_CACHE = Path("~/.cache/asrlab-grade")


def hidden_seed() -> int:
    """The hidden corpora's seed: ``$ASRLAB_GRADE_HIDDEN_SEED``, else derived from the course secret."""
    value = os.environ.get(HIDDEN_SEED_ENV)
    if value is None:
        return secret.derive_seed("hidden corpora")
    try:
        seed = int(value)
    except ValueError:
        raise ValueError(f"{HIDDEN_SEED_ENV}={value!r} must be a non-negative integer") from None
    if seed <= 0:  # 0 is the public course corpus
        raise ValueError(f"{HIDDEN_SEED_ENV}={seed} must be a positive integer other than the course seed 0")
    return seed


def split_id() -> str:
    """A public name of the hidden splits of this run: a one-way hash of their seed (the same id means
    the same splits; the id does not give the seed away)."""
    import hashlib

    return hashlib.sha256(f"asrlab hidden splits {hidden_seed()}".encode()).hexdigest()[:12]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def librispeech_root() -> Path:
    """Root of the hidden LibriSpeech-style corpus for the current budget (made on first use)."""
    from asrlab import course

    seed, name = hidden_seed(), course.budget()
    return course.librispeech(seed=seed, root=cache_dir() / f"synth-libri-{name}-{seed}", progress=False)


def hvb_root() -> Path:
    """Root of the hidden HarperValleyBank-style corpus for the current budget (made on first use)."""
    from asrlab import course

    seed, name = hidden_seed(), course.budget()
    return course.hvb(seed=seed, root=cache_dir() / f"synth-hvb-{name}-{seed}", progress=False)


def librispeech_test(split: str = "test-clean", limit: int | None = None) -> tuple[list[np.ndarray], list[str]]:
    """Waveforms (float32, 16 kHz, one array per utterance) and lower-case transcripts of a hidden split."""
    from asrlab.data import LibriSpeech

    dataset = LibriSpeech(librispeech_root(), split)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    waveforms, texts = [], []
    for i in range(count):
        item = dataset[i]
        waveforms.append(np.asarray(item["waveform"], dtype=np.float32).reshape(-1))
        texts.append(str(item["text"]).lower())
    return waveforms, texts


def hvb_test(splits: tuple[str, ...] = ("val", "test"), limit: int | None = None) -> tuple[list[np.ndarray], list[str]]:
    """Waveforms (float32, 8 kHz) and transcripts of the hidden HarperValleyBank corpus's held-out speakers.

    The hidden corpus is split like the course one (utterances of 4+ words, speakers shuffled with
    seed 42, 80/10/10); ``splits`` picks which speakers' utterances to return, in corpus order.
    """
    from asrlab.data import HarperValleyBank

    waveforms, texts = [], []
    for split in splits:
        dataset = HarperValleyBank(hvb_root(), split)
        for index in dataset.indices:
            waveforms.append(dataset.get_waveform(int(index)))
            texts.append(dataset.get_transcript(int(index)))
    if limit is not None:
        waveforms, texts = waveforms[:limit], texts[:limit]
    return waveforms, texts
