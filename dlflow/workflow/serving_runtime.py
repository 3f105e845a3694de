"""Which runtime `dlflow serve` runs the model on: ONNX Runtime when it predicts what TensorFlow does.

`--runtime auto` (the default) converts the model to ONNX at start-up (its SavedModel signature
through tf2onnx, as `dlflow export` does: about 3 s for a small model) and keeps onnxruntime when
its outputs on a probe batch match TensorFlow's within the export's ONNX tolerance
(`dlflow.export.parity`, 1e-5 of each output's scale); otherwise it serves with TensorFlow and says
why on stderr. `--runtime onnx` makes either failure an error; `--runtime tensorflow` skips the
conversion. The choice is shown in `/metadata` (`dlflow.serving.runtime`, `.predict`) and the
parity measured in `dlflow.serving.parity`.

Measured on the digits MLP, 8 clients (benchmarks/serve.py): the model call's CPU time drops from
0.6-0.9 ms to 0.02-0.03 ms per batch (`dlflow.serve.onnx_predict`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from dlflow.errors import UsageError
from dlflow.log import Log

Arrays = dict[str, np.ndarray]
PROBE_ROWS = 8


@dataclass
class ServingRuntime:
    """The chosen predict function and what /metadata says of it."""

    predict: Callable[[Arrays], Arrays]
    runtime: str
    path: str
    parity: dict[str, Any] = field(default_factory=dict)


def choose_runtime(
    choice: str,
    model: Any,
    tf_predict: Callable[[Arrays], Arrays],
    tf_path: str,
    inputs: Sequence[Any],
    raw_names: dict[str, str],
    output_names: Sequence[str],
    log: Log,
) -> ServingRuntime:
    """The runtime to serve with (see the module's docstring).

    Args:
        choice: "auto", "onnx" or "tensorflow" (`serve --runtime`).
        model: the loaded Keras model.
        tf_predict: its TensorFlow predict function (`dlflow.serve.predictor.compile_predict`).
        tf_path: how /metadata describes `tf_predict`.
        inputs: the model's input specs.
        raw_names: each output's name in the SavedModel signature.
        output_names: the served outputs, in order.
        log: where the choice is said (stderr).

    Raises:
        UsageError: `--runtime onnx` and the model cannot be served on ONNX Runtime as TensorFlow serves it.
    """
    tensorflow = ServingRuntime(tf_predict, "tensorflow", tf_path)
    if choice == "tensorflow":
        return tensorflow
    try:
        predict = _convert(model, inputs, raw_names, output_names)
        probe = probe_batch(inputs)
        parity = _parity(tf_predict(probe), predict(probe))
    except Exception as error:  # noqa: BLE001 - any conversion failure means: serve with TensorFlow
        reason = f"the model does not convert to ONNX ({type(error).__name__}: {_first_line(error)})"
    else:
        if parity["ok"]:
            from dlflow.serve.onnx_predict import PREDICT_PATH

            log(f"runtime: onnxruntime (outputs within {parity['max_rel_diff']:.1e} of TensorFlow's)")
            return ServingRuntime(predict, "onnxruntime", PREDICT_PATH, parity)
        reason = (
            f"ONNX outputs differ from TensorFlow's by {parity['max_rel_diff']} of their scale "
            f"(tolerance {parity['tolerance']})"
        )
    if choice == "onnx":
        raise UsageError(f"--runtime onnx: {reason}; serve with --runtime auto or tensorflow")
    log(f"runtime: tensorflow ({reason})")
    return tensorflow


def _convert(
    model: Any, inputs: Sequence[Any], raw_names: dict[str, str], output_names: Sequence[str]
) -> Callable[[Arrays], Arrays]:
    """The model as ONNX (through its SavedModel signature, as `dlflow export` converts it), on onnxruntime."""
    from dlflow.export import onnx_format, saved_model
    from dlflow.serve.onnx_predict import onnx_predict

    with tempfile.TemporaryDirectory(prefix="dlflow-serve-") as scratch:
        folder = Path(scratch)
        saved_model.write(model, folder / saved_model.DIRNAME)
        onnx_format.write(folder / saved_model.DIRNAME, folder / onnx_format.FILENAME)
        onnx_bytes = (folder / onnx_format.FILENAME).read_bytes()
    return onnx_predict(onnx_bytes, inputs, raw_names, output_names)


def _parity(reference: Arrays, got: Arrays) -> dict[str, Any]:
    """`dlflow.export.parity.compare` at the ONNX export's tolerance, without the per-output detail."""
    from dlflow.export.parity import compare, tolerance_for

    result = compare(reference, got, tolerance_for("onnx"))
    return {key: result[key] for key in ("ok", "max_abs_diff", "max_rel_diff", "tolerance")}


def probe_batch(specs: Sequence[Any], rows: int = PROBE_ROWS, seed: int = 0) -> Arrays:
    """A batch to compare runtimes on: uniform numbers in [0, 255) for float inputs (pixels and
    table values alike), zeros for integer inputs (valid indices), a few strings for string inputs."""
    generator = np.random.default_rng(seed)
    batch = {}
    for spec in specs:
        shape = (rows, *spec.shape)
        if spec.dtype == "string":
            words = np.array(["", "a", "small", "large", "the cat sat"], dtype=object)
            batch[spec.name] = words[np.arange(int(np.prod(shape))) % len(words)].reshape(shape)
        elif np.dtype(spec.dtype).kind == "f":
            batch[spec.name] = (generator.random(shape) * 255.0).astype(spec.dtype)
        else:
            batch[spec.name] = np.zeros(shape, dtype=spec.dtype)
    return batch


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else "no message"
