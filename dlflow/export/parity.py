"""Parity: does an exported artifact predict what the Keras model predicts?

Metric, per output `o` (reference `r` = `model.predict(samples)`, artifact predictions `a`,
compared in float64, element by element, after checking the shapes are equal):

    max_abs_diff(o) = max |a - r|
    max_rel_diff(o) = max_abs_diff(o) / max(max |r|, 1e-6)

The relative diff is scaled by the output's largest magnitude rather than element by element,
so outputs near zero (a softmax's tiny probabilities, a centred regression) do not blow it up,
and an error is judged against the size of what the output carries. NaN where the reference
also has NaN counts as equal; anywhere else it is an infinite difference (written `null` in
JSON). Outputs holding strings must match exactly (diff 0.0 or 1.0).

An output passes when `max_rel_diff <= tolerance`; a format passes when all its outputs do.
A format's `max_abs_diff` and `max_rel_diff` are the largest over its outputs.

Tolerances (`tolerance_for`):

| artifact                          | tolerance | why                                    |
|-----------------------------------|-----------|----------------------------------------|
| keras, saved_model, onnx          | 1e-5      | float32 with other kernels/op orders   |
| tflite, quantize none             | 1e-3      | XNNPACK fused kernels                  |
| tflite, quantize dynamic, float16 | 5e-2      | weights rounded to int8 / float16      |
| tflite, quantize int8             | 0.25, and | activations rounded too: only a sanity |
|                                   | agreement | bound for raw values; for probability  |
|                                   | >= 0.9    | outputs the decisions are compared     |

For int8, an output whose reference values all lie in [0, 1] is treated as probabilities and
judged by *agreement* instead of the relative diff: the fraction of rows with the same argmax
(when the last axis has > 1 entries summing to 1, a softmax), or of elements on the same side
of 0.5 (sigmoids); it must be at least `min_agreement`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

SCALE_FLOOR = 1e-6


@dataclass(frozen=True)
class Tolerance:
    """How close an artifact must be. `min_agreement` applies to probability outputs only."""

    rel: float
    min_agreement: float | None = None


TOLERANCES: dict[str, Tolerance] = {
    "keras": Tolerance(1e-5),
    "saved_model": Tolerance(1e-5),
    "onnx": Tolerance(1e-5),
    "tflite": Tolerance(1e-3),
    "tflite/dynamic": Tolerance(5e-2),
    "tflite/float16": Tolerance(5e-2),
    "tflite/int8": Tolerance(0.25, min_agreement=0.9),
}


def tolerance_for(fmt: str, quantize: str = "none") -> Tolerance:
    """The tolerance for a format (and, for tflite, its quantization mode)."""
    if fmt == "tflite" and quantize != "none":
        return TOLERANCES[f"tflite/{quantize}"]
    return TOLERANCES[fmt]


def compare(reference: dict[str, np.ndarray], got: dict[str, np.ndarray], tolerance: Tolerance) -> dict:
    """Compare an artifact's outputs with the reference, output by output.

    Args:
        reference: `{output name: array}` from the Keras model.
        got: `{output name: array}` from the artifact, already matched to the same names.
        tolerance: from `tolerance_for`.

    Returns:
        `{"ok", "max_abs_diff", "max_rel_diff", "tolerance", "outputs": {name: {...}}}`
        (plus `min_agreement` when it applies); non-finite numbers are None.

    Example:
        >>> r = {"output_0": np.array([[0.2, 0.8]])}
        >>> compare(r, {"output_0": np.array([[0.2, 0.8]])}, Tolerance(1e-5))["ok"]
        True
    """
    outputs = {name: _compare_one(ref, got[name], tolerance) for name, ref in reference.items()}
    abs_diffs = [o["max_abs_diff"] for o in outputs.values()]
    rel_diffs = [o["max_rel_diff"] for o in outputs.values()]
    result = {
        "ok": all(o["ok"] for o in outputs.values()),
        "max_abs_diff": _worst(abs_diffs),
        "max_rel_diff": _worst(rel_diffs),
        "tolerance": tolerance.rel,
    }
    if tolerance.min_agreement is not None:
        result["min_agreement"] = tolerance.min_agreement
    result["outputs"] = outputs
    return result


def _compare_one(ref: np.ndarray, got: np.ndarray, tolerance: Tolerance) -> dict:
    ref, got = np.asarray(ref), np.asarray(got)
    if ref.shape != got.shape:
        return {
            "ok": False,
            "max_abs_diff": None,
            "max_rel_diff": None,
            "error": f"shape {list(got.shape)}, expected {list(ref.shape)}",
        }
    if ref.dtype.kind in "USO" or got.dtype.kind in "USO":
        mismatched = int(np.sum(_text(ref) != _text(got)))
        diff = 0.0 if mismatched == 0 else 1.0
        return {"ok": mismatched == 0, "max_abs_diff": diff, "max_rel_diff": diff, "mismatched": mismatched}

    r, a = ref.astype(np.float64), got.astype(np.float64)
    both_nan = np.isnan(r) & np.isnan(a)
    diff = np.where(both_nan, 0.0, np.abs(a - r))
    diff = np.where(np.isnan(diff), np.inf, diff)
    max_abs = float(diff.max()) if diff.size else 0.0
    finite_r = r[np.isfinite(r)]
    scale = max(float(np.abs(finite_r).max()) if finite_r.size else 0.0, SCALE_FLOOR)
    max_rel = max_abs / scale
    entry = {"max_abs_diff": _finite(max_abs), "max_rel_diff": _finite(max_rel)}

    if tolerance.min_agreement is not None and _is_probability(r):
        agreement = _agreement(r, a)
        entry["agreement"] = agreement
        entry["ok"] = agreement >= tolerance.min_agreement
    else:
        entry["ok"] = bool(max_rel <= tolerance.rel)
    return entry


def _is_probability(r: np.ndarray) -> bool:
    return r.size > 0 and bool(np.all(np.isfinite(r))) and r.min() >= 0.0 and r.max() <= 1.0


def _agreement(r: np.ndarray, a: np.ndarray) -> float:
    """Share of decisions kept: argmax for softmax-like outputs, the 0.5 side otherwise."""
    if r.ndim >= 2 and r.shape[-1] > 1 and np.allclose(r.sum(axis=-1), 1.0, atol=1e-3):
        same = np.argmax(r, axis=-1) == np.argmax(a, axis=-1)
    else:
        same = (r > 0.5) == (a > 0.5)
    return float(np.mean(same))


def _text(x: np.ndarray) -> np.ndarray:
    flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in x.ravel().tolist()]
    return np.array(flat, dtype=object).reshape(x.shape)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _worst(values: list[float | None]) -> float | None:
    if any(v is None for v in values):
        return None
    return max(values, default=0.0)


def verdict(entry: dict[str, Any]) -> str:
    """What happened to one exported format, as parity.json records it: skipped (with the reason),
    failed (with the error), or ok / MISMATCH with the largest relative difference."""
    if entry.get("unsupported") or entry.get("skipped"):
        return f"skipped: {entry.get('skipped') or 'unsupported for this model'}"
    if entry.get("error"):
        return f"FAILED: {entry['error']}"
    diff = entry.get("max_rel_diff")
    shown = _number(diff) if diff is not None else "not measured"
    tolerance = f", tolerance {_number(entry['tolerance'])}" if entry.get("tolerance") is not None else ""
    return f"{'ok' if entry.get('ok') else 'MISMATCH'} (max rel diff {shown}{tolerance})"


def _number(value: float) -> str:
    return f"{value:.3g}"
