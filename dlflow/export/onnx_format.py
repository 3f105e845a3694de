"""ONNX: `model.onnx`, converted from the SavedModel with tf2onnx, run by onnxruntime.

Why not `model.export(path, format="onnx")`? On the TensorFlow backend (Keras 3.15, tf2onnx
1.17) it converts the traced function with `tf2onnx.convert.from_function`, which declares every
captured *constant* of that function as a graph input: a `Normalization` layer's mean and
variance become required inputs (`.../normalization/Sub/y:0`) that onnxruntime refuses to run
without. It also cannot convert `StringLookup` tables. Converting the SavedModel instead (the
path of `python -m tf2onnx.convert --saved-model`) freezes those constants, carries the lookup
tables, and gives the graph the signature's input and output names.

A model that uses TensorFlow ops tf2onnx has no mapping for (`TextVectorization`'s string
splitting and regexes) is reported as unsupported instead of writing a graph onnxruntime cannot
load.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dlflow.export.errors import Unsupported

FILENAME = "model.onnx"

ORT_TYPES = {  # ONNX Runtime input types -> NumPy dtypes (also what `dlflow serve` feeds)
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def write(saved_model_dir: Path, dest: Path, *, opset: int | None = None) -> None:
    """Convert the SavedModel's `serving_default` signature into an ONNX file at `dest`.

    Args:
        saved_model_dir: a SavedModel exported by `dlflow.export.saved_model.write`.
        dest: where to write the `.onnx` file.
        opset: the ONNX opset; tf2onnx's default when None.

    Raises:
        Unsupported: tf2onnx has no conversion for some of the model's ops.
    """
    from tf2onnx import convert, tf_loader

    _patch_tf2onnx()
    with _tf2onnx_log() as records:
        graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
            str(saved_model_dir),
            None,
            None,
            ["serve"],
            ["serving_default"],
            return_initialized_tables=True,
            return_tensors_to_rename=True,
        )
        common = getattr(convert, "_convert_common", None)
        if common is not None:  # the only entry point that carries lookup tables
            common(
                graph_def,
                name=Path(saved_model_dir).name,
                opset=opset,
                input_names=inputs,
                output_names=outputs,
                tensors_to_rename=renames,
                initialized_tables=tables,
                output_path=str(dest),
            )
        else:  # pragma: no cover - older/newer tf2onnx without the private helper
            convert.from_graph_def(
                graph_def,
                input_names=inputs,
                output_names=outputs,
                opset=opset,
                tensors_to_rename=renames,
                output_path=str(dest),
            )
    missing = sorted(
        {
            r.args[1]
            for r in records
            if "is not supported" in str(r.msg) and isinstance(r.args, tuple) and len(r.args) > 1
        }
    )
    if missing:
        raise Unsupported(f"tf2onnx has no ONNX conversion for the TensorFlow ops {', '.join(missing)}")


def _patch_tf2onnx() -> None:
    """Apply Keras' numpy-2 compatibility patch to tf2onnx (what `model.export` does)."""
    try:
        from keras.src.export.tf2onnx_lib import patch_tf2onnx
    except ImportError:  # pragma: no cover - Keras moved it; tf2onnx may then be fixed
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # its `hasattr(np, "object")` probe
        patch_tf2onnx()


@contextlib.contextmanager
def _tf2onnx_log() -> Iterator[list[logging.LogRecord]]:
    """Collect tf2onnx's warnings and errors instead of letting them reach stderr."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("tf2onnx")
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers = [Collect(logging.WARNING)]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield records
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def predict(path: Path, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run the `.onnx` file in an onnxruntime CPU session with inputs matched by name.

    Graph inputs that carry an initializer (a default value) are not model inputs and are not fed.
    """
    import onnxruntime as ort

    from dlflow.export.signature import match_names, to_str_objects

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    declared = {i.name: i.type for i in session.get_inputs()}
    names = match_names(list(feed), list(declared), "inputs")
    ort_feed = {}
    for key, array in feed.items():
        kind = declared[names[key]]
        if kind == "tensor(string)":
            ort_feed[names[key]] = to_str_objects(array)
        else:
            ort_feed[names[key]] = array.astype(ORT_TYPES.get(kind, array.dtype), copy=False)
    output_names = [o.name for o in session.get_outputs()]
    values = session.run(output_names, ort_feed)
    return dict(zip(output_names, (np.asarray(v) for v in values)))
