"""A streamed table's parts, read from disk chunk by chunk into tf.data (see `dlflow.data.streaming`).

`TableLayout` turns a chunk of the table into model inputs and encoded targets; `TablePart` is
one part of the split (train, validation, test), its rows picked by the split's hash of their
row index, shuffled within each chunk with a seed per epoch; `StreamedTable` is what the scan
of the whole table found.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec, TargetSpec
from dlflow.data.split import PARTS, hash_parts
from dlflow.data.table_shards import TableShards


@dataclass
class TableLayout:
    """What every pass over a streamed table needs to turn a chunk into model inputs and targets."""

    shards: TableShards
    chunk_rows: int
    specs: dict[str, InputSpec]
    target_specs: dict[str, TargetSpec]
    seed: int
    fractions: tuple[float, float]

    @property
    def source(self) -> str:
        return self.shards.source

    @property
    def fmt(self) -> str:
        return self.shards.fmt

    @property
    def columns(self) -> list[str]:
        return [s.column or n for n, s in self.specs.items()] + list(self.target_specs)

    @property
    def strings(self) -> list[str]:
        return [s.column or n for n, s in self.specs.items() if s.dtype == "string"]

    def chunks(self) -> Iterator[tuple[int, Any]]:
        """(row index of the chunk's first row, chunk) over the whole table."""
        offset = 0
        for frame in self.shards.chunks(self.chunk_rows, columns=self.columns, strings=self.strings):
            yield offset, frame
            offset += len(frame)

    def convert(self, frame: Any, offset: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """A chunk's raw model inputs and encoded targets."""
        from dlflow.data.tabular import column_values

        inputs = {
            name: column_values(frame[spec.column or name], spec, self.shards.locate, offset)
            for name, spec in self.specs.items()
        }
        targets = {name: encode_with_classes(frame[name].to_numpy(), spec) for name, spec in self.target_specs.items()}
        return inputs, targets


@dataclass
class TablePart:
    """One part (train, validation or test) of a streamed table, read from disk chunk by chunk.

    Attached to the in-memory sample of that part as `Dataset.info["stream"]`; `owner` is the
    sample's inputs dict, so a subset taken from the sample (`Dataset.take`) is plain in-memory data.
    """

    layout: TableLayout
    part: str
    rows: int
    owner: Any = field(default=None, repr=False)

    def batches(
        self, batch_size: int, rng: np.random.Generator | None = None, drop_remainder: bool = False
    ) -> Iterator[tuple[Any, Any]]:
        """(inputs, targets) batches of this part in file order, or shuffled within chunks with `rng`."""
        code = PARTS.index(self.part)
        pending: tuple[dict, dict] | None = None
        for offset, frame in self.layout.chunks():
            keep = hash_parts(np.arange(offset, offset + len(frame)), self.layout.seed, *self.layout.fractions) == code
            if not keep.any():
                continue
            inputs, targets = self.layout.convert(frame[keep], offset)
            if rng is not None:
                order = rng.permutation(int(keep.sum()))
                inputs, targets = _take(inputs, order), _take(targets, order)
            if pending is not None:
                inputs, targets = _concat(pending[0], inputs), _concat(pending[1], targets)
            n = len(next(iter(inputs.values())))
            full = n - n % batch_size
            for start in range(0, full, batch_size):
                yield self._shape(_slice(inputs, start, start + batch_size), _slice(targets, start, start + batch_size))
            pending = (_slice(inputs, full, n), _slice(targets, full, n)) if full < n else None
        if pending is not None and not drop_remainder:
            yield self._shape(*pending)

    def tf_dataset(self, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool = False) -> Any:
        """A tf.data pipeline of this part's batches, prefetched; reshuffled each epoch when `shuffle`.

        Python hands tf.data whole blocks of rows (a multiple of `batch_size`, about a chunk), and
        the graph slices them into batches: the batches are those of `batches`, without a Python
        step per batch."""
        import tensorflow as tf

        epochs = itertools.count()
        block = batch_size * max(1, self.layout.chunk_rows // batch_size)

        def generate() -> Iterator[tuple[Any, Any]]:
            rng = np.random.default_rng([seed, next(epochs)]) if shuffle else None
            yield from self.batches(block, rng, drop_remainder)

        inputs = {
            name: tf.TensorSpec((None, *spec.shape), tf.string if spec.dtype == "string" else spec.dtype)
            for name, spec in self.layout.specs.items()
        }
        targets = {
            name: tf.TensorSpec((None, *spec.shape), _target_dtype(spec))
            for name, spec in self.layout.target_specs.items()
        }
        signature = (inputs, targets if len(targets) > 1 else next(iter(targets.values())))
        blocks = tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(1)
        batches = blocks.flat_map(lambda x, y: _sliced((x, y), batch_size, drop_remainder))
        count = self.rows // batch_size if drop_remainder else math.ceil(self.rows / batch_size)
        return batches.apply(tf.data.experimental.assert_cardinality(count)).prefetch(tf.data.AUTOTUNE)

    def load(self) -> Dataset:
        """This whole part as an in-memory Dataset (for evaluating on the test part)."""
        inputs: dict[str, list] = {n: [] for n in self.layout.specs}
        targets: dict[str, list] = {n: [] for n in self.layout.target_specs}
        for batch_inputs, batch_targets in self.batches(self.layout.chunk_rows):
            batch_targets = batch_targets if isinstance(batch_targets, dict) else {next(iter(targets)): batch_targets}
            for name in inputs:
                inputs[name].append(batch_inputs[name])
            for name in targets:
                targets[name].append(batch_targets[name])
        return Dataset(
            "tabular",
            {n: joined_arrays(v, self.layout.specs[n]) for n, v in inputs.items()},
            {
                n: np.concatenate(v) if v else np.empty(0, _target_dtype(self.layout.target_specs[n]))
                for n, v in targets.items()
            },
            dict(self.layout.specs),
            dict(self.layout.target_specs),
            self.layout.source,
            info={"streamed_part": self.part},
        )

    def _shape(self, inputs: dict, targets: dict) -> tuple[Any, Any]:
        return inputs, targets if len(targets) > 1 else next(iter(targets.values()))


def streamed_part(data: Dataset) -> Any:
    """The stream a Dataset stands for (its in-memory rows being a sample of it), or None.

    A streamed table's `TablePart`, or any part with its interface (`rows`, `owner`, `tf_dataset`,
    `load`), e.g. the records of TFRecord files (`dlflow.data.tfrecords.RecordPart`)."""
    part = data.info.get("stream")
    return part if hasattr(part, "tf_dataset") and getattr(part, "owner", None) is data.inputs else None


@dataclass
class StreamedTable:
    """The result of the pass over a streamed table: its layout, counts, statistics and samples."""

    layout: TableLayout
    fingerprint: str
    rows: int
    counts: dict[str, int]
    samples: dict[str, Dataset]
    info: dict[str, Any]

    def part(self, name: str) -> TablePart:
        """A part to read from disk (train, validation or test)."""
        return TablePart(self.layout, name, self.counts[name])


def encode_with_classes(values: np.ndarray, spec: TargetSpec) -> np.ndarray:
    """Encode raw target values with a target's known classes (as `dlflow.data.tasks.encode_target` does)."""
    if spec.task == "regression":
        return np.asarray(values, dtype="float32")
    import pandas as pd

    codes = pd.Categorical(values, categories=list(spec.classes)).codes.astype("int64")
    return codes.astype("float32") if spec.task == "binary" else codes


def joined_arrays(arrays: list[np.ndarray], spec: InputSpec) -> np.ndarray:
    if arrays:
        return np.concatenate(arrays)
    return np.empty((0, *spec.shape), dtype=object if spec.dtype == "string" else spec.dtype)


def _target_dtype(spec: TargetSpec) -> str:
    return "int64" if spec.task == "multiclass" else "float32"


def _take(arrays: dict[str, np.ndarray], order: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[order] for k, v in arrays.items()}


def _slice(arrays: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    return {k: v[start:stop] for k, v in arrays.items()}


def _concat(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([first[k], second[k]]) for k in first}


def _sliced(block: Any, batch_size: int, drop_remainder: bool) -> Any:
    """A block of rows as a dataset of its batches (graph-side slicing; the last one may be shorter)."""
    import tensorflow as tf

    rows = tf.shape(tf.nest.flatten(block)[0], out_type=tf.int64)[0]
    count = rows // batch_size if drop_remainder else (rows + batch_size - 1) // batch_size

    def take(i: Any) -> Any:
        start = i * batch_size
        return tf.nest.map_structure(lambda t: t[start : tf.minimum(start + batch_size, rows)], block)

    return tf.data.Dataset.range(count).map(take)
