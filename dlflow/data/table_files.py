"""Reading table files (CSV, TSV, parquet) and refusing paths that are not regular files.

One home for what every reader of a user's table needs: duplicate headers refused, missing strings
as "", pandas and pyarrow errors turned into DataErrors naming the file (and the line, for bad
UTF-8). Used by the loaders (`dlflow.data.sources`, `timeseries`, `streaming`) and by predict.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Any, Iterator

from dlflow.errors import DataError


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
        raise DataError(
            f"{path}: {kind}, not a regular file; dlflow reads data only from files and folders",
            config_path=config_path,
        )


def read_table(path: Path, fmt: str) -> Any:
    """Read a CSV, TSV or parquet file into a DataFrame, with data errors for unreadable files.

    A missing cell of a string column reads as the empty string (dlflow's missing string, see
    `dlflow.data.missing`), so training, `dlflow predict` and an exported model see the same value.
    """
    import pandas as pd

    with table_errors(path, fmt):
        check_unique_columns(path, fmt)
        if fmt == "parquet":
            frame = read_parquet_lean(path)
        else:
            frame = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")
    return blank_missing_strings(frame)


def read_parquet_lean(path: Path) -> Any:
    """`pd.read_parquet` holding one copy of the data: pyarrow frees each column once converted
    (`self_destruct`, one block per column), and its pool gives the freed memory back afterwards."""
    import pandas as pd
    import pyarrow as pa

    frame = pd.read_parquet(path, to_pandas_kwargs={"split_blocks": True, "self_destruct": True})
    pa.default_memory_pool().release_unused()
    return frame


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
            raise DataError(
                f"{path}: columns {first[name]} and {number} are both named '{name}'; "
                f"column names must be unique: rename one",
                config_path=("data", "source"),
            )
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
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte offset {offset}); re-save the file as UTF-8",
            config_path=("data", "source"),
        ) from exc
    except (pd.errors.ParserError, csv.Error, ValueError, OSError) as exc:
        raise DataError(
            f"{path}: cannot read it as {fmt}: {str(exc).splitlines()[0]}", config_path=("data", "source")
        ) from exc


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
