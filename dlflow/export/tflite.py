"""TensorFlow Lite: `model.tflite`, converted from the SavedModel, run by `tf.lite.Interpreter`.

The conversion starts from the exported SavedModel (`TFLiteConverter.from_saved_model`):
`from_keras_model` does not work with Keras 3 models. Quantization modes:

- `none`: float32 weights and activations;
- `dynamic`: int8 weights, float activations (`Optimize.DEFAULT`);
- `float16`: float16 weights (`Optimize.DEFAULT` + `supported_types=[float16]`);
- `int8`: int8 weights and activations calibrated on a representative dataset; inputs and
  outputs stay float32, so the artifact is called exactly like the float one.

Only TFLite builtin ops are allowed. A model that needs TensorFlow ops outside them (string
splitting and regexes in `TextVectorization`, for instance) is reported as unsupported: the
Flex delegate those ops need is not part of the stock TFLite runtime (nor of the
`tf.lite.Interpreter` that would check parity here).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dlflow.export._files import write_bytes
from dlflow.export.errors import Unsupported
from dlflow.native_output import silenced_native_stderr

FILENAME = "model.tflite"
REPRESENTATIVE_ROWS = 100  # rows used to calibrate int8 activations


def write(
    saved_model_dir: Path, dest: Path, *, quantize: str = "none", representative: dict[str, np.ndarray] | None = None
) -> None:
    """Convert the SavedModel at `saved_model_dir` into a `.tflite` file at `dest`.

    Args:
        saved_model_dir: a SavedModel exported by `dlflow.export.saved_model.write`.
        dest: where to write the flatbuffer.
        quantize: one of `dlflow.config.schema_base.QUANTIZE_MODES`. Defaults to `"none"`.
        representative: for `int8`, `{input name: array}` rows to calibrate on.

    Raises:
        Unsupported: the model needs ops that TFLite builtins lack.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        if not representative:
            raise ValueError("int8 quantization needs representative samples")
        rows = _by_signature_names(saved_model_dir, representative)
        converter.representative_dataset = lambda: _rows(rows)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # calibration builds a (deprecated) tf.lite.Interpreter
            flatbuffer = converter.convert()
    except Exception as e:  # the converter raises its own ConverterError subclasses
        reason = _unsupported_ops(str(e))
        if reason:
            raise Unsupported(reason) from e
        raise
    write_bytes(dest, flatbuffer)


def _by_signature_names(saved_model_dir: Path, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Key the calibration rows by the SavedModel signature's input names, which the converter
    looks them up by (a Sequential model's input tensor may be renamed in the signature)."""
    import tensorflow as tf

    from dlflow.export.signature import match_names

    specs = tf.saved_model.load(str(saved_model_dir)).signatures["serving_default"].structured_input_signature[1]
    names = match_names(list(feed), list(specs), "inputs")
    return {
        names[k]: np.asarray(v).astype(specs[names[k]].dtype.as_numpy_dtype, copy=False)
        if specs[names[k]].dtype != tf.string
        else v
        for k, v in feed.items()
    }


def _rows(feed: dict[str, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
    n = min(len(next(iter(feed.values()))), REPRESENTATIVE_ROWS)
    for i in range(n):
        yield {k: v[i : i + 1] for k, v in feed.items()}


def _unsupported_ops(message: str) -> str | None:
    """A one-line reason when a converter error says ops are missing from TFLite builtins."""
    if "neither a custom op nor a flex op" not in message and "not supported by the native TFLite" not in message:
        return None
    match = re.search(r"TF Select ops: ([^\n]+)", message)
    ops = match.group(1).strip() if match else ", ".join(sorted(set(re.findall(r"'tf\.(\w+)' op is neither", message))))
    return f"TFLite builtins lack the TensorFlow ops {ops} (they need the Flex delegate)"


def predict(path: Path, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run the `.tflite` file through its signature runner with named inputs.

    Inputs are matched by name (see `dlflow.export.signature.match_names`) and cast to the
    dtypes the interpreter declares; the runner resizes the batch dimension itself.
    """
    import tensorflow as tf

    from dlflow.export.signature import match_names

    with warnings.catch_warnings(), silenced_native_stderr():
        warnings.simplefilter("ignore")  # "tf.lite.Interpreter is deprecated" (LiteRT)
        interpreter = tf.lite.Interpreter(model_path=str(path))
        signatures = interpreter.get_signature_list()
        key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
        runner = interpreter.get_signature_runner(key)
        details = runner.get_input_details()
        names = match_names(list(feed), list(details), "inputs")
        kwargs = {names[k]: _cast(v, details[names[k]]["dtype"]) for k, v in feed.items()}
        outputs = runner(**kwargs)
        return {k: np.array(v) for k, v in outputs.items()}


def _cast(array: np.ndarray, dtype) -> np.ndarray:
    if array.dtype == object or np.dtype(dtype).kind in "SUO":
        return array
    return array.astype(dtype, copy=False)
