"""Typed data on the wire and the strict comparisons (no sandbox needed)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from asrlab_grade import wire
from asrlab_grade.compare import ArrayClose, Exact, ScalarClose
from asrlab_grade.task import Band, band_fraction, error_rate_percent


def roundtrip(value):
    return wire.decode(json.loads(json.dumps(wire.encode(value))))


def test_plain_values_roundtrip_with_their_types():
    value = {"a": [1, 2.5, "x", None, True], "b": (3, float("nan")), "big": 2**80}
    got = roundtrip(value)
    assert got["a"] == [1, 2.5, "x", None, True] and type(got["b"]) is tuple
    assert np.isnan(got["b"][1]) and got["big"] == 2**80


def test_arrays_keep_dtype_shape_and_tensors_are_tagged():
    arr = np.arange(6, dtype=np.int32).reshape(2, 3)
    got = roundtrip(arr)
    assert type(got) is np.ndarray and got.dtype == np.int32 and got.shape == (2, 3)
    t = roundtrip(torch.ones(2, dtype=torch.float16))
    assert isinstance(t, wire.Tensorish) and t.torch_dtype == "float16" and t.array.dtype == np.float16
    assert roundtrip(np.float32(1.5)).dtype == np.float32


@pytest.mark.parametrize("bad", [np.zeros(2).view(type("Sub", (np.ndarray,), {})),
                                 type("F", (float,), {"__eq__": lambda s, o: True})(1.0),
                                 object(), np.array([object()], dtype=object), {1: 2}])
def test_refuses_anything_but_plain_data(bad):
    with pytest.raises(wire.WireError):
        wire.encode(bad)


def test_refuses_self_referencing_structures():
    a: list = []
    a.append(a)
    with pytest.raises(wire.WireError, match="nested"):
        wire.encode(a)


def test_decode_never_unpickles():
    import base64, io, pickle
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    tree = {"t": "ndarray", "v": base64.b64encode(buf.getvalue()).decode()}
    with pytest.raises(ValueError):
        wire.decode(tree)
    with pytest.raises(wire.WireError):
        wire.decode({"t": "pickle", "v": base64.b64encode(pickle.dumps(1)).decode()})


def test_array_close_messages_name_the_problem():
    ref = np.array([[0.1, 0.2], [0.3, 0.4]])
    cmp = ArrayClose(rtol=1e-6, atol=1e-9)
    assert cmp(ref.copy(), ref).ok
    v = cmp(ref.T.copy()[:1], ref)
    assert not v.ok and "expected shape [2, 2], got [1, 2]" in v.message
    v = cmp(ref.astype(np.float32), ref)
    assert not v.ok and "expected dtype float64, got float32" in v.message
    bad = ref.copy()
    bad[1, 0] = np.nan
    v = cmp(bad, ref)
    assert not v.ok and "index [1, 0]" in v.message and "NaN" in v.message and "1 of 4" in v.message
    v = cmp(wire.Tensorish(ref, "float64"), ref)
    assert not v.ok and "numpy ndarray" in v.message
    assert ArrayClose(container="either")(wire.Tensorish(ref, "float64"), ref).ok
    assert not cmp([[0.1, 0.2], [0.3, 0.4]], ref).ok


def test_scalar_and_exact():
    assert ScalarClose()(np.float64(1.0 + 1e-9), 1.0).ok
    assert not ScalarClose()(True, 1.0).ok
    assert not ScalarClose()(float("inf"), 1.0).ok
    assert Exact()([1, 2, 3], [1, 2, 3]).ok
    v = Exact()([1, 2, 4], [1, 2, 3])
    assert not v.ok and v.message.startswith("item 2")
    assert not Exact()((1, 2), [1, 2]).ok


def test_bands_and_error_rate():
    bands = (Band(35, 1.0), Band(40, 0.75), Band(50, 0.5), Band(60, 0.25))
    assert [band_fraction(v, bands) for v in (20, 35, 38, 45, 59.9, 61, float("nan"))] == \
        [1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert error_rate_percent([1, 2, 3, 4], [1, 2, 0, 4]) == 25.0
    assert np.isnan(error_rate_percent([1, 2], [1]))


def test_asrlab_metric_is_percent_and_lazy():
    pytest.importorskip("asrlab.metrics")
    from asrlab_grade.task import asrlab_metric
    wer = asrlab_metric("wer")
    assert wer(["the cat sat", "a dog"], ["the cat sad", "a dog"]) == pytest.approx(20.0)
    assert np.isnan(wer(["a"], [3])), "non-string predictions score nothing"


def test_log_array_close_reads_very_negative_values_as_log_zero_and_spots_probabilities():
    from asrlab_grade.compare import LogArrayClose

    want = np.array([[0.0, -np.inf], [-0.5, -1.2]])
    compare = LogArrayClose(rtol=1e-6, atol=1e-6)
    assert compare(np.array([[0.0, -1e30], [-0.5, -1.2]]), want).ok
    assert not compare(np.array([[0.0, -1e3], [-0.5, -1.2]]), want).ok   # -1000 is a probability, not log(0)
    probs = compare(np.exp(np.array([[0.0, -50.0], [-0.5, -1.2]])), want)
    assert not probs.ok and "log-probabilities" in probs.message


def test_fields_close_names_the_field_that_differs():
    from asrlab_grade.compare import FieldsClose, ScalarClose

    compare = FieldsClose(lengths=Exact(), loss=ScalarClose(rtol=1e-6, atol=0))
    assert compare({"lengths": [3, 2], "loss": 1.0}, {"lengths": [3, 2], "loss": 1.0}).ok
    assert compare({"lengths": [3, 1], "loss": 1.0}, {"lengths": [3, 2], "loss": 1.0}).message.startswith("lengths:")
    assert "no 'loss'" in compare({"lengths": [3, 2]}, {"lengths": [3, 2], "loss": 1.0}).message
    assert "expected a dict" in compare([3, 2], {"lengths": [3, 2], "loss": 1.0}).message


def test_per_budget_settings_resolve_when_a_run_grades(monkeypatch):
    from asrlab_grade.task import PerBudget, for_budget
    from asrlab_grade.tasks.e2e_mtl import TRAINED_CTC

    bands = PerBudget(full=(Band(30.0, 1.0),), ci=(Band(35.0, 1.0),))
    monkeypatch.setenv("ASRLAB_BUDGET", "ci")
    assert for_budget(bands)[0].max_value == 35.0 and for_budget(TRAINED_CTC.bands)[0].max_value == 42.0
    monkeypatch.setenv("ASRLAB_BUDGET", "full")
    assert for_budget(bands)[0].max_value == 30.0 and for_budget(TRAINED_CTC.bands)[0].max_value == 35.0
    assert for_budget("CER %") == "CER %"
