"""Parsing TFRecord files against the declared feature spec, and their values as model inputs and targets.

The helpers of `dlflow.data.tfrecords`: records parsed in batches (a corrupt or non-conforming
record named by file and number), byte strings decoded, a target encoded in the graph with the
known classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlflow.data.dataset import InputSpec, TargetSpec
from dlflow.errors import DataError

SCAN_BATCH = 1_024  # records parsed together while scanning


def parsed_batches(file: Path, spec: dict[str, Any], compression: str) -> Any:
    """A file's records parsed in batches (numpy dicts); a corrupt or non-conforming record is a DataError."""
    import tensorflow as tf

    kind = "" if compression == "none" else compression.upper()
    batches = tf.data.TFRecordDataset(str(file), compression_type=kind).batch(SCAN_BATCH)
    parsed = batches.map(lambda b: tf.io.parse_example(b, spec))
    done = 0
    iterator = iter(parsed)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except (tf.errors.InvalidArgumentError, tf.errors.DataLossError) as exc:
            raise _record_error(file, spec, kind, done, exc) from None
        batch = {n: v.numpy() for n, v in batch.items()}
        done += len(next(iter(batch.values())))
        yield batch


def _record_error(file: Path, spec: dict[str, Any], kind: str, done: int, exc: Exception) -> DataError:
    """The first bad record at or after record `done` of a file, named with what is wrong."""
    import tensorflow as tf

    reason = str(exc).splitlines()[0][:300]
    if isinstance(exc, tf.errors.DataLossError):
        return DataError(
            f"{file}: corrupt TFRecord data after record {done} ({reason})", config_path=("data", "source")
        )
    for number, record in enumerate(tf.data.TFRecordDataset(str(file), compression_type=kind).skip(done), done):
        try:
            tf.io.parse_single_example(record, spec)
        except tf.errors.InvalidArgumentError as bad:
            reason = str(bad).splitlines()[0][:300]
            return DataError(
                f"{file}: record {number + 1} does not match data.tfrecord.features: {reason}",
                config_path=("data", "tfrecord", "features"),
            )
    return DataError(
        f"{file}: records do not match data.tfrecord.features: {reason}", config_path=("data", "tfrecord", "features")
    )


def parse_spec(features: dict[str, Any]) -> dict[str, Any]:
    import tensorflow as tf

    return {
        name: tf.io.FixedLenFeature(f.shape, {"string": tf.string, "float32": tf.float32}.get(f.dtype, tf.int64))
        for name, f in features.items()
    }


def decoded(values: np.ndarray) -> np.ndarray:
    """Bytes as Python strings (an object array); numbers as they are."""
    if values.dtype.kind in "OS":
        return np.asarray([v.decode("utf-8", "replace") for v in values.reshape(-1)], dtype=object).reshape(
            values.shape
        )
    return values


def as_numpy_input(values: np.ndarray, spec: InputSpec) -> np.ndarray:
    return decoded(values).reshape(-1, *spec.shape)


def as_model_input(tensor: Any) -> Any:
    """A parsed feature as a model input: a scalar feature becomes shape (batch, 1)."""
    import tensorflow as tf

    return tf.reshape(tensor, [-1, 1]) if tensor.shape.rank == 1 else tensor


def numpy_values(tensor: Any) -> np.ndarray:
    return decoded(tensor.numpy())


def target_encoder(spec: TargetSpec) -> Any:
    """A tf function: raw target values -> encoded as `dlflow.data.tasks.encode_target` does (class index)."""
    import tensorflow as tf

    if spec.task == "regression":
        return lambda values: tf.cast(values, tf.float32)
    classes = list(spec.classes or ())
    strings = any(isinstance(c, str) for c in classes)
    keys = tf.constant(
        [str(c) for c in classes] if strings else [int(c) for c in classes], dtype=tf.string if strings else tf.int64
    )
    codes = tf.range(len(classes), dtype=tf.int64)
    table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, codes), default_value=-1)
    dtype = tf.float32 if spec.task == "binary" else tf.int64
    return lambda values: tf.cast(table.lookup(tf.reshape(values, [-1])), dtype)


def class_counts(values: np.ndarray, spec: TargetSpec) -> dict[str, int]:
    from dlflow.data.table_stream import encode_with_classes

    codes = encode_with_classes(values, spec).astype("int64")
    counts = np.bincount(codes[codes >= 0], minlength=len(spec.classes or ()))
    return {str(label): int(n) for label, n in zip(spec.classes or (), counts, strict=False)}
