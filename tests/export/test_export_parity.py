"""The parity metric on plain arrays (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from dlflow.export.parity import Tolerance, compare, tolerance_for
from dlflow.export.signature import NameMismatch, match_names


def test_relative_diff_is_scaled_by_the_largest_reference_magnitude():
    ref = {"output_0": np.array([[100.0, 0.001], [-200.0, 0.0]])}
    got = {"output_0": np.array([[100.0, 0.005], [-200.0, 0.0]])}
    result = compare(ref, got, Tolerance(1e-5))
    assert result["max_abs_diff"] == pytest.approx(0.004)
    assert result["max_rel_diff"] == pytest.approx(0.004 / 200)
    assert result["ok"] is False
    assert compare(ref, got, Tolerance(1e-4))["ok"] is True


def test_worst_output_decides_and_each_output_is_reported():
    ref = {"a": np.ones((2, 1)), "b": np.ones((2, 3))}
    got = {"a": np.ones((2, 1)), "b": np.ones((2, 3)) * 1.1}
    result = compare(ref, got, Tolerance(1e-3))
    assert result["outputs"]["a"]["ok"] is True
    assert result["outputs"]["b"]["ok"] is False
    assert result["ok"] is False
    assert result["max_rel_diff"] == pytest.approx(0.1)


def test_shape_mismatch_and_nan_fail_and_stay_json_safe():
    shape = compare({"o": np.zeros((4, 1))}, {"o": np.zeros(4)}, Tolerance(1e-5))
    assert shape["ok"] is False and shape["max_abs_diff"] is None and "shape" in shape["outputs"]["o"]["error"]
    nan = compare({"o": np.array([1.0, np.nan])}, {"o": np.array([np.nan, np.nan])}, Tolerance(1e-5))
    assert nan["ok"] is False and nan["max_abs_diff"] is None
    same_nan = compare({"o": np.array([1.0, np.nan])}, {"o": np.array([1.0, np.nan])}, Tolerance(1e-5))
    assert same_nan["ok"] is True


def test_all_zero_outputs_do_not_divide_by_zero():
    result = compare({"o": np.zeros((3, 2))}, {"o": np.full((3, 2), 1e-12)}, Tolerance(1e-5))
    assert result["max_rel_diff"] == pytest.approx(1e-6)
    assert result["ok"] is True


def test_int8_judges_probabilities_by_agreement():
    tol = tolerance_for("tflite", "int8")
    ref = np.array([[0.7, 0.2, 0.1]] * 9 + [[0.4, 0.35, 0.25]])
    got = ref.copy()
    got[-1] = [0.3, 0.45, 0.25]  # one of ten decisions flips: agreement 0.9
    result = compare({"p": ref}, {"p": got}, tol)
    assert result["outputs"]["p"]["agreement"] == pytest.approx(0.9)
    assert result["ok"] is True
    got[-2] = [0.1, 0.8, 0.1]
    assert compare({"p": ref}, {"p": got}, tol)["ok"] is False
    regression = compare({"r": np.array([10.0, -4.0])}, {"r": np.array([11.0, -4.0])}, tol)
    assert "agreement" not in regression["outputs"]["r"] and regression["ok"] is True


def test_tolerance_table():
    assert tolerance_for("onnx").rel == 1e-5
    assert tolerance_for("tflite").rel == 1e-3
    assert tolerance_for("tflite", "float16").rel == 5e-2
    assert tolerance_for("tflite", "int8").min_agreement == 0.9


def test_name_matching_tolerates_converter_decorations():
    assert match_names(["a", "b"], ["serving_default_b:0", "a:0"], "inputs") == {"a": "a:0", "b": "serving_default_b:0"}
    assert match_names(["keras_tensor_3"], ["input_layer"], "inputs") == {"keras_tensor_3": "input_layer"}
    with pytest.raises(NameMismatch):
        match_names(["a", "b"], ["c", "d"], "inputs")
