"""A time series table's columns: the target(s), the used and ignored ones, the time axis, the values.

What `dlflow.data.timeseries` checks before windowing a table (and `dlflow predict` before
windowing a raw one): every used column numeric, the rows in time order when a time column is
recognized, no missing step; the used columns become one float32 (rows, columns) array, filled
column by column so that no copy of the table is made on the way.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from dlflow.config.problems import did_you_mean
from dlflow.errors import DataError


def check_numbers(series: Any, name: str, source: str) -> None:
    import pandas as pd

    bad = (series.notna() & pd.to_numeric(series, errors="coerce").isna()).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{source}: row {row + 2}, column '{name}': a window takes numbers, received {series.iloc[row]!r}"
        )


def target_columns(frame: Any, target: Any, default: str | None, source: str) -> list[str]:
    columns = [str(c) for c in frame.columns]
    targets = [target] if isinstance(target, str) else list(target or ([default] if default else []))
    if not targets:
        raise DataError(
            f"{source}: data.target must name the column(s) to forecast; columns are: {', '.join(columns)}",
            config_path=("data", "target"),
        )
    for name in targets:
        if name not in columns:
            raise DataError(
                f"{source}: no column '{name}'{did_you_mean(name, columns)}; columns are: {', '.join(columns)}",
                config_path=("data", "target"),
            )
    return targets


def used_columns(
    frame: Any, targets: list[str], features: dict[str, str] | None, default_ignore: Sequence[str], source: str
) -> tuple[list[str], list[str], str | None]:
    """(used columns in table order, ignored columns, the time column if one was recognized)."""
    import pandas as pd

    given = dict(features or {})
    columns = [str(c) for c in frame.columns]
    for name, kind in given.items():
        if name not in columns:
            raise DataError(
                f"{source}: data.features names column '{name}', which the table does not have; "
                f"columns are: {', '.join(columns)}",
                config_path=("data", "features", name),
            )
        if kind in ("categorical", "text"):
            raise DataError(
                f"a time series window takes numeric columns only: expected numeric or ignore for "
                f"'{name}', received {kind}",
                config_path=("data", "features", name),
            )
        if kind == "ignore" and name in targets:
            raise DataError(f"'{name}' is the target: it cannot be ignored", config_path=("data", "features", name))
    used, ignored, time_column = [], [], None
    for name, column in zip(columns, frame.columns, strict=True):
        kind = given.get(name) or ("ignore" if name in default_ignore and name not in targets else None)
        if kind == "ignore":
            ignored.append(name)
            continue
        series = frame[column]
        if kind is None and name not in targets and _is_time(series):
            ignored.append(name)  # the time axis: it orders the rows, it is not a feature
            time_column = time_column or name
            _check_time_order(series, name, source)
            continue
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            numbers = pd.to_numeric(series, errors="coerce")
            bad = series.notna() & numbers.isna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"{source}: row {row + 2}, column '{name}': a window takes numbers, received "
                    f"{series.iloc[row]!r}; set data.features: {{{name}: ignore}} to leave it out",
                    config_path=("data", "features"),
                )
        used.append(name)
    return used, ignored, time_column


def _is_time(series: Any) -> bool:
    """True for datetime columns and for string columns whose every value reads as a date."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    present = series.dropna()
    if present.empty or pd.to_numeric(present, errors="coerce").notna().any():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(present.astype(str), errors="coerce", format="mixed")
    return bool(parsed.notna().all())


def _check_time_order(series: Any, name: str, source: str) -> None:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times = (
            pd.to_datetime(series, errors="coerce", format="mixed")
            if not pd.api.types.is_datetime64_any_dtype(series)
            else series
        )
    stamps = times.to_numpy()
    back = np.flatnonzero(stamps[1:] < stamps[:-1])
    if len(back):
        row = int(back[0]) + 1
        raise DataError(
            f"{source}: the rows must be in time order, but row {row + 2} ({series.iloc[row]}) comes "
            f"before row {row + 1} ({series.iloc[row - 1]}) in column '{name}'; sort the table",
            config_path=("data", "source"),
        )


def numeric_values(frame: Any, used: list[str], source: str) -> np.ndarray:
    """The used columns as one float32 (rows, columns) array, filled column by column (no copy of the
    table); a missing value is refused, the first one (by row, then column) named."""
    import pandas as pd

    if not used:
        raise DataError(f"{source}: no numeric columns left to window", config_path=("data", "features"))
    columns = [c for c in frame.columns if str(c) in used]
    values = np.empty((len(frame), len(columns)), dtype="float32")
    first: list[tuple[int, int]] = []
    missing = 0
    for j, column in enumerate(columns):
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            series = pd.to_numeric(series, errors="coerce")
        values[:, j] = series.to_numpy(dtype="float32", na_value=np.nan)
        gaps = np.flatnonzero(np.isnan(values[:, j]))
        if len(gaps):
            first.append((int(gaps[0]), j))
            missing += len(gaps)
    if first:
        row, col = min(first)
        raise DataError(
            f"{source}: row {row + 2}, column '{used[col]}' has no value ({missing} missing "
            f"in all); a time series needs every step: fill or interpolate the gaps first",
            config_path=("data", "source"),
        )
    return values
