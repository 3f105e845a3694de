"""How inputs and outputs are named across Keras and the exported runtimes.

Every exported runtime (the SavedModel's `serving_default` signature, the TFLite signature
runner, the ONNX graph) takes *flat, named* inputs and returns *flat, named* outputs, and they
all use the same names because TFLite and ONNX are converted from that SavedModel:

- inputs are named by the Keras input tensors' names (`keras.Input(name=...)`), even when the
  model is called with a dict whose keys differ from those names; an unnamed input is called
  `keras_tensor`, `keras_tensor_3`, ...;
- outputs are named by the keys when the model returns a dict, otherwise `output_0`,
  `output_1`, ... in the order of the model's outputs.

This module maps the raw `samples` (what `model.predict` takes) onto those names
(`input_feed`), flattens the Keras predictions the same way (`keras_outputs`), and matches a
runtime's names to ours tolerantly (`match_names`), because converters may append `:0` or
prefix `serving_default_`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlflow.errors import DataError


class NameMismatch(Exception):
    """A runtime's input or output names cannot be matched with the model's."""


def normalize_samples(samples: Any) -> Any:
    """Samples as numpy arrays: one array, a dict name -> array, or a list of arrays."""
    if isinstance(samples, Mapping):
        if not samples:
            raise DataError("export: no samples to check parity on (an empty dict was given)")
        return {str(k): np.asarray(v) for k, v in samples.items()}
    if isinstance(samples, (list, tuple)):
        return [np.asarray(v) for v in samples]
    return np.asarray(samples)


def count_rows(samples: Any) -> int:
    """The number of rows (first dimension) shared by all sample arrays."""
    arrays = (
        list(samples.values()) if isinstance(samples, dict) else (samples if isinstance(samples, list) else [samples])
    )
    sizes = {int(a.shape[0]) if a.ndim else 0 for a in arrays}
    if len(sizes) != 1:
        raise DataError(f"export: the sample arrays have different numbers of rows: {sorted(sizes)}")
    n = sizes.pop()
    if n == 0:
        raise DataError("export: no samples to check parity on (0 rows)")
    return n


def is_text(array: np.ndarray) -> bool:
    """True for arrays of strings (numpy unicode, bytes or object dtype)."""
    return array.dtype.kind in "USO"


def _input_structure(model) -> Any:
    """The model's input structure (tensor, list or dict of KerasTensors), or None.

    `model.input` keeps a functional model's dict or list structure; a Sequential model only
    has `model.inputs` (its `input` raises until it has been called); a subclassed model may
    have neither.
    """
    try:
        return model.input
    except (AttributeError, ValueError):
        pass
    try:
        inputs = list(model.inputs or [])
    except (AttributeError, ValueError, TypeError):
        return None
    if not inputs:
        return None
    return inputs[0] if len(inputs) == 1 else inputs


def input_feed(model, samples: Any) -> dict[str, np.ndarray]:
    """Map raw samples onto the exported input names, cast to the model's input dtypes.

    Args:
        model: the Keras model being exported.
        samples: what `model.predict` takes (already passed through `normalize_samples`).

    Returns:
        `{input tensor name: array}`, e.g. `{"image": float32 array}`; string inputs become
        object arrays of Python `str`.
    """
    struct = _input_structure(model)
    if struct is None:  # a subclassed model: trust the sample names
        if isinstance(samples, dict):
            return {k: _as_input(v, None) for k, v in samples.items()}
        if isinstance(samples, list):
            return {f"input_{i}": _as_input(v, None) for i, v in enumerate(samples)}
        return {"input_0": _as_input(samples, None)}

    if isinstance(struct, dict):
        pairs = list(struct.items())
    elif isinstance(struct, (list, tuple)):
        pairs = [(i, t) for i, t in enumerate(struct)]
    else:
        pairs = [(None, struct)]

    feed = {}
    for key, tensor in pairs:
        array = _as_input(_pick(samples, key, tensor.name, len(pairs)), tensor.dtype)
        feed[tensor.name] = _fit_rank(array, tuple(tensor.shape))
    return feed


def _fit_rank(array: np.ndarray, shape: tuple) -> np.ndarray:
    """Give a column `(n,)` the trailing axis of an input declared `(None, 1)`.

    `model.predict` adds that axis itself; the exported signatures do not.
    """
    if array.ndim + 1 == len(shape) and shape[-1] in (1, None):
        return array[..., np.newaxis]
    return array


def _pick(samples: Any, key, name: str, n_inputs: int) -> np.ndarray:
    if isinstance(samples, dict):
        for k in (key, name):
            if isinstance(k, str) and k in samples:
                return samples[k]
        if n_inputs == 1 and len(samples) == 1:
            return next(iter(samples.values()))
        raise DataError(
            f"export: the samples have no input {key or name!r}",
            details=[f"expected keys: {name!r}; received: {sorted(samples)}"],
        )
    if isinstance(samples, list):
        index = key if isinstance(key, int) else 0
        if index >= len(samples):
            raise DataError(f"export: the model takes {n_inputs} inputs, the samples have {len(samples)}")
        return samples[index]
    if n_inputs != 1:
        raise DataError(f"export: the model takes {n_inputs} inputs; pass the samples as a dict name -> array")
    return samples


def _as_input(array: np.ndarray, dtype) -> np.ndarray:
    if is_text(array) or dtype == "string":
        return to_str_objects(array)
    if dtype is None:
        return array
    return array.astype(np.dtype(str(dtype)), copy=False)


def to_str_objects(array: np.ndarray) -> np.ndarray:
    """An object array of Python `str` (bytes decoded as UTF-8), the form every runtime accepts."""
    flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.ravel().tolist()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(array.shape)


def keras_outputs(model, samples: Any) -> dict[str, np.ndarray]:
    """`model.predict(samples)`, flattened to `{output name: array}`.

    Keras 3's `predict` rejects numpy string arrays ("Invalid dtype: str96" / "object"), so
    string arrays are passed as `tf.string` tensors; everything else goes in unchanged.
    """
    import tensorflow as tf

    def prepare(a: np.ndarray):
        return tf.constant(to_str_objects(a)) if is_text(a) else a

    struct = _input_structure(model)
    if isinstance(samples, dict):
        keep = set(struct) if isinstance(struct, dict) else set(samples)
        if isinstance(struct, dict) and not keep <= set(samples):
            keep = set(samples)  # let Keras report what is missing
        x = {k: prepare(v) for k, v in samples.items() if k in keep}
    elif isinstance(samples, list):
        x = [prepare(v) for v in samples]
    else:
        x = prepare(samples)
    try:
        predictions = model.predict(x, verbose=0)
    except (ValueError, TypeError, KeyError) as e:
        raise DataError(
            "export: the model cannot predict on the samples",
            details=[str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__],
        ) from e
    return flat_outputs(predictions)


def flat_outputs(predictions: Any) -> dict[str, np.ndarray]:
    """Name a prediction structure the way the exported signatures do (see module doc)."""
    if isinstance(predictions, Mapping):
        return {str(k): np.asarray(v) for k, v in predictions.items()}
    if isinstance(predictions, Sequence) and not isinstance(predictions, (str, bytes)):
        return {f"output_{i}": np.asarray(v) for i, v in enumerate(predictions)}
    return {"output_0": np.asarray(predictions)}


def _normal(name: str) -> str:
    name = re.sub(r":\d+$", "", name)
    name = re.sub(r"^serving_default_", "", name)
    return name.lower()


def match_names(wanted: Sequence[str], available: Sequence[str], what: str) -> dict[str, str]:
    """Pair each wanted name with one available runtime name.

    Tries exact names, then names without a `:0` suffix or `serving_default_` prefix, then (one
    name on each side) the only one. Raises `NameMismatch` naming both lists otherwise.
    """
    pairs: dict[str, str] = {}
    free = list(available)
    for w in wanted:
        if w in free:
            pairs[w] = w
            free.remove(w)
    for w in wanted:
        if w in pairs:
            continue
        hits = [a for a in free if _normal(a) == _normal(w)]
        if len(hits) == 1:
            pairs[w] = hits[0]
            free.remove(hits[0])
    missing = [w for w in wanted if w not in pairs]
    if len(missing) == 1 and len(free) == 1:
        pairs[missing[0]] = free.pop()
        missing = []
    if missing:
        raise NameMismatch(f"cannot match the model's {what} {list(wanted)} with the artifact's {list(available)}")
    return pairs
