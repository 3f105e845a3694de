"""TensorFlow SavedModel: `saved_model/`, served through its `serving_default` signature.

Written with `model.export(path, format="tf_saved_model")`, which traces the model's forward
pass (preprocessing layers included, so it takes raw inputs) into a `serve` endpoint and the
`serving_default` signature used by TF Serving. The TFLite and ONNX artifacts are converted from
this SavedModel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DIRNAME = "saved_model"


def write(model, dest: Path) -> None:
    """Export `model` as a SavedModel folder at `dest` (which must not exist yet)."""
    model.export(str(dest), format="tf_saved_model", verbose=False)


def predict(path: Path, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reload with `tf.saved_model.load` and call `serving_default` with named inputs.

    The signature takes keyword arguments named by the Keras input names and returns a dict:
    the model's output keys, or `output_0`, `output_1`, ... (see `dlflow.export.signature`).
    """
    import tensorflow as tf

    from dlflow.export.signature import match_names

    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures["serving_default"]
    specs = fn.structured_input_signature[1]
    names = match_names(list(feed), list(specs), "inputs")
    kwargs = {names[k]: tf.constant(v, dtype=specs[names[k]].dtype) for k, v in feed.items()}
    outputs = fn(**kwargs)
    result = {k: v.numpy() for k, v in outputs.items()}
    del loaded
    return result
