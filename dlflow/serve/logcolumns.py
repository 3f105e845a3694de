"""What the prediction log keeps of an input: one function, shared by the log and `dlflow monitor`.

- a table column (one value per example) is kept as it is, under its original column name
  (`mean radius`), numbers as numbers, strings as strings, missing values as NaN / "";
- a text input (one string per example) is kept as the strings, under its name;
- anything with more than one value per example (an image, a vector) is kept as summary
  statistics only, `<name>.mean`, `<name>.std`, `<name>.min`, `<name>.max`: an 8x8 image
  already weighs more than its prediction and a 224x224x3 one would swamp the size budget, and
  these summaries are what drift is measured on.

`dlflow monitor` turns the training split into the same columns, so both sides compare alike;
a text input's drift is measured on its length in characters (`drift_features`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

STATS = ("mean", "std", "min", "max")
META_PREFIX = "_"  # the log's own columns: _request_id, _row, _time, _latency_ms, _version, _pred.*, _conf.*


def log_columns(inputs: dict[str, np.ndarray], specs: Sequence[Any]) -> dict[str, np.ndarray]:
    """One 1-D array per logged column, from a batch of model inputs (see the module's docstring)."""
    columns: dict[str, np.ndarray] = {}
    for spec in specs:
        values = np.asarray(inputs[spec.name])
        rows = values.shape[0]
        flat = values.reshape(rows, -1)
        if flat.shape[1] != 1:
            flat = flat.astype(np.float64)
            for stat in STATS:
                columns[f"{spec.name}.{stat}"] = getattr(np, stat)(flat, axis=1)
            continue
        column = flat[:, 0]
        if spec.dtype == "string":
            column = np.array(
                [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in column], dtype=object
            )
        columns[spec.column or spec.name] = column
    return columns


def text_inputs(specs: Sequence[Any]) -> set[str]:
    """The logged columns holding free text (drift is measured on their length)."""
    return {spec.column or spec.name for spec in specs if spec.role == "text"}


def drift_features(columns: dict[str, Any], specs: Sequence[Any]) -> dict[str, np.ndarray]:
    """The columns drift is measured on: text becomes its length (`<name>.length`), the rest as logged."""
    texts = text_inputs(specs)
    features: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if name.startswith(META_PREFIX):
            continue
        values = np.asarray(values)
        if name in texts:
            features[f"{name}.length"] = np.array([len(str(v)) for v in values], dtype=np.float64)
        else:
            features[name] = values
    return features


def is_numeric(values: np.ndarray) -> bool:
    """A numeric feature (PSI and KS) rather than a categorical one (chi-square)."""
    return np.asarray(values).dtype.kind in "fiub"
