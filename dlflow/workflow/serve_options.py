"""The settings of `dlflow serve`, checked before the port is taken or the model loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlflow.choices import SERVE_OUTPUTS, SERVE_RUNTIMES
from dlflow.errors import UsageError


@dataclass(frozen=True)
class ServeOptions:
    """How `dlflow.workflow.serving.serve` serves a run.

    Args:
        host: the address to listen on (127.0.0.1: this machine only).
        port: the TCP port (0: any free port; `on_ready` says which).
        name: the model name in URLs; default: the experiment name.
        max_batch_size: the most examples one model call gathers from concurrent requests.
        batch_timeout_ms: how long a batch waits for requests already arriving (0: it takes what
            queued while the model was busy; see `dlflow.serve.batching`).
        max_body_mb: the largest request body in MiB (larger: 413 before it is parsed).
        max_rows: the most examples one request may send (more: 413).
        token: when set, every request needs `Authorization: Bearer <token>` (else 401).
        output: "decoded" (labels and confidences) or "raw" (the output tensors by their SavedModel
            names, exactly as TF Serving answers for the exported model; see `dlflow.serve.raw`).
        log_sample: the share of requests written to the prediction log (0: no log).
        log_max_mb: the most the prediction log's files may weigh (the oldest are deleted past it).
        log_dir: the prediction log's folder; default `<run>/serving`.
        runtime: "auto" (onnxruntime when its outputs match TensorFlow's, else TensorFlow), "onnx"
            or "tensorflow" (see `dlflow.workflow.serving_runtime`).

    Example:
        >>> ServeOptions(port=0, log_sample=0.1).check()
    """

    host: str = "127.0.0.1"
    port: int = 8501
    name: str | None = None
    max_batch_size: int = 64
    batch_timeout_ms: float = 0.0
    max_body_mb: float = 10.0
    max_rows: int = 10_000
    token: str | None = None
    output: str = "decoded"
    log_sample: float = 1.0
    log_max_mb: float = 100.0
    log_dir: str | Path | None = None
    runtime: str = "auto"

    def check(self) -> None:
        """UsageError for a setting out of its range."""
        if self.max_batch_size < 1:
            raise UsageError(f"--max-batch-size must be at least 1, received {self.max_batch_size}")
        if self.batch_timeout_ms < 0:
            raise UsageError(f"--batch-timeout-ms must be 0 or more, received {self.batch_timeout_ms}")
        if not self.max_body_mb > 0 or self.max_rows < 1:
            raise UsageError(
                f"--max-body-mb must be above 0 and --max-rows at least 1, received {self.max_body_mb} "
                f"and {self.max_rows}"
            )
        if self.output not in SERVE_OUTPUTS:
            raise UsageError(f"--output must be one of {', '.join(SERVE_OUTPUTS)}, received '{self.output}'")
        if self.runtime not in SERVE_RUNTIMES:
            raise UsageError(f"--runtime must be one of {', '.join(SERVE_RUNTIMES)}, received '{self.runtime}'")
        if not 0.0 <= self.log_sample <= 1.0 or not self.log_max_mb > 0:
            raise UsageError(
                f"--log-sample must be within 0..1 and --log-max-mb above 0, received "
                f"{self.log_sample} and {self.log_max_mb}"
            )
        if self.token is not None and not self.token.strip():
            raise UsageError("--token (or DLFLOW_SERVE_TOKEN) is empty; give a secret or leave it unset")
