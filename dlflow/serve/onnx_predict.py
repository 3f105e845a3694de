"""The model's forward pass on ONNX Runtime: the served model converted to ONNX, run in-process.

For a small model, TensorFlow's per-call cost (op dispatch through its thread pools) dwarfs the
arithmetic; onnxruntime runs the same graph in the calling thread. Best-of-1000 CPU time per call
on the digits MLP, 2 busy cores: TensorFlow's concrete function 0.6-0.9 ms for 1 to 8 rows,
onnxruntime 0.02-0.03 ms. The workflow (`dlflow.workflow.serving_runtime`) converts the model and
keeps this path only when its outputs match TensorFlow's (`dlflow.export.parity`).

The session's intra-op threads do not spin while idle (`allow_spinning` 0): a server waits most
of the time, and spinning threads would take the CPU from the HTTP side.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

Arrays = dict[str, np.ndarray]
PREDICT_PATH = "onnxruntime session (CPU), converted from the model at start-up; parity with TensorFlow checked"


def onnx_predict(
    onnx_model: bytes, specs: Sequence[Any], raw_names: dict[str, str], output_names: Sequence[str]
) -> Callable[[Arrays], Arrays]:
    """`{input name: array} -> {output name: array}` over an onnxruntime session.

    Args:
        onnx_model: the serialized ONNX model (converted from the model's SavedModel signature).
        specs: the model's input specs (`name`, `dtype`); matched to the graph's inputs by name.
        raw_names: each output's name in the graph (`output_0`, ...), by served output name.
        output_names: the served outputs, in order.

    Raises:
        ValueError: the graph's inputs or outputs do not match the model's.
    """
    import onnxruntime as ort

    from dlflow.export.signature import match_names

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session = ort.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])
    declared = {node.name: node.type for node in session.get_inputs()}
    names = match_names([spec.name for spec in specs], list(declared), "inputs")
    feeds = [(spec.name, names[spec.name], _feed_type(declared[names[spec.name]])) for spec in specs]
    graph_outputs = [raw_names.get(name, name) for name in output_names]
    missing = sorted(set(graph_outputs) - {node.name for node in session.get_outputs()})
    if missing:
        raise ValueError(f"the ONNX graph has no output {', '.join(missing)}")
    run = session.run

    def predict(batch: Arrays) -> Arrays:
        feed = {
            graph: (batch[name] if kind is None else batch[name].astype(kind, copy=False))
            for name, graph, kind in feeds
        }
        return dict(zip(output_names, run(graph_outputs, feed), strict=True))

    return predict


def _feed_type(onnx_type: str) -> Any:
    """The numpy dtype a graph input takes; None for strings (fed as the object arrays they are)."""
    if onnx_type == "tensor(string)":
        return None
    from dlflow.export.onnx_format import ORT_TYPES

    if onnx_type not in ORT_TYPES:
        raise ValueError(f"an ONNX input of type {onnx_type} is not served")
    return ORT_TYPES[onnx_type]
