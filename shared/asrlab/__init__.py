"""asrlab: the library students and instructors install for the asrlab speech course.

Submodules are imported lazily so that ``import asrlab`` stays cheap (no torch import).
"""
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("audio", "augment", "baseline", "ctc", "data", "decoding", "features", "lm", "metrics", "models", "rnnt", "runtime", "text", "train")


def setup(version: str, gpu: str = "helps") -> str:
    """A notebook's setup: check the library version, print the runtime, return the device
    (:func:`asrlab.runtime.setup`)."""
    from asrlab.runtime import setup as _setup

    return _setup(version, gpu)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f"asrlab.{name}")
    raise AttributeError(f"module 'asrlab' has no attribute {name!r}")
