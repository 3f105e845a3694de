"""The model's inputs come from the data: raw-input tensors plus preprocessing inside the model.

Statistics (Normalization's mean and variance, lookup vocabularies, TextVectorization's
vocabulary) are computed on the training split only, so an exported model takes raw inputs
and nothing about validation or test data leaks into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec

ONE_HOT_MAX = 64  # categorical columns with more values than this get an embedding instead


@dataclass
class ModelInputs:
    """Raw inputs and their preprocessed tensors.

    Args:
        raw: keras.Input tensors by input name (what the model takes).
        features: the preprocessed tensor of each input by name (what layers see).
        combined: every feature joined into one tensor, for Sequential models (None when
            inputs cannot be joined, e.g. several images).
    """

    raw: dict[str, Any]
    features: dict[str, Any]
    combined: Any

    def model_inputs(self, kind: str) -> Any:
        """What keras.Model(inputs=...) gets: one tensor, or a dict by name for tables and several inputs."""
        if len(self.raw) == 1 and kind != "tabular":
            return next(iter(self.raw.values()))
        return dict(self.raw)


def build_inputs(train: Dataset, *, augment: list[Any] | None = None, text_options: Any = None) -> ModelInputs:
    """Create keras.Input tensors and preprocessing layers adapted on the training data.

    Args:
        train: the training split.
        augment: Keras layers applied to image inputs during training only (Random* layers are
            inactive at inference by Keras's own rule).
        text_options: the config's data.text (max_tokens, sequence_length, output_mode, ngrams).
    """
    import keras

    raw = {name: keras.Input(shape=spec.shape, dtype=spec.dtype, name=name) for name, spec in train.input_specs.items()}
    features: dict[str, Any] = {}
    numeric = [name for name, spec in train.input_specs.items() if spec.role == "numeric"]
    for name, spec in train.input_specs.items():
        if spec.role == "numeric":
            continue
        features[name] = _preprocess(spec, raw[name], train.inputs[name], augment or [], text_options)
    for name in numeric:  # per column, for functional graphs that name a column
        features[name] = _normalize([raw[name]], [train.inputs[name]], f"normalize_{name}")
    combined_numeric = None
    if len(numeric) > 1:  # for Sequential models: all numeric columns normalized as one vector
        combined_numeric = _normalize([raw[n] for n in numeric], [train.inputs[n] for n in numeric],
                                      "normalize_numeric")
    elif numeric:
        combined_numeric = features[numeric[0]]
    others = [t for n, t in features.items() if train.input_specs[n].role != "numeric"]
    combined = _combine(([combined_numeric] if combined_numeric is not None else []) + others)
    return ModelInputs(raw=raw, features=features, combined=combined)


def _preprocess(spec: InputSpec, tensor: Any, values: np.ndarray, augment: list[Any], text_options: Any) -> Any:
    import keras

    if spec.role == "image":
        x = tensor
        if spec.scale is not None:
            x = keras.layers.Rescaling(spec.scale, name=f"rescale_{spec.name}")(x)
        for layer in augment:
            x = layer(x)
        return x
    if spec.role == "categorical":
        vocabulary = sorted({v.item() if isinstance(v, np.generic) else v for v in values.reshape(-1)}, key=str)
        lookup_cls = keras.layers.StringLookup if spec.dtype == "string" else keras.layers.IntegerLookup
        if len(vocabulary) <= ONE_HOT_MAX:
            return lookup_cls(vocabulary=vocabulary, output_mode="one_hot", name=f"lookup_{spec.name}")(tensor)
        ids = lookup_cls(vocabulary=vocabulary, name=f"lookup_{spec.name}")(tensor)
        width = int(min(32, round(1.6 * len(vocabulary) ** 0.56)))
        embedded = keras.layers.Embedding(len(vocabulary) + 1, width, name=f"embed_{spec.name}")(ids)
        return keras.layers.Flatten(name=f"flatten_{spec.name}")(embedded)
    if spec.role == "text":
        return _text_vectorizer(spec, values, text_options)(tensor)
    return tensor


def _text_vectorizer(spec: InputSpec, values: np.ndarray, text_options: Any) -> Any:
    import keras

    options = text_options
    max_tokens = getattr(options, "max_tokens", 20000)
    mode = getattr(options, "output_mode", "int")
    layer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        output_mode=mode,
        output_sequence_length=getattr(options, "sequence_length", 200) if mode == "int" else None,
        ngrams=getattr(options, "ngrams", None),
        name=f"vectorize_{spec.name}",
    )
    layer.adapt(values.reshape(-1).astype(str))
    return layer


def _normalize(tensors: list[Any], arrays: list[np.ndarray], name: str) -> Any:
    """Normalization with mean and variance computed (NaN-aware) on the training arrays."""
    import keras

    matrix = np.concatenate([a.reshape(len(a), -1) for a in arrays], axis=1).astype("float64")
    mean, variance = np.nanmean(matrix, axis=0), np.nanvar(matrix, axis=0)
    variance = np.where(variance > 0, variance, 1.0)
    joined = tensors[0] if len(tensors) == 1 else keras.layers.Concatenate(name=f"{name}_columns")(tensors)
    return keras.layers.Normalization(mean=mean.tolist(), variance=variance.tolist(), name=name)(joined)


def _combine(parts: list[Any]) -> Any:
    import keras

    if len(parts) == 1:
        return parts[0]
    if any(len(p.shape) != 2 for p in parts):
        return None  # several images or sequences: only a functional graph can join them
    return keras.layers.Concatenate(name="features")(parts)
