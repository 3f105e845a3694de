"""`dlflow predict` as a stream: inputs fed to the model batch by batch, the CSV written as it goes.

An image folder is decoded by the training pipeline's tf.data decoder (`dlflow.data.image_stream`)
in a parallel map, never held whole; in-memory inputs (a table, an .npz, a series' windows) are
fed in slices of the batch size. Rows reach a temporary file next to the output, renamed onto it
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

        data = image_tf_dataset(self.files, np.zeros(len(self.files), "int8"), batch_size=batch_size,
                                shuffle=False, seed=0)
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
    images = ImageFiles(root, np.asarray([str(f.relative_to(root)) for f in files], dtype=object),
                        np.asarray(scanned.digests, dtype=np.uint64), (height, width),
                        {1: "grayscale", 3: "rgb", 4: "rgba"}[channels])
    scale = spec.scale or 1.0 / 255.0
    return ImageStream(images, (1.0 / 255.0) / scale)


def input_batches(inputs: Any, batch_size: int) -> Iterator[Any]:
    """The model's inputs in batches: a stream's own, or slices of in-memory arrays."""
    if hasattr(inputs, "batches"):
        yield from inputs.batches(batch_size)
        return
    n = len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)
    for start in range(0, n, batch_size):
        stop = start + batch_size
        if isinstance(inputs, dict):
            yield {k: np.asarray(v[start:stop]) for k, v in inputs.items()}
        else:
            yield np.asarray(inputs[start:stop])


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
