"""Tables larger than memory, read from disk in chunks so memory stays flat as the file grows.

A table streams when `data.streaming.enabled` is true, or `auto` and its estimated in-memory size
exceeds `data.streaming.threshold_mb`. Then:

1. one pass over the file (`scan_table`) validates every row (the same checks and messages as an
   in-memory table), counts the parts, collects the target's classes and computes, from the
   TRAINING rows only, everything the model's preprocessing needs: streaming mean and variance
   for Normalization, value counts for the lookup vocabularies, fill values for missing values,
   and a hash-drawn sample of training rows (for text vocabularies, medians and building the model);
2. a row's part (train, validation, test) is `dlflow.data.split.hash_parts` of its row index,
   so reading a part needs no index arrays (not stratified; the data card shows each part's
   class balance);
3. training reads each part through a tf.data pipeline over the file's chunks (`TablePart`):
   rows are shuffled within each chunk of `chunk_rows` rows, with a seed per epoch.

The source is a file, a folder of table files or a glob of them (shards, read in sorted order as
one table, always streamed), read through pyarrow (`dlflow.data.table_shards`). Column types are
inferred from the first chunk when `data.features` leaves them out. The modules: this one decides
whether and what to stream and runs the scan; `table_shards` reads; `table_scan` checks and
counts; `table_stream` reads a part into tf.data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlflow.data.table_scan import SAMPLE_ROWS, TableScan, plan_columns
from dlflow.data.table_shards import TABLE_FORMATS, TableShards, is_pattern, separator, shard_files, shards_format
from dlflow.data.table_stream import StreamedTable, TablePart, encode_with_classes, streamed_part
from dlflow.errors import ConfigError, DataError

__all__ = [
    "StreamedTable",
    "TablePart",
    "encode_with_classes",
    "estimate_memory_mb",
    "scan_table",
    "should_stream",
    "streamed_part",
    "table_format",
]

ESTIMATE_ROWS = 5_000  # rows read to estimate the in-memory size
FOLDER_KINDS = {".txt", ".png", ".jpg", ".jpeg", ".bmp", ".gif"}  # files that make a folder an image or text folder


def table_format(data: Any) -> str | None:
    """csv, tsv or parquet when the config's source is such a table (a file, a folder or glob of shards), else None."""
    if data.source.startswith("builtin:") or data.window is not None:
        return None
    if data.format in ("csv", "tsv", "parquet"):
        return data.format
    if data.format != "auto":
        return None
    path = Path(data.source)
    if path.is_file():
        return TABLE_FORMATS.get(path.suffix.lower())
    if path.is_dir() and any(p.suffix.lower() in FOLDER_KINDS for p in path.rglob("*")):
        return None  # an image or text folder (a stray table inside does not make it a table)
    if is_pattern(data.source) or path.is_dir():
        files = shard_files(data.source)
        return shards_format(files) if files else None
    return None


def is_sharded(data: Any) -> bool:
    """Whether the config's table source is a folder or a glob (shards), not one file."""
    return is_pattern(data.source) or Path(data.source).is_dir()


def should_stream(data: Any) -> bool:
    """Whether the config's table is read in chunks rather than loaded into memory (shards always are)."""
    from dlflow.data.tfrecords import is_tfrecord

    if is_tfrecord(data):  # records are always read from their files
        return True
    setting = data.streaming.enabled
    fmt = table_format(data)
    if setting is True and fmt is None:
        raise ConfigError(
            "streaming reads CSV, TSV or parquet tables (a file, a folder or a glob of them); this source is not one",
            config_path=("data", "streaming", "enabled"),
        )
    if fmt is not None and is_sharded(data):
        if setting is False:
            raise ConfigError(
                f"{data.source} is a table in several files: it is always streamed; remove "
                f"data.streaming.enabled: false",
                config_path=("data", "streaming", "enabled"),
            )
        return True
    if setting is False or fmt is None:
        return False
    if setting is True:
        return True
    return estimate_memory_mb(Path(data.source), fmt) > data.streaming.threshold_mb


def estimate_memory_mb(path: Path, fmt: str) -> float:
    """The estimated in-memory size of a whole table (pandas, deep), from its first rows; 0 if unreadable."""
    import pandas as pd

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            handle = pq.ParquetFile(path)
            sample = next(handle.iter_batches(batch_size=ESTIMATE_ROWS)).to_pandas()
        else:
            sample = pd.read_csv(path, sep=separator(fmt), nrows=ESTIMATE_ROWS)
        rows = TableShards(str(path), [path], fmt).estimate_rows()
        if len(sample) == 0:
            return 0.0
        per_row = sample.memory_usage(deep=True, index=False).sum() / len(sample)
        return float(rows * per_row / 2**20)
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the loader that follows
        return 0.0


def scan_table(data: Any, task: str | None, *, seed: int, log: Any = None) -> StreamedTable:
    """One pass over a table (a file or shards): validation, part counts, classes, and training statistics.

    Args:
        data: the config's DataConfig (its source a CSV, TSV or parquet file, or a folder or glob of them).
        task: the config's task; inferred from the first chunk's target when None.
        seed: the split's seed.
        log: receives a progress line per 10 chunks.
    """
    from dlflow.data.missing import MissingPolicy
    from dlflow.data.tfrecords import is_tfrecord, scan_tfrecords

    if is_tfrecord(data):
        return scan_tfrecords(data, task, seed=seed, log=log)
    shards = TableShards.open(data.source, table_format(data))
    chunk_rows = data.streaming.chunk_rows
    fractions = (data.split.validation, data.split.test)
    first = next(shards.chunks(chunk_rows), None)
    if first is None or len(first) == 0:
        raise DataError(f"{shards.source}: the table has no rows", config_path=("data", "source"))
    plan = plan_columns(first, data, task, shards.source)
    sample_rate = min(1.0, 1.2 * SAMPLE_ROWS / max(shards.estimate_rows() * (1 - sum(fractions)), 1))
    scan = TableScan(plan, shards, MissingPolicy.from_config(data.missing), seed, fractions, sample_rate)
    strings = [s.column for s in plan.specs.values() if s.dtype == "string"]
    for number, frame in enumerate(shards.chunks(chunk_rows, columns=[*plan.types, *plan.targets], strings=strings)):
        scan.add(frame)
        if log and (number + 1) % 10 == 0:
            log(f"data: scanned {scan.rows:,} rows")
    return scan.finish(chunk_rows, shards.fingerprint())
