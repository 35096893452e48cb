"""Typed values on the wire between the sandbox and the trusted grader.

The sandbox sends back what a student's function returned. Only plain data may cross:
``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples, string-keyed dicts,
numpy arrays and numpy scalars, and torch tensors (sent as arrays, tagged ``tensor``).
Every value is a JSON tree; arrays travel as base64 ``.npy`` bytes and are read back with
``allow_pickle=False``. Nothing is ever unpickled, so an object with a rigged ``__eq__``
cannot reach the process that decides a grade: what arrives is data, and the trusted side
compares it with its own numpy.

The same encoder sends the trusted side's chosen inputs into the sandbox.
"""
from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np

# A student result larger than this is refused (the limit bounds the grader's memory).
MAX_ARRAY_BYTES = 64 * 1024 * 1024
# Nesting deeper than this is refused (a self-referencing list must not hang the encoder).
MAX_DEPTH = 32

# Plain Python builtins captured at import time, before any student code runs in the same
# interpreter, so a student who rebinds ``builtins.type`` does not change how values are tagged.
_type, _isinstance, _len, _str, _float, _int = type, isinstance, len, str, float, int


class WireError(ValueError):
    """A value that may not cross the sandbox boundary (the message says what and why)."""


def _array_to_b64(arr: np.ndarray) -> str:
    if arr.dtype.hasobject:
        raise WireError("an array of Python objects (dtype=object) cannot be graded; "
                        "return a numeric array, e.g. np.asarray(x, dtype=np.float64)")
    if arr.nbytes > MAX_ARRAY_BYTES:
        raise WireError(f"array of {arr.nbytes} bytes exceeds the {MAX_ARRAY_BYTES}-byte limit")
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _b64_to_array(text: str) -> np.ndarray:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) > MAX_ARRAY_BYTES + 4096:
        raise WireError("array payload too large")
    return np.load(io.BytesIO(raw), allow_pickle=False)


def encode(value: Any, depth: int = 0) -> Any:
    """Turn ``value`` into a JSON-ready tree, refusing anything that is not plain data.

    Subclasses are refused on purpose (a ``float`` subclass may override ``__eq__``):
    the message tells the student which plain type to return instead.
    """
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    t = _type(value)
    if value is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": bool(value)}
    if t is int:
        return {"t": "int", "v": _str(value)}  # as text: arbitrary precision survives JSON
    if t is float:
        return {"t": "float", "v": _float_text(value)}
    if t is str:
        return {"t": "str", "v": value}
    if t is list or t is tuple:
        return {"t": "list" if t is list else "tuple", "v": [encode(v, depth + 1) for v in value]}
    if t is dict:
        for k in value:
            if _type(k) is not str:
                raise WireError(f"dict keys must be str, got {_type(k).__name__}")
        return {"t": "dict", "v": {k: encode(v, depth + 1) for k, v in value.items()}}
    if t is np.ndarray:
        return {"t": "ndarray", "v": _array_to_b64(value)}
    if _isinstance(value, np.generic) and t.__module__ == "numpy":
        return {"t": "npscalar", "v": _array_to_b64(np.asarray(value))}
    if t.__module__ == "torch" and t.__name__ in ("Tensor", "Parameter"):
        arr = value.detach().cpu()
        if _str(arr.dtype) == "torch.bfloat16":
            arr = arr.float()
        return {"t": "tensor", "dtype": _str(value.dtype).replace("torch.", ""),
                "v": _array_to_b64(arr.numpy())}
    raise WireError(f"a value of type {t.__module__}.{t.__qualname__} cannot be graded; "
                    "return plain data (numpy array, torch tensor, int, float, str, list, dict)")


def _float_text(x: float) -> str:
    # JSON has no NaN/inf; keep them as text so "returned NaN" is reported, not lost.
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def decode(tree: Any, depth: int = 0) -> Any:
    """Rebuild a value from :func:`encode`'s tree. Tensors come back as :class:`Tensorish`."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if not isinstance(tree, dict) or "t" not in tree:
        raise WireError("malformed value on the wire")
    t = tree["t"]
    v = tree.get("v")
    if t == "none":
        return None
    if t == "bool":
        return bool(v)
    if t == "int":
        return int(str(v))
    if t == "float":
        return float(str(v))
    if t == "str":
        return str(v)
    if t in ("list", "tuple"):
        items = [decode(x, depth + 1) for x in v]
        return items if t == "list" else tuple(items)
    if t == "dict":
        return {str(k): decode(x, depth + 1) for k, x in v.items()}
    if t == "ndarray":
        return _b64_to_array(v)
    if t == "npscalar":
        return _b64_to_array(v)[()]
    if t == "tensor":
        return Tensorish(_b64_to_array(v), str(tree.get("dtype", "")))
    raise WireError(f"unknown wire type {t!r}")


class Tensorish:
    """A torch tensor received from the sandbox, as a numpy array plus torch's dtype name.

    The trusted side does not need torch to compare results; it keeps the tag so a task can
    insist on "a tensor" versus "an array" and report the torch dtype in its message.
    """

    __slots__ = ("array", "torch_dtype")

    def __init__(self, array: np.ndarray, torch_dtype: str) -> None:
        self.array = array
        self.torch_dtype = torch_dtype

    def __repr__(self) -> str:
        return f"tensor(dtype=torch.{self.torch_dtype}, shape={tuple(self.array.shape)})"
