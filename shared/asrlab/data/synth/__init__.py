"""Offline synthetic speech corpora rendered with eSpeak NG.

Usage::

    from asrlab.data.synth import make_librispeech, make_hvb, make_custom
    summary = make_librispeech("data/synth-libri", hours=2, seed=0)
    print(summary)

or from a shell: ``asrlab data synth librispeech --out data/synth-libri --hours 2``.
"""
from asrlab.data.synth.corpus import (
    DEFAULT_HVB_HOURS,
    DEFAULT_LIBRISPEECH_HOURS,
    LIBRISPEECH_SPLITS,
    CorpusExistsError,
    make_custom,
    make_hvb,
    make_librispeech,
)
from asrlab.data.synth.summary import CorpusSummary, SplitSummary

__all__ = [
    "DEFAULT_HVB_HOURS",
    "DEFAULT_LIBRISPEECH_HOURS",
    "LIBRISPEECH_SPLITS",
    "CorpusExistsError",
    "CorpusSummary",
    "SplitSummary",
    "make_custom",
    "make_hvb",
    "make_librispeech",
]
