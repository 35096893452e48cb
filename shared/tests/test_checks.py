"""Tests for asrlab.checks: each failure names the call, the problem and the hint."""
import numpy as np
import pytest
import torch

from asrlab import checks


def test_matching_arrays_and_tensors_pass():
    ref = np.linspace(-3, 0, 12).reshape(3, 4)
    checks.check_array(ref.copy(), ref)
    checks.check_array(torch.from_numpy(ref.copy()), ref)
    checks.check_array(ref + 1e-9, ref, rtol=0, atol=1e-8)


def test_first_mismatch_is_named_with_call_and_hint():
    ref = np.zeros((3, 4))
    got = ref.copy()
    got[1, 2], got[2, 0] = 5.0, 7.0
    with pytest.raises(checks.CheckError) as err:
        checks.check_array(got, ref, call="forward(x (3, 4))", hint="look at row 1")
    message = str(err.value)
    assert message.startswith("forward(x (3, 4)): values differ at index [1, 2]: expected 0.0, got 5.0")
    assert "2 of 12 elements differ" in message and message.endswith("hint: look at row 1")


def test_shape_dtype_and_type_problems():
    ref = np.zeros((2, 3))
    with pytest.raises(checks.CheckError, match=r"expected shape \[2, 3\], got \[3, 2\]"):
        checks.check_array(np.zeros((3, 2)), ref)
    with pytest.raises(checks.CheckError, match="expected a float64 array, got int64"):
        checks.check_array(np.zeros((2, 3), dtype=np.int64), ref)
    with pytest.raises(checks.CheckError, match=r"expected an array ndarray float64\[2, 3\], got list"):
        checks.check_array([[0.0] * 3] * 2, ref)
    with pytest.raises(checks.CheckError, match=r"expected shape \[5\], got torch tensor float32\[4\]"):
        checks.check_shape(torch.zeros(4), (5,))


def test_non_finite_values_get_a_log_sum_exp_hint():
    with pytest.raises(checks.CheckError, match="contains NaN.*log-sum-exp"):
        checks.check_array(np.array([0.0, np.nan]), np.array([0.0, -1.0]))
    # -inf where the reference has -inf is a match (impossible states in a trellis)
    checks.check_array(np.array([-np.inf, 1.0]), np.array([-np.inf, 1.0]))


def test_always_equal_objects_do_not_pass():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(checks.CheckError, match="expected list of length 2, got AlwaysEqual"):
        checks.check_equal(AlwaysEqual(), [1, 2])
    with pytest.raises(checks.CheckError, match="expected a number, got AlwaysEqual"):
        checks.check_close(AlwaysEqual(), 1.0)
    with pytest.raises(checks.CheckError, match="expected a number, got bool"):
        checks.check_close(True, 1.0)


def test_check_equal_names_first_differing_item_and_close_accepts_scalar_tensors():
    with pytest.raises(checks.CheckError, match="first difference at item 1: expected 3, got 4"):
        checks.check_equal([2, 4, 5], [2, 3, 5])
    with pytest.raises(checks.CheckError, match="expected length 2, got 3"):
        checks.check_equal([1, 2, 3], [1, 2])
    checks.check_close(torch.tensor(5.095666885), 5.09566688538)
    with pytest.raises(checks.CheckError, match="values differ for the scalar: expected 1.0, got 1.5"):
        checks.check_close(1.5, 1.0)
