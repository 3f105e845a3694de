"""Keras layers dlflow adds for table columns: `FillMissing` and `IntegerCategories`.

A table's exported model takes raw columns, so missing values are filled inside it
(`FillMissing`, with fill values from the training split): `dlflow predict`, `dlflow serve` and
every exported artifact treat a missing value exactly like training did. Missing means NaN for
numbers and the empty string for strings (how dlflow reads an empty cell of a string column).

`IntegerCategories` encodes integer codes like `IntegerLookup` does, but with comparisons
instead of a hash table, so TFLite and ONNX can express it too.

Both are registered with Keras as `dlflow>FillMissing` and `dlflow>IntegerCategories`: import
this module before `keras.saving.load_model` on a table model (dlflow's own stages do).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dlflow")
class FillMissing(keras.layers.Layer):
    """Replace missing values with fill values computed on the training split.

    Args:
        values: the fill value of each feature (the last axis), or one value for all.
            Strings fill string inputs (one column), numbers fill numeric inputs.

    Example:
        >>> FillMissing([0.5, 2.0])(np.array([[np.nan, 1.0]], "float32"))   # [[0.5, 1.0]]
        >>> FillMissing(["red"])(tf.constant([[""], ["blue"]]))             # [["red"], ["blue"]]
    """

    def __init__(self, values: Any, **kwargs: Any):
        kwargs.setdefault("dtype", "float32")  # raw numbers stay float32 under mixed precision
        super().__init__(**kwargs)
        self.values = list(values) if isinstance(values, (list, tuple)) else [values]
        self._strings = isinstance(self.values[0], str)
        if self._strings:  # string tensors: TensorFlow only, no dtype conversion, no XLA
            if len(self.values) != 1:
                raise ValueError(f"FillMissing fills one string column at a time, received {len(self.values)} values")
            self._convert_input_args = False
            self.supports_jit = False
            # "" -> 1, anything else -> 0: a lookup rather than a string comparison, which ONNX
            # converters mistranslate.
            self._is_missing = keras.layers.StringLookup(vocabulary=[""], output_mode="int", name="is_missing")

    def build(self, input_shape: Any) -> None:
        if self._strings:
            self._is_missing.build(input_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        if self._strings:
            import tensorflow as tf

            missing = tf.equal(self._is_missing(inputs), 1)
            return tf.where(missing, tf.fill(tf.shape(inputs), self.values[0]), inputs)
        fill = ops.convert_to_tensor(self.values, dtype=inputs.dtype)
        # x != x is true exactly for NaN; unlike isnan it maps to builtin TFLite and ONNX ops.
        return ops.where(ops.not_equal(inputs, inputs), fill, inputs)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype="string" if self._strings else inputs.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "values": self.values}


@keras.saving.register_keras_serializable(package="dlflow")
class IntegerCategories(keras.layers.Layer):
    """Integer codes to one-hot vectors (or indices), with an out-of-vocabulary slot first.

    The same output as `IntegerLookup(vocabulary=..., output_mode=...)` with one OOV index, for
    a column of shape (batch, 1): index 0 is any value outside the vocabulary, index i + 1 is
    `vocabulary[i]`.

    Args:
        vocabulary: the codes seen in the training split.
        output_mode: "one_hot" (batch, len(vocabulary) + 1) floats, or "int" (batch, 1) indices.
    """

    def __init__(self, vocabulary: list[int], output_mode: str = "one_hot", **kwargs: Any):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if output_mode not in ("one_hot", "int"):
            raise ValueError(f"output_mode: expected 'one_hot' or 'int', received {output_mode!r}")
        self.vocabulary = [int(v) for v in vocabulary]
        self.output_mode = output_mode

    def call(self, inputs: Any) -> Any:
        codes = ops.convert_to_tensor([float(v) for v in self.vocabulary], dtype=inputs.dtype)
        hits = ops.cast(ops.equal(inputs, codes), "float32")  # (batch, 1) against (k,): (batch, k)
        one_hot = ops.concatenate([1.0 - ops.sum(hits, axis=-1, keepdims=True), hits], axis=-1)
        if self.output_mode == "one_hot":
            return one_hot
        return ops.expand_dims(ops.cast(ops.argmax(one_hot, axis=-1), "int32"), -1)

    def compute_output_spec(self, inputs: Any) -> Any:
        if self.output_mode == "one_hot":
            return keras.KerasTensor((inputs.shape[0], len(self.vocabulary) + 1), dtype="float32")
        return keras.KerasTensor((inputs.shape[0], 1), dtype="int32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocabulary": self.vocabulary, "output_mode": self.output_mode}
