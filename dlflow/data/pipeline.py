"""Datasets to tf.data pipelines: cached, shuffled with the seed, batched, prefetched."""

from __future__ import annotations

from dlflow.data.dataset import Dataset


def to_tf_dataset(data: Dataset, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool = False):
    """A tf.data pipeline of (inputs, targets) batches.

    In-memory data is cached after the first pass; training data is reshuffled every epoch
    with a seeded shuffle; batches are prefetched (AUTOTUNE).
    """
    import tensorflow as tf

    features = data.model_inputs()
    features = {k: _tensor(v) for k, v in features.items()} if isinstance(features, dict) else _tensor(features)
    targets = data.model_targets()
    ds = tf.data.Dataset.from_tensor_slices((features, targets)).cache()
    if shuffle:
        ds = ds.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def _tensor(array):
    if array.dtype == object:
        import tensorflow as tf

        return tf.constant(array.astype(str))
    return array
