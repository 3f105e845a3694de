"""What the server serves: a loaded model's name, signature, predict function and decoder.

The workflow builds a `ServedModel` from a run (model, input and target specs); the app only
talks to this object, so it never loads runs or imports TensorFlow itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

Arrays = dict[str, np.ndarray]


@dataclass
class ServedModel:
    """A model ready to serve.

    Args:
        name: the model name in URLs (`/v1/models/<name>`).
        inputs: one spec per model input, each with `name`, `shape` (one example, no batch
            axis), `dtype` ("float32", "int64" or "string") and `column` (a table's original
            column name, or None); e.g. `dlflow.data.InputSpec`.
        outputs: one spec per model output, each with `name`, `task` and `classes`; e.g.
            `dlflow.data.TargetSpec`.
        predict: the batched forward pass, `{input name: array} -> {output name: array}`.
        decode: `(output spec, raw outputs) -> (labels, confidence or None)`.
        output_shapes: each output's shape, batch axis first as -1 (for the metadata).
        kind: the data kind ("tabular" names inputs "columns" in messages).
        version: the version in URLs and the status; always "1" for a run.
        run: the run directory, for the metadata and metrics.
        load_seconds: time taken to load the model and trace its predict function.
        raw_names: each output's name in the exported SavedModel's signature (`output_0`, ...),
            for `--output raw` (`dlflow.serve.raw`); an output not listed keeps its name.
        run_dir: the run directory itself (where the prediction log goes by default).
        runtime: what runs `predict`: "tensorflow" or "onnxruntime" (`dlflow.workflow.serving_runtime`).
        predict_path: how `predict` runs, in words (shown in /metadata).
        parity: for onnxruntime, how far its outputs were from TensorFlow's on a probe batch.
    """

    name: str
    inputs: Sequence[Any]
    outputs: Sequence[Any]
    predict: Callable[[Arrays], Arrays]
    decode: Callable[[Any, np.ndarray], tuple[np.ndarray, np.ndarray | None]]
    output_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    kind: str = "arrays"
    version: str = "1"
    run: str = ""
    load_seconds: float = 0.0
    raw_names: dict[str, str] = field(default_factory=dict)
    run_dir: str = ""
    runtime: str = "tensorflow"
    predict_path: str = ""
    parity: dict[str, Any] = field(default_factory=dict)

    @property
    def input_noun(self) -> str:
        """How messages call one input: "column" for tables, "input" otherwise."""
        return "column" if self.kind == "tabular" else "input"
