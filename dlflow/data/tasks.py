"""Framing the task from a target: binary, multiclass, multilabel or regression; encoding it."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlflow.data.dataset import TargetSpec
from dlflow.errors import DataError

MAX_CLASSES = 200  # an integer target with more distinct values than this is a regression target


def infer_task(values: np.ndarray) -> str:
    """The task a target array implies.

    A 2-D array of 0/1 is multilabel; strings or booleans are classification; integers with
    few distinct values are classification; everything else is regression.
    """
    if values.ndim == 2 and values.shape[1] > 1:
        unique = np.unique(values)
        return "multilabel" if np.isin(unique, [0, 1]).all() else "regression"
    flat = values.reshape(-1)
    if flat.dtype.kind in "OUSb":
        return "binary" if len(_unique(flat)) == 2 else "multiclass"
    if flat.dtype.kind in "iu" or (flat.dtype.kind == "f" and np.all(np.mod(flat[~np.isnan(flat)], 1) == 0)):
        distinct = len(np.unique(flat[~_isnan(flat)]))
        if distinct == 2:
            return "binary"
        if distinct <= min(MAX_CLASSES, max(2, len(flat) // 5)) and flat.dtype.kind in "iu":
            return "multiclass"
    return "regression"


def encode_target(
    values: np.ndarray, name: str, task: str | None, source: str | None = None
) -> tuple[np.ndarray, TargetSpec]:
    """Encode a raw target for `task` (inferred when None) and describe it.

    Classification labels become indices into `TargetSpec.classes` (sorted original labels),
    so predictions can be turned back into the original labels.

    Args:
        source: the data's file or folder: errors start with it and point at `data.target`.
    """
    try:
        return _encode_target(np.asarray(values), name, task)
    except DataError as exc:
        raise DataError(f"{source}: {exc.message}" if source else exc.message, config_path=("data", "target")) from None


def _encode_target(values: np.ndarray, name: str, task: str | None) -> tuple[np.ndarray, TargetSpec]:
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = ~np.isfinite(values.reshape(values.shape[0] if values.ndim else 1, -1)).all(axis=1)
        raise DataError(
            f"target '{name}': {int(bad.sum())} samples have a NaN or infinite target (the first is "
            f"sample {int(np.flatnonzero(bad)[0])}); drop or fix them"
        )
    task = task or infer_task(values)
    if task == "regression":
        if values.dtype.kind not in "iuf":
            raise DataError(
                f"target '{name}': regression needs numbers, received values like {values.reshape(-1)[0]!r}",
                config_path=("data", "target"),
            )
        encoded = values.astype("float32")
        return encoded, TargetSpec(name, task, None, tuple(encoded.shape[1:]))
    if task == "multilabel":
        if values.ndim != 2:
            raise DataError(
                f"target '{name}': multilabel needs a 2-D 0/1 array, received shape {values.shape}",
                config_path=("data", "target"),
            )
        classes = tuple(range(values.shape[1]))
        return values.astype("float32"), TargetSpec(name, task, classes, (values.shape[1],))
    flat = values.reshape(-1) if values.ndim > 1 and values.shape[1:] == (1,) * (values.ndim - 1) else values
    if flat.ndim != 1:
        raise DataError(
            f"target '{name}': {task} needs one label per sample, received shape {values.shape}",
            config_path=("data", "target"),
        )
    if _isnan(flat).any():
        raise DataError(
            f"target '{name}': {int(_isnan(flat).sum())} samples have no label", config_path=("data", "target")
        )
    classes = _unique(flat)
    if task == "binary" and len(classes) != 2:
        raise DataError(
            f"target '{name}': binary needs exactly 2 classes, received {len(classes)}", config_path=("data", "target")
        )
    if len(classes) < 2:
        raise DataError(
            f"target '{name}': classification needs at least 2 classes, received {len(classes)}",
            config_path=("data", "target"),
        )
    index = {label: i for i, label in enumerate(classes)}
    encoded = np.array([index[_key(v)] for v in flat], dtype="int64")
    if task == "binary":
        encoded = encoded.astype("float32")
    return encoded, TargetSpec(name, task, tuple(classes), ())


def decode_predictions(spec: TargetSpec, predictions: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Turn model outputs into labels: (labels, confidence) for classification, (values, None) else."""
    predictions = np.asarray(predictions)
    if spec.task == "multiclass":
        index = predictions.argmax(axis=-1)
        return np.asarray(spec.classes, dtype=object)[index], predictions.max(axis=-1)
    if spec.task == "binary":
        p = predictions.reshape(len(predictions), -1)[:, -1]
        index = (p >= 0.5).astype(int)
        return np.asarray(spec.classes, dtype=object)[index], np.where(index == 1, p, 1 - p)
    if spec.task == "multilabel":
        return (predictions >= 0.5).astype(int), predictions
    return predictions.reshape(len(predictions), -1).squeeze(-1) if predictions.shape[-1:] == (
        1,
    ) else predictions, None


def _isnan(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values])
    return np.zeros(values.shape, dtype=bool)


def _key(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _unique(values: np.ndarray) -> list[Any]:
    uniques = {_key(v) for v in values.reshape(-1)}
    try:
        return sorted(uniques)
    except TypeError:
        return sorted(uniques, key=str)
