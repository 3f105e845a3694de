"""Missing values in tables: what counts as missing, the `error` policy, and fill values by policy.

A missing number is NaN; a missing string is the empty string (an empty cell of a string column
reads as ""; see `dlflow.data.table_files.read_table`). Fill values come from the training split only
and are applied inside the model (`dlflow.model.table_layers.FillMissing`), so `dlflow predict`, the
server and every exported artifact fill a missing value exactly as training did.

Policies (`data.missing`):
    numeric: mean | median | constant (`numeric_constant`) | error
    categorical: most_frequent | constant (`categorical_constant`, a category of its own) | error
Text columns need no policy: a missing text is an empty text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from dlflow.errors import DataError

MISSING_STRING = ""


@dataclass(frozen=True)
class MissingPolicy:
    """How missing values of each column type are handled (the config's `data.missing`)."""

    numeric: str = "mean"
    categorical: str = "most_frequent"
    numeric_constant: float = 0.0
    categorical_constant: int | str = "missing"

    @classmethod
    def from_config(cls, config: Any) -> "MissingPolicy":
        """The policy of a `MissingConfig` (or the defaults for None)."""
        if config is None:
            return cls()
        if isinstance(config, dict):
            return cls(**config)
        return cls(config.numeric, config.categorical, config.numeric_constant, config.categorical_constant)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (kept in Dataset.info and the data card)."""
        return asdict(self)


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a raw value is missing: NaN or None, or the empty string."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "OUS":
        import pandas as pd

        flat = values.reshape(-1)
        mask = pd.isna(flat) | (flat == MISSING_STRING)
        return np.asarray(mask, dtype=bool).reshape(values.shape)
    return np.zeros(values.shape, dtype=bool)


def check_no_missing(
    column: str, values: np.ndarray, role: str, policy: MissingPolicy, locate: Callable[[int], str]
) -> None:
    """Raise a DataError naming the first missing value when the column's policy is `error`.

    Args:
        column: the column's name, for the message.
        values: its raw values (first axis: rows).
        role: numeric or categorical (other roles have no policy).
        policy: the missing-value policy.
        locate: turns a row index into "file:line" (or "file: row N").
    """
    setting = {"numeric": policy.numeric, "categorical": policy.categorical}.get(role)
    if setting != "error":
        return
    mask = missing_mask(values).reshape(len(values), -1).any(axis=1)
    if mask.any():
        row = int(np.flatnonzero(mask)[0])
        raise DataError(
            f"{locate(row)}: column '{column}' has a missing value ({int(mask.sum())} in all) and "
            f"data.missing.{role} is 'error'; fill them, or set data.missing.{role} to "
            f"{'mean, median or constant' if role == 'numeric' else 'most_frequent or constant'}",
            config_path=("data", "missing", role),
        )


def numeric_fill(policy: MissingPolicy, mean: float, median: float | None) -> float | None:
    """The fill value of a numeric column (None under `error`: nothing is filled)."""
    if policy.numeric == "mean":
        return float(mean) if np.isfinite(mean) else 0.0
    if policy.numeric == "median":
        return float(median) if median is not None and np.isfinite(median) else 0.0
    if policy.numeric == "constant":
        return float(policy.numeric_constant)
    return None


def categorical_fill(policy: MissingPolicy, most_frequent: Any, *, integer: bool) -> Any:
    """The fill value of a categorical column (None under `error`, or for an integer-coded column
    whose constant is not an integer: its missing values then go to the out-of-vocabulary bucket)."""
    if policy.categorical == "most_frequent":
        return most_frequent
    if policy.categorical == "constant":
        constant = policy.categorical_constant
        if not integer:
            return str(constant)
        try:
            return int(constant)
        except (TypeError, ValueError):
            return None
    return None
