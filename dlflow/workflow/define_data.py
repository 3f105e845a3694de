"""What define reads from the data before framing the task: tables, time order, image sizes, arrays.

Imports no TensorFlow (pandas, NumPy and Pillow, lazily).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from dlflow.errors import DataError

TABLE_FORMATS = ("csv", "tsv", "parquet")
MAX_IMAGE_SIDE = 192  # images larger (or of mixed sizes) are resized to fit this on their long side
TIME_COLUMN_NAMES = {"date", "time", "timestamp", "datetime", "year", "month", "week", "day", "period", "ds"}
MIN_WINDOW, MAX_WINDOW = 8, 120  # time series window length, in steps


def data_options(source: str, fmt: str, frame: Any, time_column: str | None) -> dict[str, Any]:
    """The `data:` options define chooses: image size and colours, or a time series' window."""
    if fmt == "image_dir":
        return _image_options(Path(source))
    if fmt != "timeseries" and not is_builtin_series(source):
        return {}
    from dlflow.config import WindowOptions

    rows = len(frame) if frame is not None else _series_rows(source)
    options: dict[str, Any] = {"window": WindowOptions(length=_window_length(rows), horizon=1)}
    if time_column and frame is not None and _is_numeric(frame[time_column]):
        options["features"] = {time_column: "ignore"}  # a numeric time axis would pass for a feature
    return options


def read_frame(source: str, fmt: str) -> Any:
    """The DataFrame of a table, a time series file or a built-in series (None for other data)."""
    from dlflow.data.builtin import BUILTIN_SERIES
    from dlflow.data.table_files import read_table

    if fmt in TABLE_FORMATS or fmt == "timeseries":
        suffix = Path(source).suffix.lower()
        return read_table(
            Path(source),
            fmt
            if fmt in TABLE_FORMATS
            else {".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix, "csv"),
        )
    if source.startswith("builtin:") and source.removeprefix("builtin:") in BUILTIN_SERIES:
        return BUILTIN_SERIES[source.removeprefix("builtin:")]()
    return None


def is_builtin_series(source: str) -> bool:
    """True for `builtin:<name>` of a built-in time series."""
    from dlflow.data.builtin import BUILTIN_SERIES

    return source.startswith("builtin:") and source.removeprefix("builtin:") in BUILTIN_SERIES


def _series_rows(source: str) -> int:
    return len(read_frame(source, "builtin"))


def find_time_column(frame: Any) -> str | None:
    """A column that orders the rows in time: a datetime column, or one named like time that only rises."""
    import pandas as pd

    for column in frame.columns:
        values = frame[column]
        named = str(column).strip().lower() in TIME_COLUMN_NAMES
        if pd.api.types.is_datetime64_any_dtype(values):
            return str(column)
        if not named or len(values) < 3:
            continue
        if _is_numeric(values):
            ordered = values
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ordered = pd.to_datetime(values, errors="coerce", format="mixed")
            if ordered.isna().any():
                continue
        if ordered.is_monotonic_increasing:
            return str(column)
    return None


def _is_numeric(values: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))


def _window_length(rows: int) -> int:
    """A window a twentieth of the series (between MIN_WINDOW and MAX_WINDOW steps)."""
    return int(min(MAX_WINDOW, max(MIN_WINDOW, rows // 20)))


def npz_arrays(source: str) -> list[str]:
    import numpy as np

    try:
        with np.load(source, allow_pickle=False) as archive:
            return list(archive.files)
    except (OSError, ValueError) as exc:
        raise DataError(f"{source}: not a readable .npz file ({exc})") from exc


def _image_options(folder: Path) -> dict[str, Any]:
    """data.image for an image folder: its images' size (resized to fit MAX_IMAGE_SIDE) and colours."""
    from statistics import median

    from PIL import Image

    from dlflow.config import ImageOptions
    from dlflow.data.folders import class_files
    from dlflow.data.images import GRAY_PIL_MODES, IMAGE_SUFFIXES

    files, _ = class_files(folder, IMAGE_SUFFIXES, what="images")
    sizes, gray = [], True
    for file in files:
        try:
            with Image.open(file) as image:
                sizes.append((image.size[1], image.size[0]))
                gray = gray and image.mode in GRAY_PIL_MODES
        except (OSError, ValueError, SyntaxError) as exc:
            raise DataError(f"{file}: unreadable image ({exc})") from exc
    height, width = int(median(h for h, _ in sizes)), int(median(w for _, w in sizes))
    scale = min(1.0, MAX_IMAGE_SIDE / max(height, width))
    size = [max(1, round(height * scale)), max(1, round(width * scale))]
    mode = "grayscale" if gray else "rgb"
    return {"image": ImageOptions(size=tuple(size), color_mode=mode)}
