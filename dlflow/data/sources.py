"""From `data:` in the config to a Dataset: picks the loader for the source's format."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Any, Callable, Iterator

from dlflow.data.dataset import Dataset
from dlflow.errors import DataError

SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}

# Loaders for formats provided by other modules register here: format -> loader(data_cfg, task).
EXTRA_LOADERS: dict[str, Callable[[Any, str | None], Dataset]] = {}


def detect_format(source: str) -> str:
    """The data format a source implies (`builtin:` prefix, file suffix, or folder)."""
    if source.startswith("builtin:"):
        return "builtin"
    path = Path(source)
    if path.is_dir():
        return "image_dir" if _has_images(path) else "text_dir"
    return SUFFIX_FORMATS.get(path.suffix.lower(), "unknown")


def load_dataset(data: Any, task: str | None) -> Dataset:
    """Load the data a config's `data:` section describes; an option it cannot use is an error.

    Args:
        data: the config's DataConfig (its `source` already resolved to an absolute path).
        task: the config's task, or None to infer it from the target.
    """
    from dlflow.data.options import check_options_apply

    dataset = _load(data, task)
    check_options_apply(data, dataset)
    return dataset


def _load(data: Any, task: str | None) -> Dataset:
    source = data.source
    fmt = data.format if data.format != "auto" else detect_format(source)
    if fmt == "builtin":
        from dlflow.data.builtin import load_builtin

        try:
            return load_builtin(source.removeprefix("builtin:"), task=task, target=_one_target(data.target),
                                data=data)
        except DataError as exc:
            exc.config_path = exc.config_path or ("data", "source")
            raise
    path = Path(source)
    if not path.exists():
        raise DataError(f"no such file or folder '{source}'", config_path=("data", "source"))
    check_regular(path, config_path=("data", "source"))
    if fmt in ("csv", "tsv", "parquet") and data.format == "auto" and data.window is not None:
        fmt = "timeseries"  # a table with data.window is a series to forecast
    if fmt in ("csv", "tsv", "parquet"):
        from dlflow.data.tabular import dataset_from_frame

        return dataset_from_frame(read_table(path, fmt), target=data.target, features=data.features,
                                  task=task, source=str(path), missing=data.missing,
                                  first_line=None if fmt == "parquet" else 2)
    if fmt == "npz":
        from dlflow.data.arrays import load_npz

        return load_npz(path, target=data.target, features=data.features, task=task)
    if fmt == "image_dir":
        from dlflow.data.images import load_image_dir

        return load_image_dir(data, task)
    if fmt == "text_dir":
        from dlflow.data.text import load_text_dir

        return load_text_dir(data, task)
    if fmt == "timeseries":
        from dlflow.data.timeseries import load_timeseries

        return load_timeseries(data, task)
    if fmt in EXTRA_LOADERS:
        return EXTRA_LOADERS[fmt](data, task)
    raise DataError(
        f"cannot tell the format of '{source}': expected a .csv, .tsv, .parquet or .npz file, a folder, "
        f"or builtin:<name>; set data.format", config_path=("data", "format"),
    )


def check_regular(path: Path, *, config_path: tuple | None = None) -> None:
    """Refuse a data path that is neither a regular file nor a folder (a FIFO, a device, a socket):
    opening one could block forever or read without end. Checked before anything opens it."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})", config_path=config_path) from exc
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise DataError(f"{path}: {kind}, not a regular file; dlflow reads data only from files and folders",
                        config_path=config_path)


def read_table(path: Path, fmt: str) -> Any:
    """Read a CSV, TSV or parquet file into a DataFrame, with data errors for unreadable files.

    A missing cell of a string column reads as the empty string (dlflow's missing string, see
    `dlflow.data.missing`), so training, `dlflow predict` and an exported model see the same value.
    """
    import pandas as pd

    with table_errors(path, fmt):
        check_unique_columns(path, fmt)
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")
    return blank_missing_strings(frame)


def check_unique_columns(path: Path, fmt: str) -> None:
    """Refuse a table whose header names a column twice (pandas would silently rename one `name.1`)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        names = list(pq.read_schema(path).names)
    else:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            names = next(csv.reader(handle, delimiter="\t" if fmt == "tsv" else ","), [])
    first: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if name in first:
            raise DataError(f"{path}: columns {first[name]} and {number} are both named '{name}'; "
                            f"column names must be unique: rename one", config_path=("data", "source"))
        first[name] = number


def blank_missing_strings(frame: Any) -> Any:
    """Replace NaN/None in the string columns of a DataFrame with "" (in place; returned).

    String columns (pandas' `str`/`string` or `object` dtype) become `object` columns of Python
    strings, the form raw string inputs take everywhere in dlflow.
    """
    import pandas as pd

    for column in frame.columns:
        series = frame[column]
        if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
            frame[column] = series.astype(object).where(series.notna(), "")
    return frame


@contextlib.contextmanager
def table_errors(path: Path, fmt: str) -> Iterator[None]:
    """Turn pandas/pyarrow reading errors into DataErrors naming the file (and line, for bad UTF-8)."""
    import pandas as pd

    try:
        yield
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty", config_path=("data", "source")) from exc
    except UnicodeDecodeError as exc:
        line, offset = first_bad_utf8(path)
        raise DataError(f"{path}:{line}: not UTF-8 text (byte offset {offset}); re-save the file as UTF-8",
                        config_path=("data", "source")) from exc
    except (pd.errors.ParserError, csv.Error, ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read it as {fmt}: {str(exc).splitlines()[0]}",
                        config_path=("data", "source")) from exc


def first_bad_utf8(path: Path) -> tuple[int, int]:
    """The line number and byte offset of the first byte that is not UTF-8 text; (0, 0) if none."""
    offset = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, offset + exc.start
            offset += len(line)
    return 0, 0


def _one_target(target: str | list[str] | None) -> str | None:
    return target[0] if isinstance(target, list) and len(target) == 1 else target  # type: ignore[return-value]


def _has_images(folder: Path) -> bool:
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
    return any(p.suffix.lower() in suffixes for p in folder.rglob("*") if p.is_file())
