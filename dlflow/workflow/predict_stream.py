"""`dlflow predict` as a stream: inputs fed to the model batch by batch, the CSV written as it goes.

An image folder is decoded by the training pipeline's tf.data decoder (`dlflow.data.image_stream`)
in a parallel map, never held whole; a table (CSV, TSV, parquet) is read in chunks through pyarrow
as a streamed training table is (`dlflow.data.table_shards`), never held whole; in-memory inputs
(an .npz, a series' windows) are fed in slices of the batch size. Every batch holds `batch_size`
samples (the last one fewer), whatever the source, so the predictions are those of the whole
inputs fed at once. Rows reach a temporary file next to the output, renamed onto it
at the end (an interrupted prediction leaves no half-written CSV); '-' collects the text instead.
"""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dlflow.errors import DataError

TABLE_CHUNK_ROWS = 65_536  # rows of a table read at a time (rounded down to whole batches)
TABLE_BLOCK_BYTES = 1 << 20  # a CSV's bytes parsed together: the reader's read-ahead holds 32 of them


@dataclass
class ImageStream:
    """An image folder's files to decode as the model's image input, in sorted order."""

    files: Any  # dlflow.data.image_files.ImageFiles
    factor: float  # raw 0-255 pixels times this: the range the model's Rescaling expects

    def __len__(self) -> int:
        return len(self.files)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every image decoded (the Python API and monitor take arrays; `predict` streams)."""
        array = np.concatenate([np.asarray(x) for x in self.batches(256)]) if len(self) else np.empty((0,))
        return array if dtype is None else array.astype(dtype)

    def batches(self, batch_size: int) -> Iterator[Any]:
        import tensorflow as tf

        from dlflow.data.image_stream import image_tf_dataset

        data = image_tf_dataset(
            self.files, np.zeros(len(self.files), "int8"), batch_size=batch_size, shuffle=False, seed=0
        )
        factor = self.factor
        yield from data.map(lambda x, _: x * factor if factor != 1.0 else x, num_parallel_calls=tf.data.AUTOTUNE)


def image_stream(path: Path, files: list[Path], spec: Any) -> ImageStream:
    """The files checked without decoding (header, end marker; a bad one named), as a stream."""
    from dlflow.data.image_files import ImageFiles, scan_files

    scanned = scan_files(files, [""] * len(files))
    if scanned.bad:
        file, reason = scanned.bad[0]
        more = f" (and {len(scanned.bad) - 1} more)" if len(scanned.bad) > 1 else ""
        raise DataError(f"{file}: unreadable image ({reason}){more}")
    height, width, channels = spec.shape
    root = path if path.is_dir() else path.parent
    images = ImageFiles(
        root,
        np.asarray([str(f.relative_to(root)) for f in files], dtype=object),
        np.asarray(scanned.digests, dtype=np.uint64),
        (height, width),
        {1: "grayscale", 3: "rgb", 4: "rgba"}[channels],
    )
    scale = spec.scale or 1.0 / 255.0
    return ImageStream(images, (1.0 / 255.0) / scale)


@dataclass
class TableStream:
    """A table file's rows as the model's inputs, read chunk by chunk; a row's id is its `id` column's
    value, else its row index."""

    path: Path
    specs: dict[str, Any]  # the model's input specs, by input name
    chunk_rows: int = TABLE_CHUNK_ROWS

    def batches(self, batch_size: int) -> Iterator[tuple[dict[str, np.ndarray], list]]:
        """(inputs, ids) of `batch_size` rows each (the last one fewer)."""
        from dlflow.data.table_shards import TABLE_FORMATS, TableShards

        shards = TableShards(
            str(self.path),
            [self.path],
            TABLE_FORMATS.get(self.path.suffix.lower(), "csv"),
            block_bytes=TABLE_BLOCK_BYTES,
        )
        columns = self._columns(shards.column_names())
        rows, kept_inputs, kept_ids = 0, None, []
        for frame in shards.chunks(batch_size * max(1, self.chunk_rows // batch_size), columns=columns):
            inputs, ids = self._convert(frame, rows)
            rows += len(frame)
            if kept_inputs is not None:  # the rows short of a batch at the end of the previous chunk
                inputs, ids = {k: np.concatenate([kept_inputs[k], v]) for k, v in inputs.items()}, kept_ids + ids
            full = len(ids) - len(ids) % batch_size
            for start in range(0, full, batch_size):
                yield {k: v[start : start + batch_size] for k, v in inputs.items()}, ids[start : start + batch_size]
            kept_inputs, kept_ids = {k: v[full:] for k, v in inputs.items()}, ids[full:]
        if kept_ids:
            yield kept_inputs, kept_ids

    def _columns(self, have: list[str]) -> list[str]:
        """The columns to read: each input's (its column, else its input name, as `table_inputs` looks
        them up; a missing one is named by `table_inputs`) and `id`."""
        wanted = [spec.column or name if (spec.column or name) in have else name for name, spec in self.specs.items()]
        return [c for c in dict.fromkeys([*wanted, "id"]) if c in have]

    def _convert(self, frame: Any, first_row: int) -> tuple[dict[str, np.ndarray], list]:
        from dlflow.workflow.table_inputs import table_inputs

        ids = frame["id"].tolist() if "id" in frame.columns else list(range(first_row, first_row + len(frame)))
        return table_inputs(frame, self.specs, str(self.path)), ids


def input_batches(inputs: Any, ids: list | None, batch_size: int) -> Iterator[tuple[Any, list]]:
    """The model's inputs in batches, with their ids: a table's stream, an image stream's batches, or
    slices of in-memory arrays."""
    if isinstance(inputs, TableStream):
        yield from inputs.batches(batch_size)
        return
    if hasattr(inputs, "batches"):
        done = 0
        for batch in inputs.batches(batch_size):
            yield batch, ids[done : done + len(batch)]
            done += len(batch)
        return
    n = len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)
    for start in range(0, n, batch_size):
        stop = start + batch_size
        if isinstance(inputs, dict):
            yield {k: np.asarray(v[start:stop]) for k, v in inputs.items()}, ids[start:stop]
        else:
            yield np.asarray(inputs[start:stop]), ids[start:stop]


@contextlib.contextmanager
def csv_rows(target: Path | None) -> Iterator[tuple[Any, io.StringIO | None]]:
    """A csv.writer onto `target` (a temporary file renamed onto it when the block succeeds) or, for
    None, onto a string buffer (returned second)."""
    if target is None:
        buffer = io.StringIO()
        yield csv.writer(buffer), buffer
        return
    from dlflow.runs.files import atomic_path

    with atomic_path(target) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        yield csv.writer(handle), None
