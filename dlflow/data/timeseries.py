"""Time series forecasting: a table in time order becomes sliding windows and the value to forecast.

Every sample is a window over the used columns (the target column(s) and every other numeric
column not ignored by `data.features`) and its target is the target column(s) `horizon` rows
after the window's last row. With `data.window = {length: L, horizon: h, stride: s,
sampling_rate: r}` and the table's rows numbered 0..T-1:

- a window ending at row `e` holds the `L // r` rows `e - (L//r - 1)*r, ..., e - r, e`
  (every r-th row of the L rows up to and including e); its target is row `e + h`;
- the first window ends at row `L - 1`, the next ones every `s` rows, the last one at the
  latest `e` with `e + h <= T - 1`.

With r = 1 this is `keras.utils.timeseries_dataset_from_array(values[:-h], targets=values[L-1+h:],
sequence_length=L, sequence_stride=s)`. The input "series" has shape (L // r, n_features).

No leakage across the chronological split: the Dataset is ordered, so the split takes the first
windows for training, the next for validation, the last for testing. Windows that straddle a
boundary are dropped, so that every row of the table (input or target) belongs to the windows
of one part only: no validation or test target, nor any of their inputs, is inside a training
window, and the series input's normalization (statistics over the training windows' time
steps, inside the model) sees training rows alone. It is the same as splitting the rows first
and windowing each part. `info["parts_rows"]` gives each part's rows; `info["windows_dropped"]`
how many windows the boundaries cost.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dlflow.config.problems import did_you_mean
from dlflow.data.dataset import Dataset, InputSpec, safe_name
from dlflow.data.series_columns import check_numbers, numeric_values, target_columns, used_columns
from dlflow.data.tasks import encode_target
from dlflow.data.windows import SeriesWindows
from dlflow.errors import DataError

SERIES_INPUT = "series"
MULTI_TARGET_NAME = "forecast"  # the one output's name when several columns are forecast together


def load_timeseries(data: Any, task: str | None) -> Dataset:
    """Load `data.source` (a .csv, .tsv or .parquet table in time order) as forecasting windows.

    Args:
        data: the config's DataConfig: `window` (required), `target` (the column(s) to
            forecast), `features` (`ignore` drops a column), `split` (its fractions place the
            boundaries whose straddling windows are dropped).
        task: the config's task: regression or None.
    """
    from dlflow.data.table_files import read_table

    path = Path(data.source)
    fmt = {".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}.get(path.suffix.lower(), "csv")
    return dataset_from_series(read_table(path, fmt), data, task, source=str(path))


def dataset_from_series(
    frame: Any,
    data: Any,
    task: str | None,
    *,
    source: str,
    default_target: str | None = None,
    default_ignore: Sequence[str] = (),
) -> Dataset:
    """Windows and targets from a time-ordered DataFrame (see the module docstring).

    Args:
        frame: the table, one row per time step, oldest first.
        data: the config's DataConfig.
        task: the config's task: regression or None.
        source: the file or built-in name, for messages.
        default_target: the target column when `data.target` is not given (built-ins).
        default_ignore: columns ignored unless `data.features` says otherwise (built-ins).

    Returns:
        An ordered Dataset of kind "timeseries": input "series" (n, L // r, n_features), role
        "series"; one regression target per window (one value, or a vector when several target
        columns are forecast); `info["last_value"]` places the target column inside the window
        for the last-value baseline.
    """
    window = _checked_window(data, task, source)
    targets = target_columns(frame, data.target, default_target, source)
    used, ignored, time_column = used_columns(frame, targets, data.features, default_ignore, source)
    values = numeric_values(frame, used, source)
    ends, parts = _window_ends(len(values), window, data.split, source)
    series = SeriesWindows(values, ends, window_offsets(window.length, window.sampling_rate))
    target_index = [used.index(t) for t in targets]
    spec, encoded = _window_targets(values, ends + window.horizon, targets, target_index, source)
    info = _series_info(window, series, used, targets, target_index, parts)
    info.update(ignored=ignored, **({"time_column": time_column} if time_column else {}))
    return Dataset(
        kind="timeseries",
        inputs={SERIES_INPUT: series},
        targets={spec.name: encoded},
        input_specs={SERIES_INPUT: InputSpec(SERIES_INPUT, series.shape[1:], "float32", "series")},
        target_specs={spec.name: spec},
        source=source,
        ordered=True,
        info=info,
    )


def _series_info(
    window: Any,
    series: SeriesWindows,
    used: list[str],
    targets: list[str],
    target_index: list[int],
    parts: dict[str, Any],
) -> dict[str, Any]:
    """The Dataset's `info`: the window, the columns, the rows and windows of each part."""
    return {
        "window": {
            "length": window.length,
            "horizon": window.horizon,
            "stride": window.stride,
            "sampling_rate": window.sampling_rate,
            "steps": series.shape[1],
        },
        "columns": used,
        "targets": targets,
        "rows": len(series.values),
        "windows": len(series),
        "windows_dropped": parts.pop("dropped"),
        "parts_rows": parts,
        "last_value": {"input": SERIES_INPUT, "feature_index": target_index[0]}
        if len(targets) == 1
        else {"input": SERIES_INPUT, "feature_indices": target_index},
    }


def _window_targets(
    values: np.ndarray, rows: np.ndarray, targets: list[str], target_index: list[int], source: str
) -> tuple[Any, np.ndarray]:
    """Each window's target (the target columns at `rows`), encoded as one regression target."""
    name = safe_name(targets[0]) if len(targets) == 1 else MULTI_TARGET_NAME
    raw = values[rows, target_index[0]] if len(targets) == 1 else values[rows][:, target_index]
    encoded, spec = encode_target(raw, name, "regression", source=source)
    return spec, encoded


def window_offsets(length: int, sampling_rate: int) -> np.ndarray:
    """A window's rows relative to its last row: the `length // sampling_rate` rows ending there."""
    steps = length // sampling_rate
    return ((np.arange(steps) - (steps - 1)) * sampling_rate).astype("int64")


def _checked_window(data: Any, task: str | None, source: str) -> Any:
    """The config's window, once it is known to apply (a window is set, the task is regression)."""
    window = data.window
    if window is None:
        raise DataError(
            f"{source} is a time series: set data.window, e.g. data.window: {{length: 24, horizon: 1}} "
            f"(each sample sees `length` rows and forecasts the target `horizon` rows later)",
            config_path=("data", "window"),
        )
    if task not in (None, "regression"):
        raise DataError(
            f"a time series forecasts values: expected task regression (or none), received '{task}'",
            config_path=("task",),
        )
    if window.length // window.sampling_rate < 1:
        raise DataError(
            f"data.window.length ({window.length}) must be at least data.window.sampling_rate ({window.sampling_rate})",
            config_path=("data", "window", "length"),
        )
    return window


def prediction_windows(frame: Any, series: dict[str, Any], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Every window of a raw table that a run trained on `series` would take, the latest included.

    Windows are laid as in training (length, sampling rate, one every `stride` rows) but anchored
    at the table's last row, so the last window forecasts the step after the data. Nothing is
    dropped for a split and no target is needed: each window's forecast is for `horizon` rows
    after its last row.

    Args:
        frame: the table, one row per time step, oldest first; it must hold every column the run's
            windows hold (other columns are left out).
        series: the run's `{"columns": [...], "window": {...}}` (`Dataset.signature()["series"]`).
        source: the file, for messages.

    Returns:
        (the windows, lazy (`SeriesWindows`, shape (n, steps, n_columns)), the row index of each window's last row).

    Raises:
        DataError: a column is missing or not numeric, a value is missing, the table is shorter
            than one window.
    """
    columns, window = list(series["columns"]), series["window"]
    have = [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in have]
    if missing:
        raise DataError(
            f"{source}: no column {', '.join(repr(c) for c in missing)}; the run's windows hold the "
            f"columns {', '.join(columns)}{did_you_mean(missing[0], have)}"
        )
    for name in columns:
        check_numbers(frame[frame.columns[have.index(name)]], name, source)
    values = numeric_values(frame[[frame.columns[have.index(c)] for c in columns]], columns, source)
    length, stride, rate = int(window["length"]), int(window["stride"]), int(window["sampling_rate"])
    if len(values) < length:
        raise DataError(
            f"{source}: {len(values)} rows, but the run's windows need {length} rows "
            f"(data.window.length); give at least {length} rows"
        )
    ends = np.arange(len(values) - 1, length - 2, -stride)[::-1].astype("int64")
    return SeriesWindows(values, ends, window_offsets(length, rate)), ends


def _window_ends(n_rows: int, window: Any, split: Any, source: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The last row of each kept window, and the rows each part of the split covers.

    Windows straddling a train/validation or validation/test boundary are dropped: after a
    part's last window (target at row e + h) the next part's first window starts after e + h.
    """
    length, horizon, stride = window.length, window.horizon, window.stride
    last_end = n_rows - 1 - horizon
    n_all = (last_end - (length - 1)) // stride + 1 if last_end >= length - 1 else 0
    if n_all < 1:
        raise DataError(
            f"{source}: a window of length {length} plus horizon {horizon} needs at least "
            f"{length + horizon} rows, but the series has {n_rows}; lower data.window.length",
            config_path=("data", "window", "length"),
        )
    skip = math.ceil((length + horizon) / stride) - 1  # windows lost at each boundary
    boundaries = int(split.validation > 0) + int(split.test > 0)
    n_kept = n_all - boundaries * skip
    counts = _split_counts(n_kept, split, source) if n_kept > 0 else None
    if counts is None:
        raise DataError(
            f"{source}: {n_rows} rows give {n_all} windows of length {length} (horizon {horizon}, "
            f"stride {stride}); each of the split's {boundaries} boundaries drops the {skip} windows "
            f"that would straddle it, leaving {max(n_kept, 0)}: too few for validation "
            f"{split.validation:g} and test {split.test:g}; lower data.window.length",
            config_path=("data", "window", "length"),
        )
    ends, parts, index, done = np.empty(sum(counts), dtype="int64"), {}, 0, 0
    for part, count in zip(("train", "validation", "test"), counts, strict=True):
        if part != "train" and count:
            index += skip
        first = (length - 1) + stride * index  # the part's windows end at first, first + stride, ...
        ends[done : done + count] = np.arange(first, first + stride * count, stride, dtype="int64")
        index, done = index + count, done + count
        parts[part] = [first - length + 1, first + stride * (count - 1) + horizon] if count else None
    parts["dropped"] = n_all - n_kept
    return ends, parts


def _split_counts(n: int, split: Any, source: str) -> tuple[int, int, int] | None:
    """How many windows split.py puts in train, validation and test for `n` ordered samples."""
    from dlflow.data.split import make_split

    stand_in = Dataset("timeseries", {SERIES_INPUT: np.zeros((n, 0), "float32")}, {}, {}, {}, source, ordered=True)
    try:
        done = make_split(stand_in, validation=split.validation, test=split.test, stratify=False, seed=0)
    except DataError:
        return None
    sizes = done.sizes()
    return sizes["train"], sizes["validation"], sizes["test"]
