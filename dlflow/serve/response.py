"""The JSON bodies the server answers with: model status, metadata, and decoded predictions.

Status and metadata follow TensorFlow Serving's shapes. Predictions are decoded into the
original labels; each example's prediction for one output is an object:

| task       | prediction                                                                      |
|------------|---------------------------------------------------------------------------------|
| binary, multiclass | `{"label": "malignant", "confidence": 0.97, "probabilities": {"benign": 0.03, "malignant": 0.97}}` |
| multilabel | `{"labels": ["a", "c"], "probabilities": {"a": 0.9, "b": 0.1, "c": 0.7}}`         |
| regression | `{"value": 151.2}` (a list for several values per example)                       |

A row-format request (`"instances"`) gets `{"predictions": [one per example]}`; with several
outputs each example's prediction is an object by output name, as TF Serving does. A columnar
request (`"inputs"`) gets `{"outputs": [...]}`, or `{"outputs": {output name: [...]}}`.
Non-finite numbers are written as null, so the answer is always valid JSON.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from dlflow.config.task_kinds import is_classification
from dlflow.serve.model import ServedModel

TF_DTYPES = {
    "float32": "DT_FLOAT",
    "float16": "DT_HALF",
    "float64": "DT_DOUBLE",
    "int64": "DT_INT64",
    "int32": "DT_INT32",
    "string": "DT_STRING",
    "bool": "DT_BOOL",
}


def model_status(served: ServedModel) -> dict[str, Any]:
    """`GET /v1/models/<name>`: the one version, AVAILABLE."""
    return {
        "model_version_status": [
            {"version": served.version, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }


def model_metadata(served: ServedModel, serving: dict[str, Any] | None = None) -> dict[str, Any]:
    """`GET /v1/models/<name>/metadata`: the serving signature, plus what dlflow knows of the data
    and (`serving`) how the server runs the model: predict path, JSON codec, batching."""
    inputs = {spec.name: _tensor_info(spec.name, spec.dtype, (-1, *spec.shape)) for spec in served.inputs}
    outputs = {
        spec.name: _tensor_info(spec.name, "float32", served.output_shapes.get(spec.name, (-1,)))
        for spec in served.outputs
    }
    signature = {"inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}
    return {
        "model_spec": {"name": served.name, "signature_name": "", "version": served.version},
        "metadata": {
            "signature_def": {"signature_def": {"serving_default": signature}},
            "dlflow": {
                "run": served.run,
                "kind": served.kind,
                "inputs": [_input_info(spec) for spec in served.inputs],
                "outputs": [_output_info(spec) for spec in served.outputs],
                **({"serving": serving} if serving else {}),
            },
        },
    }


def predictions(served: ServedModel, outputs: dict[str, np.ndarray], *, columnar: bool) -> dict[str, Any]:
    """The answer to `:predict`: decoded predictions in the request's format (see module doc)."""
    decoded = {spec.name: decode_output(served, spec, outputs[spec.name]) for spec in served.outputs}
    if len(decoded) == 1:
        values = next(iter(decoded.values()))
        return {"outputs": values} if columnar else {"predictions": values}
    if columnar:
        return {"outputs": decoded}
    rows = len(next(iter(decoded.values())))
    return {"predictions": [{name: values[i] for name, values in decoded.items()} for i in range(rows)]}


def decode_output(served: ServedModel, spec: Any, raw: np.ndarray) -> list[Any]:
    """One output's raw values as one JSON-ready prediction per example."""
    raw = np.asarray(raw)
    labels, confidence = served.decode(spec, raw)
    if is_classification(spec.task):
        keys = _class_keys(tuple(spec.classes))
        probabilities = _numbers(_class_probabilities(raw, len(keys)))
        return [
            {"label": _plain(label), "confidence": _number(c), "probabilities": dict(zip(keys, row))}
            for label, c, row in zip(labels, confidence.tolist(), probabilities)
        ]
    if spec.task == "multilabel":
        classes = [_plain(c) for c in spec.classes]
        keys = [str(c) for c in classes]
        flags = np.asarray(labels).reshape(len(raw), -1).tolist()
        probabilities = _numbers(raw.reshape(len(raw), -1))
        return [
            {"labels": [c for c, on in zip(classes, row) if on], "probabilities": dict(zip(keys, p))}
            for row, p in zip(flags, probabilities)
        ]
    return [{"value": value} for value in _numbers(np.asarray(labels))]


@functools.lru_cache(maxsize=256)
def _class_keys(classes: tuple) -> list[str]:
    """The answer's probability keys: each class as a string (made once per output, not per request)."""
    return [str(_plain(c)) for c in classes]


def _class_probabilities(raw: np.ndarray, classes: int) -> np.ndarray:
    """(rows, classes) probabilities; a binary sigmoid output p becomes [1 - p, p]."""
    raw = raw.reshape(len(raw), -1)
    if raw.shape[1] == 1 and classes == 2:
        return np.concatenate([1.0 - raw, raw], axis=1)
    return raw


def _numbers(array: np.ndarray) -> list:
    """Nested lists of Python floats, with NaN and infinities as None."""
    array = np.asarray(array, dtype="float64")
    if np.isfinite(array).all():
        return array.tolist()
    return np.where(np.isfinite(array), array, None).tolist()


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _tensor_info(name: str, dtype: str, shape: tuple[int, ...]) -> dict[str, Any]:
    return {
        "dtype": TF_DTYPES.get(str(dtype), f"DT_{str(dtype).upper()}"),
        "tensor_shape": {"dim": [{"size": str(int(d)), "name": ""} for d in shape], "unknown_rank": False},
        "name": name,
    }


def _input_info(spec: Any) -> dict[str, Any]:
    info = {"name": spec.name, "dtype": spec.dtype, "shape": list(spec.shape)}
    for key in ("column", "role"):
        if getattr(spec, key, None):
            info[key] = getattr(spec, key)
    return info


def _output_info(spec: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"name": spec.name, "task": spec.task}
    if spec.classes is not None:
        info["classes"] = [_plain(c) for c in spec.classes]
    return info
