"""Course settings the notebooks share: the training budget and the course corpora.

Usage::

    from asrlab import course
    course.budget()                    # "full" (default: Colab, a GPU) or "ci" (ASRLAB_BUDGET=ci: short CPU runs)
    course.pick(full=30, ci=8)         # one hyper-parameter per budget, e.g. epochs
    root = course.librispeech()        # the course's synthetic LibriSpeech-style corpus, made once (seconds)
    root = course.hvb()                # the HarperValleyBank-style one
    start = course.wav2vec2_start()    # where wav2vec2 fine-tuning starts (asrlab.hf.wav2vec2_for_ctc)

A corpus is made the first time it is asked for, under ``$ASRLAB_DATA`` (default: ``data/`` in the
download cache of :func:`asrlab.data.fetch.default_cache_dir`, ``~/.cache/asrlab/data`` on most machines), and
reused afterwards: generation is deterministic and records its
parameters, so every notebook of the course (and the grader) sees the same audio. To train on
real data instead, point ``ASRLAB_LIBRISPEECH`` / ``ASRLAB_HVB`` at a corpus in the same layout
(``asrlab data fetch`` downloads LibriSpeech).

The ``ci`` budget is a reduced but real course: a smaller corpus with a smaller vocabulary
(``words_per_list``), on which the solution models reach the grading thresholds in minutes on
two CPU cores. The grader builds its hidden test split with the same profile and another seed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from asrlab.errors import SettingError
from asrlab.locks import exclusive

BUDGETS = ("full", "ci")
BUDGET_ENV = "ASRLAB_BUDGET"
DATA_ENV = "ASRLAB_DATA"
REAL_DATA_ENV = {"librispeech": "ASRLAB_LIBRISPEECH", "hvb": "ASRLAB_HVB"}
COURSE_SEED = 0  # the public corpus; the grader's hidden split uses another seed

# Corpus parameters per budget (keyword arguments of asrlab.data.synth.make_librispeech / make_hvb).
LIBRISPEECH_PROFILES: dict[str, dict[str, Any]] = {
    "full": {"hours": 2.0},
    "ci": {"hours": 1.0, "words_per_list": 10},
}
HVB_PROFILES: dict[str, dict[str, Any]] = {
    "full": {"hours": 1.0},
    "ci": {"hours": 0.5},
}

# Start points of wav2vec2 fine-tuning (asrlab.hf): full fine-tunes the self-supervised base model from the
# Hugging Face hub; ci builds a tiny randomly initialised model from a config (no download, minutes on a CPU).
WAV2VEC2_ENV = "ASRLAB_WAV2VEC2"
TINY_WAV2VEC2 = "asrlab:tiny-wav2vec2"
WAV2VEC2_START = {"full": "facebook/wav2vec2-base", "ci": TINY_WAV2VEC2}

T = TypeVar("T")


def budget() -> str:
    """The training budget: ``$ASRLAB_BUDGET`` (``full`` when unset)."""
    value = os.environ.get(BUDGET_ENV, "full").strip().lower() or "full"
    if value not in BUDGETS:
        raise SettingError(f"{BUDGET_ENV}={value!r} is not a budget; use one of {BUDGETS} (unset means 'full')")
    return value


def pick(full: T, ci: T) -> T:
    """The value for the current budget, e.g. ``epochs = course.pick(full=30, ci=8)``."""
    return ci if budget() == "ci" else full


def data_dir() -> Path:
    """Where course corpora are made: ``$ASRLAB_DATA``, else ``data/`` in the download cache."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    from asrlab.data.fetch import default_cache_dir
    return default_cache_dir() / "data"


def _real(corpus: str) -> Path | None:
    value = os.environ.get(REAL_DATA_ENV[corpus])
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        from asrlab.data.errors import CorpusNotFoundError
        raise CorpusNotFoundError(f"{REAL_DATA_ENV[corpus]}={value} is not a folder; point it at the corpus root "
                                f"or unset it to use the synthetic corpus")
    return path


def _corpus(kind: str, folder: str, profiles: dict[str, dict[str, Any]], seed: int, root: str | Path | None,
            progress: bool, budget_name: str | None) -> Path:
    if root is None and seed == COURSE_SEED and (real := _real(kind)) is not None:
        return real
    from asrlab.data import synth

    name = budget_name or budget()
    root = Path(root) if root is not None else data_dir() / f"{folder}-{name}-{seed}"
    with exclusive(root.parent / f"{root.name}.lock"):  # processes asking at once (parallel notebooks) make it once
        getattr(synth, f"make_{kind}")(root, seed=seed, progress=progress, **profiles[name])
    return root


def librispeech(seed: int = COURSE_SEED, root: str | Path | None = None, progress: bool = True,
                budget_name: str | None = None) -> Path:
    """Root of the course's LibriSpeech-style corpus (made on first use; real data when configured).

    Parameters
    ----------
    seed : corpus seed (the course uses ``COURSE_SEED``).
    root : where to make it (default: ``data_dir() / "synth-libri-<budget>-<seed>"``).
    budget_name : profile to use (default: the current :func:`budget`).
    """
    return _corpus("librispeech", "synth-libri", LIBRISPEECH_PROFILES, seed, root, progress, budget_name)


def hvb(seed: int = COURSE_SEED, root: str | Path | None = None, progress: bool = True,
        budget_name: str | None = None) -> Path:
    """Root of the course's HarperValleyBank-style corpus (``data.h5`` + ``labels.npz``); see :func:`librispeech`."""
    return _corpus("hvb", "synth-hvb", HVB_PROFILES, seed, root, progress, budget_name)


def wav2vec2_start() -> str:
    """Where wav2vec2 fine-tuning starts: ``$ASRLAB_WAV2VEC2`` when set (a folder written by ``save_pretrained``,
    or a hub name), else the budget's :data:`WAV2VEC2_START` (a hub name, or :data:`TINY_WAV2VEC2`)."""
    value = os.environ.get(WAV2VEC2_ENV, "").strip()
    if not value:
        return WAV2VEC2_START[budget()]
    path = Path(value).expanduser()
    if value.startswith((".", "/", "~")) and not path.is_dir():
        raise FileNotFoundError(f"{WAV2VEC2_ENV}={value} is not a folder; point it at a model saved with "
                                f"save_pretrained, give a hub name, or unset it")
    return str(path) if path.is_dir() else value
