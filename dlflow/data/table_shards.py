"""A table stored as one file or as shards (a folder or a glob of CSV, TSV or parquet files), read
through pyarrow in chunks of rows.

`TableShards` lists the files (sorted), reads them in order as one table (every shard must
have the same columns), and names a row by its shard and line in messages. Parquet is read by
row batches; CSV and TSV by pyarrow's multithreaded block reader, with each column's type fixed
from the first rows as pandas reads them (so a streamed table's types, missing values and
classes are those of an in-memory one). A block pyarrow cannot convert (a word in a numeric
column, bad UTF-8, a ragged row) is read again from its first row by pandas, whose values reach
the usual checks, so the error names the file, the line and the value as for a table in memory.
"""

from __future__ import annotations

import bisect
import glob
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from dlflow.errors import DataError

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
GLOB_CHARS = set("*?[")
BLOCK_BYTES = 8 << 20  # pyarrow's CSV block size: rows parsed together, in parallel
# pyarrow's CSV reader reads up to 32 blocks ahead of the consumer: a slow one (`dlflow predict`)
# holds 32 x block_bytes of the file, so it asks for smaller blocks
PANDAS_NULLS = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]  # what pandas.read_csv reads as missing


def is_pattern(source: str) -> bool:
    """Whether a source is a glob pattern (`data/part-*.parquet`) rather than a path."""
    return any(c in GLOB_CHARS for c in Path(source).name) or any(c in GLOB_CHARS for c in source)


def shard_files(source: str) -> list[Path]:
    """The table files a source stands for: the file itself, a folder's table files (recursively,
    hidden ones left out) or a glob's matches; sorted."""
    if is_pattern(source):
        found = [Path(p) for p in glob.glob(source, recursive=True)]
    elif Path(source).is_dir():
        root = Path(source)
        found = [
            p
            for p in root.rglob("*")
            if p.suffix.lower() in TABLE_FORMATS and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ]
    else:
        return [Path(source)]
    return sorted(p for p in found if p.is_file())


def shards_format(files: list[Path]) -> str | None:
    """The one table format of a list of files, or None when they are not all tables of one format."""
    formats = {TABLE_FORMATS.get(f.suffix.lower()) for f in files}
    return formats.pop() if len(formats) == 1 and None not in formats else None


@dataclass
class TableShards:
    """One table in one or more files, read in order.

    Args:
        source: the source as written (a file, a folder or a glob), for messages.
        files: the files, in reading order.
        fmt: csv, tsv or parquet.
    """

    source: str
    files: list[Path]
    fmt: str
    _starts: list[int] = field(default_factory=list, repr=False)  # each shard's first row, as read
    block_bytes: int = BLOCK_BYTES  # a CSV's bytes parsed together (see BLOCK_BYTES)

    @classmethod
    def open(cls, source: str, fmt: str) -> "TableShards":
        files = shard_files(source)
        if not files:
            raise DataError(f"{source}: no {fmt} files", config_path=("data", "source"))
        return cls(source, files, fmt)

    def locate(self, row: int) -> str:
        """`file:line` of a row of the whole table (`file: row N` for parquet)."""
        index = max(bisect.bisect_right(self._starts, row) - 1, 0) if self._starts else 0
        within = row - (self._starts[index] if self._starts else 0)
        name = self.source if len(self.files) == 1 else str(self.files[index])
        return f"{name}: row {within + 1}" if self.fmt == "parquet" else f"{name}:{within + 2}"

    def chunks(
        self, chunk_rows: int, *, columns: list[str] | None = None, strings: list[str] | None = None
    ) -> Iterator[Any]:
        """The whole table as DataFrames of at most `chunk_rows` rows (a shard's last chunk may be
        shorter), missing strings as "".

        Args:
            columns: read only these columns (all when None).
            strings: columns to read as strings whatever their values look like.
        """
        from dlflow.data.table_files import blank_missing_strings, check_unique_columns, table_errors

        first_columns = None
        offset = 0
        self._starts = []
        for file in self.files:
            with table_errors(file, self.fmt):
                check_unique_columns(file, self.fmt)
                names = _column_names(file, self.fmt)
                first_columns = first_columns or names
                if names != first_columns:
                    raise DataError(
                        f"{file}: its columns ({', '.join(names)}) differ from those of {self.files[0]} "
                        f"({', '.join(first_columns)}); every shard of a table must have the same "
                        f"columns",
                        config_path=("data", "source"),
                    )
                self._starts.append(offset)
                reader = _parquet_chunks if self.fmt == "parquet" else _csv_chunks
                for frame in reader(file, self.fmt, chunk_rows, columns, strings or [], self.block_bytes):
                    offset += len(frame)
                    yield blank_missing_strings(frame)

    def column_names(self) -> list[str]:
        """The first file's column names, from its header (CSV, TSV) or schema (parquet)."""
        from dlflow.data.table_files import table_errors

        with table_errors(self.files[0], self.fmt):
            return _column_names(self.files[0], self.fmt)

    def fingerprint(self) -> str:
        """A hash of the files' names (relative to the first one's folder, for shards) and bytes."""
        digest = hashlib.blake2b(digest_size=16)
        for file in self.files:
            if len(self.files) > 1:
                digest.update(file.name.encode("utf-8", "surrogatepass") + b"\0")
            with open(file, "rb") as handle:
                for block in iter(lambda h=handle: h.read(8 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()[:16]

    def estimate_rows(self) -> int:
        """About how many rows the table has (exact for parquet)."""
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            return sum(int(pq.ParquetFile(f).metadata.num_rows) for f in self.files)
        total = 0
        for file in self.files:
            with open(file, "rb") as handle:
                head = handle.read(4 << 20)
            lines = max(head.count(b"\n"), 1)
            total += int(file.stat().st_size / (len(head) / lines)) if head else 0
        return total


def separator(fmt: str) -> str:
    return "\t" if fmt == "tsv" else ","


def _column_names(file: Path, fmt: str) -> list[str]:
    import csv

    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(file).names)
    with open(file, newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle, delimiter=separator(fmt)), [])


def _parquet_chunks(
    file: Path, fmt: str, chunk_rows: int, columns: list[str] | None, strings: list[str], block_bytes: int = BLOCK_BYTES
) -> Iterator[Any]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk_rows, columns=columns):
        yield batch.to_pandas()


def _csv_chunks(
    file: Path, fmt: str, chunk_rows: int, columns: list[str] | None, strings: list[str], block_bytes: int = BLOCK_BYTES
) -> Iterator[Any]:
    """A CSV's rows in chunks: pyarrow with each column's type from pandas' reading of the first
    rows; from a block pyarrow cannot convert on, pandas (whose values reach the usual checks)."""
    import pandas as pd
    import pyarrow as pa

    head = pd.read_csv(
        file, sep=separator(fmt), nrows=min(chunk_rows, 10_000), usecols=columns, dtype={c: object for c in strings}
    )
    if head.empty:
        yield head
        return
    done = 0
    try:
        for table in _arrow_tables(file, fmt, chunk_rows, _arrow_types(head), block_bytes):
            frame = table.to_pandas()
            done += len(frame)
            yield frame
    except pa.ArrowInvalid:
        reader = pd.read_csv(
            file,
            sep=separator(fmt),
            chunksize=chunk_rows,
            usecols=columns,
            dtype={c: object for c in strings},
            skiprows=range(1, done + 1),
        )
        with reader:
            for frame in reader:
                yield frame.reset_index(drop=True)


def _arrow_tables(
    file: Path, fmt: str, chunk_rows: int, types: dict[str, Any], block_bytes: int = BLOCK_BYTES
) -> Iterator[Any]:
    """pyarrow Tables of exactly `chunk_rows` rows (the last one shorter) from a CSV's blocks."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    reader = pcsv.open_csv(
        file,
        read_options=pcsv.ReadOptions(block_size=block_bytes),
        parse_options=pcsv.ParseOptions(delimiter=separator(fmt), newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=types, include_columns=list(types), null_values=PANDAS_NULLS, strings_can_be_null=True
        ),
    )
    pending: list[Any] = []
    rows = 0
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        while rows >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending)


def _arrow_types(head: Any) -> dict[str, Any]:
    """pyarrow's type for each column, as pandas read the first rows (ints stay ints, strings strings)."""
    import pandas as pd
    import pyarrow as pa

    types = {}
    for name in head.columns:
        dtype = head[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            types[str(name)] = pa.bool_()
        elif pd.api.types.is_integer_dtype(dtype):
            types[str(name)] = pa.int64()
        elif pd.api.types.is_float_dtype(dtype):
            types[str(name)] = pa.float64()
        else:
            types[str(name)] = pa.string()
    return types
