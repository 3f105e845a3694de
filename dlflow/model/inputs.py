"""The model's inputs come from the data: raw-input tensors plus preprocessing inside the model.

Statistics (Normalization's mean and variance, lookup vocabularies, TextVectorization's
vocabulary) are computed on the training split only, so an exported model takes raw inputs
and nothing about validation or test data leaks into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec
from dlflow.errors import DataError

ONE_HOT_MAX = 64  # categorical columns with more values than this get an embedding instead


@dataclass
class ModelInputs:
    """Raw inputs and their preprocessed tensors.

    Args:
        raw: keras.Input tensors by input name (what the model takes).
        features: the preprocessed tensor of each input by name (what layers see).
        combined: every feature joined into one tensor, for Sequential models (None when
            inputs cannot be joined, e.g. several images).
        why_not_combined: when `combined` is None, why (for the error a Sequential model gets).
    """

    raw: dict[str, Any]
    features: dict[str, Any]
    combined: Any
    why_not_combined: str = (
        "this data has several image or sequence inputs, which a Sequential model cannot join; use model.functional"
    )

    def model_inputs(self, kind: str) -> Any:
        """What keras.Model(inputs=...) gets: one tensor, or a dict by name for tables and several inputs."""
        if len(self.raw) == 1 and kind != "tabular":
            return next(iter(self.raw.values()))
        return dict(self.raw)


def build_inputs(
    train: Dataset, *, augment: list[Any] | None = None, text_options: Any = None, text_mode: str | None = None
) -> ModelInputs:
    """Create keras.Input tensors and preprocessing layers adapted on the training data.

    Args:
        train: the training split.
        augment: Keras layers applied to image inputs during training only (Random* layers are
            inactive at inference by Keras's own rule).
        text_options: the config's data.text (max_tokens, sequence_length, ngrams).
        text_mode: TextVectorization's output_mode, settled by `dlflow.model.choices`: "int" gives
            (batch, sequence_length) token ids, for a table's column as for a text folder; None:
            the data kind's default (`default_text_mode`).
    """
    import keras

    from dlflow.model.choices import default_text_mode

    text_mode = text_mode or default_text_mode(train.kind)

    raw = {name: keras.Input(shape=spec.shape, dtype=spec.dtype, name=name) for name, spec in train.input_specs.items()}
    stats = _column_stats(train)
    features: dict[str, Any] = {}
    numeric = [name for name, spec in train.input_specs.items() if spec.role == "numeric"]
    for name, spec in train.input_specs.items():
        if spec.role == "numeric":
            continue
        features[name] = _preprocess(
            spec, raw[name], train.inputs[name], augment or [], text_options, stats.get(name), text_mode=text_mode
        )
    for name in numeric:  # per column, for functional graphs that name a column
        features[name] = _normalize([raw[name]], [stats[name]], f"normalize_{name}")
    combined_numeric = None
    if len(numeric) > 1:  # for Sequential models: all numeric columns normalized as one vector
        combined_numeric = _normalize([raw[n] for n in numeric], [stats[n] for n in numeric], "normalize_numeric")
    elif numeric:
        combined_numeric = features[numeric[0]]
    others = [t for n, t in features.items() if train.input_specs[n].role != "numeric"]
    parts = ([combined_numeric] if combined_numeric is not None else []) + others
    sequences = [n for n, s in train.input_specs.items() if s.role == "text" and text_mode == "int"]
    if sequences and len(parts) > 1:  # token ids are not features to concatenate with numbers
        return ModelInputs(
            raw=raw,
            features=features,
            combined=None,
            why_not_combined=(
                f"the text column(s) {', '.join(sequences)} become token-id sequences (data.text.output_mode: int), "
                f"which a Sequential model cannot join with the other columns; use model.functional (an Embedding on "
                f"'{sequences[0]}', joined with the others after it), or output_mode tf_idf for one bag-of-words vector"
            ),
        )
    return ModelInputs(raw=raw, features=features, combined=_combine(parts))


def _column_stats(train: Dataset) -> dict[str, dict[str, Any]]:
    """Fill values, normalization moments and vocabularies of the numeric and categorical inputs,
    from the training split (a streamed table brings them from its pass over the file)."""
    if "preprocessing" in train.info:
        return train.info["preprocessing"]
    from dlflow.data.missing import MissingPolicy
    from dlflow.data.stats import preprocessing_stats, summarize

    policy = MissingPolicy.from_config(train.info.get("missing_policy"))
    return preprocessing_stats(summarize(train.inputs, train.input_specs), policy)


def _preprocess(
    spec: InputSpec,
    tensor: Any,
    values: np.ndarray,
    augment: list[Any],
    text_options: Any,
    stats: dict[str, Any] | None = None,
    *,
    text_mode: str = "int",
) -> Any:
    import keras

    if spec.role == "image":
        x = tensor
        if spec.scale is not None:
            x = keras.layers.Rescaling(spec.scale, name=f"rescale_{spec.name}")(x)
        for layer in augment:
            x = layer(x)
        return x
    if spec.role == "categorical":
        return _lookup(spec, tensor, stats or {})
    if spec.role == "text":
        vectors = _text_vectorizer(spec, values, text_options, text_mode)(tensor)
        if text_mode != "int" and len(vectors.shape) == 3:  # (batch, 1, tokens) from a (batch, 1) input
            vectors = keras.layers.Flatten(name=f"flatten_{spec.name}")(vectors)
        return vectors
    if spec.role == "series":
        return _normalize_steps(tensor, values, f"normalize_{spec.name}")
    return tensor


def _lookup(spec: InputSpec, tensor: Any, stats: dict[str, Any]) -> Any:
    """Missing values filled, then the column's categories with an out-of-vocabulary slot:
    one-hot for a few values, an embedding for many. Strings go through StringLookup; integer
    codes (float32 inputs) through IntegerCategories, IntegerLookup's table-free twin."""
    import keras

    from dlflow.model.table_layers import FillMissing, IntegerCategories

    vocabulary, x = stats["vocabulary"], tensor
    if spec.dtype == "string":
        if stats.get("fill") is not None:
            x = FillMissing([stats["fill"]], name=f"fill_{spec.name}")(x)

        def encode(mode: str) -> Any:
            return keras.layers.StringLookup(vocabulary=vocabulary, output_mode=mode, name=f"lookup_{spec.name}")
    else:
        fill = stats["fill"] if stats.get("fill") is not None else stats["oov_token"]
        x = FillMissing([float(fill)], name=f"fill_{spec.name}")(x)

        def encode(mode: str) -> Any:
            return IntegerCategories(vocabulary, output_mode=mode, name=f"lookup_{spec.name}")

    if len(vocabulary) <= ONE_HOT_MAX:
        return encode("one_hot")(x)
    ids = encode("int")(x)
    width = int(min(32, round(1.6 * len(vocabulary) ** 0.56)))
    embedded = keras.layers.Embedding(len(vocabulary) + 1, width, name=f"embed_{spec.name}")(ids)
    return keras.layers.Flatten(name=f"flatten_{spec.name}")(embedded)


def _text_vectorizer(spec: InputSpec, values: np.ndarray, text_options: Any, mode: str) -> Any:
    """TextVectorization adapted on the training texts: (batch, sequence_length) token ids for
    output_mode int, else one (batch, max_tokens) bag-of-words vector per text."""
    import keras

    layer = keras.layers.TextVectorization(
        max_tokens=getattr(text_options, "max_tokens", 20000),
        output_mode=mode,
        output_sequence_length=getattr(text_options, "sequence_length", 200) if mode == "int" else None,
        ngrams=getattr(text_options, "ngrams", None),
        name=f"vectorize_{spec.name}",
    )
    if hasattr(values, "tf_texts"):  # a text folder's files: adapt on the training split as a stream
        from dlflow.data.text import ADAPT_BATCH

        layer.adapt(values.tf_texts().batch(ADAPT_BATCH))
    else:
        texts = values.reshape(-1).astype(str)
        if not any(re.search(r"\w", text) for text in texts):
            raise DataError(
                f"the training texts of '{spec.column or spec.name}' hold no words (all empty or "
                f"punctuation): TextVectorization has no vocabulary to learn",
                config_path=("data", "source"),
            )
        layer.adapt(texts)
    return layer


def _normalize(tensors: list[Any], stats: list[dict[str, Any]], name: str) -> Any:
    """Missing values filled (FillMissing), then Normalization, with the training statistics of each column."""
    import keras

    from dlflow.model.table_layers import FillMissing

    joined = tensors[0] if len(tensors) == 1 else keras.layers.Concatenate(name=f"{name}_columns")(tensors)
    fills = [s["fill"] for s in stats]
    if all(f is not None for f in fills):  # None: data.missing.numeric is 'error', nothing to fill
        joined = FillMissing(fills, name=f"fill_{name.removeprefix('normalize_')}")(joined)
    return keras.layers.Normalization(
        mean=[s["mean"] for s in stats], variance=[s["variance"] for s in stats], name=name
    )(joined)


def _normalize_steps(tensor: Any, windows: np.ndarray, name: str) -> Any:
    """Normalization per feature (last axis) of (steps, features) windows, with statistics over
    every time step of the training windows."""
    import keras

    if hasattr(windows, "step_moments"):  # lazy windows (dlflow.data.windows): no gathered copy
        mean, variance = windows.step_moments()
    else:
        steps = windows.reshape(-1, windows.shape[-1]).astype("float64")
        mean, variance = np.nanmean(steps, axis=0), np.nanvar(steps, axis=0)
    variance = np.where(variance > 0, variance, 1.0)
    return keras.layers.Normalization(axis=-1, mean=mean.tolist(), variance=variance.tolist(), name=name)(tensor)


def _combine(parts: list[Any]) -> Any:
    import keras

    if len(parts) == 1:
        return parts[0]
    if any(len(p.shape) != 2 for p in parts):
        return None  # several images or sequences: only a functional graph can join them
    return keras.layers.Concatenate(name="features")(parts)
