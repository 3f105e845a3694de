"""Datasets to tf.data pipelines: shuffled with the seed, batched by a parallel gather, prefetched.

In-memory data is held once as tensors; each epoch draws a seeded permutation of the sample
indices, batches the indices and gathers each batch's rows in a parallel map (deterministic
order), so large tables cost one vectorized gather per batch instead of per-row work. A
streamed table's part (see `dlflow.data.streaming`) is read from disk chunk by chunk instead, and
an image folder's files are decoded in a parallel map (see `dlflow.data.image_stream`) and a
text folder's files read in one (see `dlflow.data.text`); a time series' windows are gathered
per batch from the series held once (see `dlflow.data.windows`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlflow.data.dataset import Dataset


def to_tf_dataset(data: Dataset, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool = False):
    """A tf.data pipeline of (inputs, targets) batches; of inputs alone for data without a target.

    Args:
        data: the samples; a streamed table's sample stands for its whole part, read from disk.
        batch_size: samples per batch.
        shuffle: reshuffle every epoch (seeded by `seed`); False keeps the samples' order.
        seed: the shuffle's seed.
        drop_remainder: drop a last, smaller batch.
    """
    from dlflow.data.streaming import streamed_part

    options = {"batch_size": batch_size, "shuffle": shuffle, "seed": seed, "drop_remainder": drop_remainder}
    stream = streamed_part(data)
    if stream is not None:
        return stream.tf_dataset(**options)
    if image_files(data) is not None or text_files(data) is not None:
        return _files_dataset(data, **options)
    windows = series_windows(data)
    if windows is not None:
        from dlflow.data.windows import windows_tf_dataset

        return windows_tf_dataset(windows, data.model_targets(), **options)
    return _arrays_dataset(data, **options)


def _files_dataset(data: Dataset, **options: Any) -> Any:
    """An image or text folder's files, decoded (read) in a parallel map."""
    from dlflow.data.image_stream import image_tf_dataset
    from dlflow.data.text import text_tf_dataset

    files, texts = image_files(data), text_files(data)
    stream = image_tf_dataset if files is not None else text_tf_dataset
    targets = data.model_targets()
    placeholder = targets if targets is not None else np.zeros(len(data), "int8")
    batches = stream(files if files is not None else texts, placeholder, **options)
    return batches if targets is not None else batches.map(lambda x, y: x)  # no target: the inputs alone


def _arrays_dataset(data: Dataset, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool) -> Any:
    """In-memory arrays held once as tensors; each batch gathered by its sample indices."""
    import tensorflow as tf

    features = data.model_inputs()
    features = {k: _tensor(v) for k, v in features.items()} if isinstance(features, dict) else _tensor(features)
    targets = data.model_targets()
    targets = (
        {k: _tensor(v) for k, v in targets.items()}
        if isinstance(targets, dict)
        else (_tensor(targets) if targets is not None else None)
    )
    n = len(data)
    indices = tf.data.Dataset.range(n)
    if shuffle:
        indices = indices.shuffle(max(n, 1), seed=seed, reshuffle_each_iteration=True)
    indices = indices.batch(batch_size, drop_remainder=drop_remainder)

    def gather(batch: Any) -> Any:  # (inputs, targets); the inputs alone for data without a target
        return tf.nest.map_structure(
            lambda t: tf.gather(t, batch), (features, targets) if targets is not None else features
        )

    return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def image_files(data: Dataset) -> Any:
    """The image files a Dataset's single input stands for (see `dlflow.data.image_files`), or None."""
    from dlflow.data.image_files import ImageFiles

    if len(data.inputs) != 1:
        return None
    only = next(iter(data.inputs.values()))
    return only if isinstance(only, ImageFiles) else None


def text_files(data: Dataset) -> Any:
    """The text files a Dataset's single input stands for (see `dlflow.data.text.TextFiles`), or None."""
    from dlflow.data.text import TextFiles

    if len(data.inputs) != 1:
        return None
    only = next(iter(data.inputs.values()))
    return only if isinstance(only, TextFiles) else None


def series_windows(data: Dataset) -> Any:
    """The lazy time series windows a Dataset's single input stands for (see `dlflow.data.windows`), or None."""
    from dlflow.data.windows import SeriesWindows

    if len(data.inputs) != 1:
        return None
    only = next(iter(data.inputs.values()))
    return only if isinstance(only, SeriesWindows) else None


def _tensor(array: np.ndarray) -> Any:
    import tensorflow as tf

    if array.dtype == object or array.dtype.kind in "US":
        return tf.constant(array.astype(str) if array.dtype.kind != "O" else array, dtype=tf.string)
    return tf.convert_to_tensor(array)
