"""TFRecord files of `tf.train.Example` records (`data.format: tfrecord`), streamed as a table is.

The config declares each feature (`data.tfrecord.features: {name: {dtype, shape}}`) and names
the target (`data.target`); the other features are the model's inputs, as the arrays of an .npz
are (float32 and int64 passed as they are, strings as text). The source is a file, a folder of
`.tfrecord`/`.tfrecords` files or a glob; files are read in sorted order as one sequence of records.

`scan_tfrecords` reads every record once (`collect`, `train`): each file's framing and checksums
(TensorFlow's reader), each record parsed against the declared spec (a missing feature, a wrong
dtype or length is an error naming the file and the record), the parts counted (a record's part
is `dlflow.data.split.hash_parts` of its index, as for a streamed table), the target's classes
collected, and a hash-drawn sample of training records kept for building the model. Training
reads each part through tf.data: the records of the part, shuffled in a buffer of
`data.tfrecord.shuffle_buffer` records, parsed in batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec, TargetSpec, safe_name
from dlflow.data.split import PARTS, hash_parts, hash_unit
from dlflow.data.table_scan import _check_sizes
from dlflow.data.table_shards import TableShards
from dlflow.data.tasks import encode_target
from dlflow.data.tfrecord_parse import (
    SCAN_BATCH,
    as_model_input,
    as_numpy_input,
    class_counts,
    decoded,
    numpy_values,
    parse_spec,
    parsed_batches,
    target_encoder,
)
from dlflow.errors import ConfigError, DataError

SUFFIXES = (".tfrecord", ".tfrecords", ".tfr")
SAMPLE_RECORDS = 20_000  # training records kept in memory (building the model, its preprocessing)
VALIDATION_SAMPLE_RECORDS = 1_000


def is_tfrecord(data: Any) -> bool:
    """Whether the config's source is TFRecord files (format tfrecord, or auto with a feature spec)."""
    return data.format == "tfrecord" or (data.format == "auto" and data.tfrecord is not None)


def record_files(source: str) -> list[Path]:
    """The TFRecord files of a source: the file, a folder's record files (sorted, recursive), a glob's matches."""
    from dlflow.data.table_shards import is_pattern, shard_files

    path = Path(source)
    if path.is_dir() and not is_pattern(source):
        return sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    return shard_files(source)


@dataclass
class RecordLayout:
    """The files, the feature spec and how the split assigns records to parts."""

    source: str
    files: list[Path]
    features: dict[str, Any]
    target: str
    compression: str
    shuffle_buffer: int
    specs: dict[str, InputSpec]
    target_spec: TargetSpec
    parts: np.ndarray  # each record's part code (0 train, 1 validation, 2 test), in reading order

    def records(self) -> Any:
        """Every record, in order, as a tf.data stream of serialized examples."""
        import tensorflow as tf

        compression = "" if self.compression == "none" else self.compression.upper()
        return tf.data.TFRecordDataset([str(f) for f in self.files], compression_type=compression)

    def parser(self) -> Any:
        """A tf function: a batch of serialized examples -> (inputs by name, encoded targets)."""
        import tensorflow as tf

        spec = parse_spec(self.features)
        encode = target_encoder(self.target_spec)
        names = {s.column: n for n, s in self.specs.items()}

        def parse(serialized: Any) -> Any:
            example = tf.io.parse_example(serialized, spec)
            inputs = {name: as_model_input(example[column]) for column, name in names.items()}
            return inputs, encode(example[self.target])

        return parse


@dataclass
class RecordPart:
    """One part of the split, read from the files (stands where a streamed table's part does)."""

    layout: RecordLayout
    part: str
    rows: int
    owner: Any = field(default=None, repr=False)

    def tf_dataset(self, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool = False) -> Any:
        """This part's (inputs, targets) batches; reshuffled every epoch in a buffer when `shuffle`."""
        import tensorflow as tf

        parts = tf.constant(self.layout.parts)
        code = PARTS.index(self.part)
        records = self.layout.records().enumerate().filter(lambda i, _: tf.gather(parts, i) == code)
        records = records.map(lambda _, record: record)
        if shuffle:
            records = records.shuffle(
                min(self.layout.shuffle_buffer, max(self.rows, 1)), seed=seed, reshuffle_each_iteration=True
            )
        batches = records.batch(batch_size, drop_remainder=drop_remainder)
        batches = batches.map(self.layout.parser(), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        count = self.rows // batch_size if drop_remainder else math.ceil(self.rows / batch_size)
        return batches.apply(tf.data.experimental.assert_cardinality(count)).prefetch(tf.data.AUTOTUNE)

    def load(self) -> Dataset:
        """This whole part as an in-memory Dataset (for evaluating on the test part)."""
        inputs: dict[str, list] = {n: [] for n in self.layout.specs}
        targets: list[np.ndarray] = []
        for x, y in self.tf_dataset(batch_size=SCAN_BATCH, shuffle=False, seed=0):
            for name in inputs:
                inputs[name].append(numpy_values(x[name]))
            targets.append(y.numpy())
        spec = self.layout.target_spec
        return Dataset(
            "arrays",
            {n: np.concatenate(v) for n, v in inputs.items()},
            {spec.name: np.concatenate(targets)},
            dict(self.layout.specs),
            {spec.name: spec},
            self.layout.source,
            info={"streamed_part": self.part},
        )


@dataclass
class RecordTable:
    """What the scan of the records found (the interface of `dlflow.data.table_stream.StreamedTable`)."""

    layout: RecordLayout
    fingerprint: str
    rows: int
    counts: dict[str, int]
    samples: dict[str, Dataset]
    info: dict[str, Any]

    def part(self, name: str) -> RecordPart:
        return RecordPart(self.layout, name, self.counts[name])


def scan_tfrecords(data: Any, task: str | None, *, seed: int, log: Any = None) -> RecordTable:
    """One pass over the records: checked against the spec, split, counted; a training sample kept."""
    options, source = _options(data), data.source
    files = record_files(source)
    if not files:
        raise DataError(f"{source}: no TFRecord files ({', '.join(SUFFIXES)})", config_path=("data", "source"))
    target = _target(data, options)
    fractions = (data.split.validation, data.split.test)
    read = _read(files, options, target, seed, fractions, log)
    rows, parts = len(read.targets), hash_parts(np.arange(len(read.targets)), seed, *fractions).astype("uint8")
    counts = {p: int((parts == code).sum()) for code, p in enumerate(PARTS)}
    _check_sizes(source, rows, counts, fractions)
    _, target_spec = encode_target(read.targets[parts == 0], safe_name(target, fallback="target"), task, source=source)
    specs = {
        safe_name(n): InputSpec(
            safe_name(n), tuple(f.shape) or (1,), f.dtype, "text" if f.dtype == "string" else "array", column=n
        )
        for n, f in options.features.items()
        if n != target
    }
    layout = RecordLayout(
        source,
        files,
        dict(options.features),
        target,
        options.compression,
        options.shuffle_buffer,
        specs,
        target_spec,
        parts,
    )
    info = {
        "rows": rows,
        "streamed": True,
        "files": len(files),
        "records_per_file": read.per_file,
        "features": {n: {"dtype": f.dtype, "shape": list(f.shape)} for n, f in options.features.items()},
    }
    if target_spec.task != "regression":
        info["class_counts"] = {
            target_spec.name: {
                p: class_counts(read.targets[parts == code], target_spec) for code, p in enumerate(PARTS)
            }
        }
    table = RecordTable(layout, TableShards(source, files, "tfrecord").fingerprint(), rows, counts, {}, info)
    for part in ("train", "validation"):
        sample = read.sample(part, layout, read.targets, info if part == "train" else {})
        sample.info["stream"] = RecordPart(layout, part, counts[part], owner=sample.inputs)
        table.samples[part] = sample
    return table


@dataclass
class _Read:
    """What the pass over the records keeps: every raw target, the records per file, the samples."""

    targets: np.ndarray
    per_file: list[int]
    kept: dict[str, tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]  # part: (index, draw, inputs)

    def sample(self, part: str, layout: RecordLayout, targets: np.ndarray, info: dict) -> Dataset:
        from dlflow.data.table_stream import encode_with_classes

        index, _, raw = self.kept[part]
        inputs = {name: as_numpy_input(raw[spec.column], spec) for name, spec in layout.specs.items()}
        spec = layout.target_spec
        return Dataset(
            "arrays",
            inputs,
            {spec.name: encode_with_classes(targets[index], spec)},
            dict(layout.specs),
            {spec.name: spec},
            layout.source,
            info=dict(info),
        )


def _read(files: list[Path], options: Any, target: str, seed: int, fractions: tuple[float, float], log: Any) -> _Read:
    """Every record parsed once, file by file; the lowest-hash training records (and the first validation
    ones) kept as the samples."""
    from dlflow.data.progress import report

    spec = parse_spec(options.features)
    targets, per_file, offset = [], [], 0
    kept: dict[str, Any] = {}
    for number, file in enumerate(files, start=1):
        count = 0
        for batch in parsed_batches(file, spec, options.compression):
            n = len(batch[target])
            index = np.arange(offset + count, offset + count + n)
            _keep(kept, batch, index, hash_parts(index, seed, *fractions), hash_unit(index, seed, 1), target)
            targets.append(
                decoded(batch[target]).reshape(n, -1)[:, 0] if batch[target].ndim > 1 else decoded(batch[target])
            )
            count += n
        per_file.append(count)
        offset += count
        report("TFRecord files read", number, len(files))
        if log and number % 10 == 0:
            log(f"data: read {offset:,} records from {number} of {len(files)} files")
    empty = {n: np.empty((0,)) for n in spec}
    for part in ("train", "validation"):
        kept.setdefault(part, (np.empty(0, "int64"), np.empty(0), empty))
    return _Read(np.concatenate(targets) if targets else np.empty(0), per_file, kept)


def _keep(
    kept: dict[str, Any],
    batch: dict[str, np.ndarray],
    index: np.ndarray,
    parts: np.ndarray,
    draw: np.ndarray,
    target: str,
) -> None:
    """Add a batch's candidates to the samples: training records with the lowest draws, validation's first."""
    for part, limit in (("train", SAMPLE_RECORDS), ("validation", VALIDATION_SAMPLE_RECORDS)):
        chosen = np.flatnonzero(parts == PARTS.index(part))
        if not len(chosen):
            continue
        old = kept.get(part)
        rows = {n: v[chosen] for n, v in batch.items() if n != target}
        if old is not None:
            index_all = np.concatenate([old[0], index[chosen]])
            draw_all = np.concatenate([old[1], draw[chosen]])
            rows = {n: np.concatenate([old[2][n], v]) for n, v in rows.items()}
        else:
            index_all, draw_all = index[chosen], draw[chosen]
        if len(index_all) > limit:
            order = np.sort(np.argsort(draw_all, kind="stable")[:limit]) if part == "train" else np.arange(limit)
            index_all, draw_all, rows = index_all[order], draw_all[order], {n: v[order] for n, v in rows.items()}
        kept[part] = (index_all, draw_all, rows)


def _options(data: Any) -> Any:
    if data.tfrecord is None:
        raise ConfigError(
            "TFRecord files need their feature spec: data.tfrecord.features: {name: {dtype: float32 | "
            "int64 | string, shape: [n]}, ...}",
            config_path=("data", "tfrecord"),
        )
    return data.tfrecord


def _target(data: Any, options: Any) -> str:
    target = data.target[0] if isinstance(data.target, list) and len(data.target) == 1 else data.target
    if not isinstance(target, str) or target not in options.features:
        raise DataError(
            f"data.target must name one feature of data.tfrecord.features ({', '.join(options.features)}),"
            f" received {data.target!r}",
            config_path=("data", "target"),
        )
    return target
