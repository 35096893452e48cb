"""Strict comparison of a student's result with a trusted reference.

Runs only in the trusted process, on plain data decoded by :mod:`asrlab_grade.wire`.
Every check returns a :class:`Verdict` whose message is written for the student: what was
expected versus what came back (type, dtype, shape), the first mismatching index, and how
many elements differ. Messages never print hidden *inputs*; they may print reference
values at a single index, which does not reveal the case.

Comparators of one domain build on these in ``compare_asr.py`` (lattices, decoder parts, models),
``compare_augment.py`` (SpecAugment masks) and ``compare_hf.py`` (Hugging Face pieces).

Value mismatches are worded by :func:`asrlab.checks.mismatch`, the function public notebook
checks use too (it runs here on the trusted side's own installed copy of asrlab).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
from asrlab.checks import describe, mismatch

from .wire import Tensorish

# How many differing elements a message spells out before it summarises.
MAX_LISTED = 1
# Log-probabilities this low are read as log(0): a student may use a large negative number instead of -inf.
LOG_ZERO_BELOW = -1e8
PROBABILITIES_HINT = "your values look like probabilities: return log-probabilities"


@dataclass(frozen=True)
class Verdict:
    """Outcome of one comparison: ``ok`` and a message for the student when not ok."""

    ok: bool
    message: str = ""


PASS = Verdict(True, "")

# A comparison takes (got, expected) and says whether they match.
Comparator = Callable[[Any, Any], Verdict]


def unwrap(x: Any) -> Any:
    """The ndarray inside a wire :class:`~asrlab_grade.wire.Tensorish`, or ``x`` itself."""
    return x.array if isinstance(x, Tensorish) else x


def _describe(x: Any) -> str:
    if isinstance(x, Tensorish):
        return f"torch tensor {x.torch_dtype}{list(x.array.shape)}"
    return describe(x)


def _dtype_ok(got: np.dtype, want: np.dtype, rule: str) -> bool:
    if rule == "exact":
        return got == want
    if rule == "kind":  # any float for a float reference, any int for an int reference
        kinds = {"f": "f", "i": "iu", "u": "iu", "b": "b", "c": "c"}
        return got.kind in kinds.get(want.kind, want.kind)
    return True  # "any": values decide


@dataclass(frozen=True)
class ArrayClose:
    """Arrays (or tensors) must match the reference's shape and dtype, then values.

    ``dtype`` is ``"exact"`` (same dtype), ``"kind"`` (float for float, int for int) or
    ``"any"``. ``container`` is ``"ndarray"``, ``"tensor"`` or ``"either"``. Non-finite
    values in the result fail unless the reference has them at the same places.
    """

    rtol: float = 1e-5
    atol: float = 1e-8
    dtype: str = "exact"
    container: str = "ndarray"

    def __call__(self, got: Any, expected: Any) -> Verdict:
        want = np.asarray(expected)
        if isinstance(got, Tensorish):
            if self.container == "ndarray":
                return Verdict(False, f"expected a numpy ndarray {want.dtype}{list(want.shape)}, "
                                      f"got a {_describe(got)}; convert with .detach().cpu().numpy()")
            arr = got.array
        elif type(got) is np.ndarray:
            if self.container == "tensor":
                return Verdict(False, f"expected a torch tensor of shape {list(want.shape)}, got a "
                                      f"{_describe(got)}; wrap it with torch.from_numpy(...)")
            arr = got
        else:
            return Verdict(False, f"expected an array {want.dtype}{list(want.shape)}, got {_describe(got)}")
        if arr.shape != want.shape:
            return Verdict(False, f"expected shape {list(want.shape)}, got {list(arr.shape)}")
        if not _dtype_ok(arr.dtype, want.dtype, self.dtype):
            return Verdict(False, f"expected dtype {want.dtype}, got {arr.dtype}; "
                                  f"cast with .astype(np.{want.dtype})")
        return compare_values(arr, want, self.rtol, self.atol)


def compare_values(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> Verdict:
    """Element-wise check of same-shape arrays with a message naming the first mismatch
    (the wording is the student library's, so public checks and feedback read alike)."""
    problem = mismatch(got, want, rtol, atol)
    return PASS if problem is None else Verdict(False, problem)


@dataclass(frozen=True)
class ScalarClose:
    """A Python or numpy number close to the reference; bool is refused as a number."""

    rtol: float = 1e-6
    atol: float = 1e-8

    def __call__(self, got: Any, expected: Any) -> Verdict:
        if isinstance(got, Tensorish) and got.array.size == 1:
            got = got.array.reshape(())[()]
        if type(got) is bool or not isinstance(got, (int, float, np.integer, np.floating)):
            return Verdict(False, f"expected a number, got {_describe(got)}; return float(value)")
        return compare_values(np.asarray(float(got)), np.asarray(float(expected)), self.rtol, self.atol)


@dataclass(frozen=True)
class Exact:
    """Same plain type and equal value (ints, strings, lists of ints, nested lists)."""

    def __call__(self, got: Any, expected: Any) -> Verdict:
        if type(got) is not type(expected):
            return Verdict(False, f"expected {_describe(expected)}, got {_describe(got)}")
        if isinstance(expected, (list, tuple)):
            if len(got) != len(expected):
                return Verdict(False, f"expected length {len(expected)}, got {len(got)}")
            for i, (g, e) in enumerate(zip(got, expected)):
                v = self(g, e)
                if not v.ok:
                    return Verdict(False, f"item {i}: {v.message}")
            return PASS
        if isinstance(expected, np.ndarray):
            return ArrayClose(rtol=0, atol=0, dtype="exact")(got, expected)
        if got != expected:
            return Verdict(False, f"expected {expected!r}, got {got!r}")
        return PASS


def log_zero_as_inf(arr: Any) -> Any:
    """A float array with values below :data:`LOG_ZERO_BELOW` set to ``-inf``; anything else unchanged."""
    if type(arr) is np.ndarray and arr.dtype.kind == "f":
        return np.where(arr < LOG_ZERO_BELOW, -np.inf, arr)
    return arr


def looks_like_probabilities(arr: Any, expected: np.ndarray) -> bool:
    """Whether ``arr`` has the log-domain ``expected``'s shape but holds values in [0, 1]."""
    return (type(arr) is np.ndarray and arr.shape == np.shape(expected) and arr.size > 1
            and bool(np.all((arr >= 0) & (arr <= 1))))


class LogArrayClose:
    """:class:`ArrayClose` on log-domain arrays, reading values below :data:`LOG_ZERO_BELOW` as ``-inf``."""

    def __init__(self, rtol: float, atol: float) -> None:
        self.inner = ArrayClose(rtol=rtol, atol=atol, dtype="kind", container="either")

    def __call__(self, got: Any, expected: Any) -> Verdict:
        arr = log_zero_as_inf(unwrap(got))
        got = Tensorish(arr, got.torch_dtype) if isinstance(got, Tensorish) else arr
        verdict = self.inner(got, expected)
        if not verdict.ok and "differ" in verdict.message and looks_like_probabilities(arr, expected):
            return Verdict(False, f"{verdict.message}; {PROBABILITIES_HINT}")
        return verdict


class FieldsClose:
    """A dict result compared field by field; ``fields`` maps a key to the comparator of that key."""

    def __init__(self, **fields: Comparator) -> None:
        self.fields = fields

    def __call__(self, got: Any, expected: Any) -> Verdict:
        if type(got) is not dict:
            return Verdict(False, f"expected a dict with keys {sorted(self.fields)}, got {type(got).__name__}")
        for key, compare in self.fields.items():
            if key not in got:
                return Verdict(False, f"the result has no {key!r}")
            verdict = compare(got[key], expected[key])
            if not verdict.ok:
                return Verdict(False, f"{key}: {verdict.message}")
        return PASS


def as_comparator(spec: Union[Comparator, None]) -> Comparator:
    """The default comparison is :class:`Exact` (strict type and value)."""
    return spec if spec is not None else Exact()


def first_failure(verdicts: Sequence[Verdict]) -> Optional[Verdict]:
    """The first failing verdict, or None when all passed."""
    return next((v for v in verdicts if not v.ok), None)
