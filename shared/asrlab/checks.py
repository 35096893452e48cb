"""Public checks for notebook test cells: assertions whose messages tell the student what to fix.

A failed check says what was called with which shapes, the expected versus the received
type / dtype / shape / value, the first mismatching index and a hint. The wording of the value
comparison (:func:`mismatch`) is the one the hardened grader uses, so a student sees the same
sentence in Colab and in the feedback.

Usage (in a public test cell)::

    from asrlab import checks
    alpha = forward(log_probs, labels)
    checks.check_array(alpha, expected, call="forward(log_probs (6, 5), labels [1, 2])",
                       hint="alpha[0, t] adds a blank; alpha[1, t] the first label")
"""
from __future__ import annotations

from typing import Any

import numpy as np

from asrlab.validation import as_numpy


def describe(value: Any) -> str:
    """A short type/dtype/shape description such as ``ndarray float64[3, 4]``."""
    if hasattr(value, "detach") and hasattr(value, "shape"):
        return f"torch tensor {str(value.dtype).replace('torch.', '')}{list(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"ndarray {value.dtype}{list(value.shape)}"
    if isinstance(value, np.generic):
        return f"numpy scalar {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def mismatch(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    """Compare same-shape arrays element-wise; ``None`` when they match, else a message naming
    the first mismatching index. Non-finite values match only the same non-finite reference value."""
    if got.dtype.kind in "fc" or want.dtype.kind in "fc":
        dtype = np.complex128 if "c" in got.dtype.kind + want.dtype.kind else np.float64
        g, w = got.astype(dtype), want.astype(dtype)
        finite = np.isfinite(g) & np.isfinite(w)
        close = np.zeros(g.shape, dtype=bool)
        close[finite] = np.abs(g[finite] - w[finite]) <= atol + rtol * np.abs(w[finite])
        close |= ~np.isfinite(g) & ~np.isfinite(w) & ((g == w) | (np.isnan(g) & np.isnan(w)))
    else:
        close = got == want
    if bool(np.all(close)):
        return None
    bad = np.argwhere(~close)
    first = tuple(int(i) for i in bad[0]) if got.ndim else ()
    g0, w0 = got[first].item(), want[first].item()  # plain Python numbers print without numpy's repr
    note = ""
    if got.dtype.kind in "fc" and not np.isfinite(g0):
        note = (f" (your result contains {'NaN' if np.isnan(g0) else 'inf'}; check for log(0), "
                "division by zero or overflow, e.g. use a log-sum-exp)")
    where = f"at index {list(first)}" if first else "for the scalar"
    return (f"values differ {where}: expected {w0!r}, got {g0!r}{note}; "
            f"{len(bad)} of {close.size} elements differ (rtol={rtol:g}, atol={atol:g})")


class CheckError(AssertionError):
    """A failed public check (an AssertionError, so nbgrader counts the cell as failed)."""


def _fail(problem: str, call: str | None, hint: str | None) -> None:
    lines = [f"{call}: {problem}" if call else problem]
    if hint:
        lines.append(f"hint: {hint}")
    raise CheckError("\n".join(lines))


def check_shape(value: Any, shape: tuple[int, ...], call: str | None = None, hint: str | None = None) -> None:
    """Fail unless ``value`` has ``.shape == shape``."""
    got = getattr(value, "shape", None)
    if got is None or tuple(got) != tuple(shape):
        _fail(f"expected shape {list(shape)}, got {describe(value)}", call, hint)


def check_array(
    got: Any,
    expected: Any,
    call: str | None = None,
    hint: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    dtype_kind: bool = True,
) -> None:
    """Fail unless ``got`` (ndarray or tensor) matches ``expected`` in shape, dtype kind and values.

    Parameters
    ----------
    got, expected : arrays or tensors of the same shape.
    call : how the function was called, e.g. ``"forward(log_probs (6, 5), labels [1, 2])"``.
    hint : what to look at when the values differ.
    dtype_kind : require a float result for a float reference (an int for an int reference).
    """
    if not (isinstance(got, np.ndarray) or hasattr(got, "detach")):
        _fail(f"expected an array {describe(np.asarray(expected))}, got {describe(got)}", call, hint)
    g, w = as_numpy(got), as_numpy(expected)
    if g.shape != w.shape:
        _fail(f"expected shape {list(w.shape)}, got {list(g.shape)}", call, hint)
    if dtype_kind and (g.dtype.kind in "fc") != (w.dtype.kind in "fc"):
        _fail(f"expected a {w.dtype} array, got {g.dtype}", call, hint)
    problem = mismatch(g, w, rtol, atol)
    if problem:
        _fail(problem, call, hint)


def check_close(got: Any, expected: float, call: str | None = None, hint: str | None = None,
                rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Fail unless ``got`` is a real number (not a bool) close to ``expected``."""
    if hasattr(got, "detach") and getattr(got, "numel", lambda: 0)() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        _fail(f"expected a number, got {describe(got)}; return float(value)", call, hint)
    problem = mismatch(np.asarray(float(got)), np.asarray(float(expected)), rtol, atol)
    if problem:
        _fail(problem, call, hint)


def check_equal(got: Any, expected: Any, call: str | None = None, hint: str | None = None) -> None:
    """Fail unless ``got`` has the type of ``expected`` and equals it (lists compared item by item)."""
    if type(got) is not type(expected):
        _fail(f"expected {describe(expected)}, got {describe(got)}", call, hint)
    if isinstance(expected, (list, tuple)):
        if len(got) != len(expected):
            _fail(f"expected length {len(expected)}, got {len(got)}: expected {expected!r}, got {got!r}", call, hint)
        first = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), None)
        if first is not None:
            _fail(f"first difference at item {first}: expected {expected[first]!r}, got {got[first]!r}", call, hint)
    elif got != expected:
        _fail(f"expected {expected!r}, got {got!r}", call, hint)
