"""A table's columns as a model's raw inputs (`dlflow predict`, the Python API, `monitor`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlflow.errors import DataError


def table_inputs(frame: Any, specs: dict[str, Any], where: str) -> dict[str, np.ndarray]:
    """A table's (DataFrame's) columns as the model's inputs, by input name (columns by original or input name)."""
    inputs = {}
    for name, spec in specs.items():
        column = spec.column or name
        if column not in frame.columns and name not in frame.columns:
            raise DataError(
                f"{where}: missing column '{column}' (the model takes: "
                f"{', '.join(s.column or n for n, s in specs.items())})"
            )
        values = frame[column if column in frame.columns else name]
        inputs[name] = as_input(np.asarray(values), spec, where, column)
    return inputs


def as_input(values: np.ndarray, spec: Any, path: Path | str, column: str) -> np.ndarray:
    if spec.dtype == "string":
        return np.asarray([("" if v is None else str(v)) for v in values], dtype=object).reshape(-1, *spec.shape)
    try:
        return np.asarray(values, dtype=spec.dtype).reshape(-1, *spec.shape)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{path}: column '{column}': expected {spec.dtype} values of shape {spec.shape}: {exc}"
        ) from exc
