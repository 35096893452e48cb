"""Corpus readers, batching and dataset fetching.

Attributes are imported on first access so that ``import asrlab.data`` stays cheap (no torch, no
h5py) and the ``synth`` subpackage is only loaded when used.

- :class:`LibriSpeech`, :func:`scan_librispeech`, :func:`librispeech_splits` — LibriSpeech layout
- :class:`HarperValleyBank`, :class:`HarperValleyBankMTL` — data.h5 + labels.npz
- :class:`CustomDir` — ``audio/`` + optional ``transcriptions/``
- :class:`BucketBatchSampler`, :class:`PadCollate`, :func:`collate_padded` — batching
- :func:`load_registry` — the corpora listed in datasets.yaml; download them with
  ``from asrlab.data.fetch import fetch`` (``asrlab.data.fetch`` is the module, not the function)
"""
from importlib import import_module
from typing import Any

from asrlab.data.errors import CorpusError, CorpusNotFoundError
from asrlab.data.utterance import Utterance

_LAZY = {
    "LibriSpeech": "asrlab.data.librispeech",
    "scan_librispeech": "asrlab.data.layout",
    "librispeech_splits": "asrlab.data.layout",
    "scan_customdir": "asrlab.data.layout",
    "CustomDir": "asrlab.data.customdir",
    "HarperValleyBank": "asrlab.data.hvb",
    "HarperValleyBankMTL": "asrlab.data.hvb",
    "UtteranceDataset": "asrlab.data.base",
    "BucketBatchSampler": "asrlab.data.batching",
    "PadCollate": "asrlab.data.batching",
    "collate_padded": "asrlab.data.batching",
    "load_registry": "asrlab.data.registry",
    "DatasetEntry": "asrlab.data.registry",
}

__all__ = ["CorpusError", "CorpusNotFoundError", "Utterance", *_LAZY]


def __getattr__(name: str) -> Any:
    if name == "synth":  # the synthetic-corpus subpackage, loaded on demand
        return import_module("asrlab.data.synth")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'asrlab.data' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
