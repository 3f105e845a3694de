"""Tables (a pandas DataFrame from CSV, parquet or a built-in) as one model input per column."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec, safe_name
from dlflow.data.tasks import encode_target
from dlflow.errors import DataError

CATEGORICAL_MAX_INT_VALUES = 10  # an integer column with at most this many values is categorical
TEXT_MIN_MEAN_WORDS = 4  # a string column whose values average this many words is text


def infer_column_type(values: Any) -> str:
    """numeric, categorical, text or ignore, from a pandas Series' values."""
    import pandas as pd

    series = pd.Series(values)
    present = series.dropna()
    if present.empty:
        return "ignore"
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        integral = pd.api.types.is_integer_dtype(series) or bool(np.all(np.mod(present, 1) == 0))
        if integral and present.nunique() <= CATEGORICAL_MAX_INT_VALUES and len(present) > 2 * present.nunique():
            return "categorical"
        return "numeric"
    strings = present.astype(str)
    if strings.str.split().str.len().mean() >= TEXT_MIN_MEAN_WORDS:
        return "text"
    if strings.nunique() == len(strings) and len(strings) > 20:
        return "ignore"  # an identifier: unique per row, carries no signal
    return "categorical"


def dataset_from_frame(
    frame: Any,
    *,
    target: str | list[str] | None,
    features: dict[str, str] | None,
    task: str | None,
    source: str,
) -> Dataset:
    """Build a tabular Dataset: each kept column becomes a named input of shape (1,).

    Args:
        frame: the table (pandas DataFrame).
        target: the target column(s); required.
        features: column types (numeric, categorical, text, ignore); inferred when omitted.
        task: the task, inferred from the target when None.
        source: the file or built-in name, for messages.
    """
    if frame.shape[0] == 0:
        raise DataError(f"{source}: the table has no rows")
    targets = [target] if isinstance(target, str) else list(target or [])
    if not targets:
        raise DataError(f"{source}: data.target is required for a table; columns are: {', '.join(map(str, frame.columns))}")
    for name in targets:
        if name not in frame.columns:
            import difflib

            close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise DataError(f"{source}: no target column '{name}'{hint}; columns are: {', '.join(map(str, frame.columns))}")
    given = dict(features or {})
    for name in given:
        if name not in frame.columns:
            raise DataError(f"{source}: data.features names column '{name}', which the table does not have")
    column_types: dict[str, str] = {}
    for column in frame.columns:
        if column in targets:
            continue
        column_types[str(column)] = given.get(str(column)) or infer_column_type(frame[column])

    inputs: dict[str, np.ndarray] = {}
    specs: dict[str, InputSpec] = {}
    for column, kind in column_types.items():
        if kind == "ignore":
            continue
        key = safe_name(column)
        if key in inputs:
            raise DataError(f"{source}: columns '{specs[key].column}' and '{column}' map to the same input name '{key}'")
        inputs[key], spec = _column_input(frame[column], column, kind, source)
        specs[key] = InputSpec(key, spec.shape, spec.dtype, spec.role, column=column)
    if not inputs:
        raise DataError(f"{source}: no feature columns left after removing the target and ignored columns")

    encoded, target_specs = {}, {}
    if len(targets) > 1 and (task in (None, "multilabel")) and all(
        set(frame[t].dropna().unique()) <= {0, 1} for t in targets
    ):
        values, spec = encode_target(frame[targets].to_numpy(), "+".join(targets), "multilabel")
        spec = type(spec)(spec.name, spec.task, tuple(targets), spec.shape)
        encoded[spec.name], target_specs[spec.name] = values, spec
    else:
        for name in targets:
            values, spec = encode_target(frame[name].to_numpy(), name, task)
            encoded[name], target_specs[name] = values, spec
    info = {"column_types": column_types, "missing": {str(c): int(n) for c, n in frame.isna().sum().items() if n}}
    return Dataset("tabular", inputs, encoded, specs, target_specs, source, info=info)


def _column_input(series: Any, name: str, kind: str, source: str) -> tuple[np.ndarray, InputSpec]:
    import pandas as pd

    if kind == "numeric":
        numbers = pd.to_numeric(series, errors="coerce")
        bad = series.notna() & numbers.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: row {row + 2}, column '{name}': expected a number, received {series.iloc[row]!r}"
            )
        return numbers.to_numpy("float32").reshape(-1, 1), InputSpec(name, (1,), "float32", "numeric")
    if kind == "categorical":
        if pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(series):
            return series.to_numpy("int64").reshape(-1, 1), InputSpec(name, (1,), "int64", "categorical")
        strings = series.astype("string").fillna("").to_numpy(dtype=object).reshape(-1, 1)
        return strings, InputSpec(name, (1,), "string", "categorical")
    if kind == "text":
        strings = series.astype("string").fillna("").to_numpy(dtype=object).reshape(-1, 1)
        return strings, InputSpec(name, (1,), "string", "text")
    raise DataError(f"{source}: column '{name}': unknown type '{kind}'")
