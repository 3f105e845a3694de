"""The deploy stage's server: a run's model behind TensorFlow Serving's REST API."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable

from dlflow.errors import UsageError, WorkFailed
from dlflow.log import Log, quiet
from dlflow.workflow.opened_run import load_run_model, open_run, run_signature

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def serve(run_ref: str, *, host: str = "127.0.0.1", port: int = 8501, name: str | None = None,
          max_batch_size: int = 64, batch_timeout_ms: float = 0.0, max_body_mb: float = 10.0,
          max_rows: int = 10_000, token: str | None = None, output: str = "decoded", log_sample: float = 1.0,
          log_max_mb: float = 100.0, log_dir: str | Path | None = None, runs_root: Path = Path("runs"),
          log: Log = quiet, on_ready: Callable[[dict[str, Any]], None] | None = None,
          trust_code: bool = False) -> None:
    """Load a run's model once and serve it until SIGINT or SIGTERM.

    Args:
        run_ref: a run directory or experiment name (its latest completed train run).
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
        on_ready: called once the server listens, with {"url", "server", "metrics", "model",
            "version", "run"}.

    Raises:
        UsageError: no such run, a bad name or batching setting, the port cannot be listened on.
    """
    from dlflow.serve.app import create_app
    from dlflow.serve.guard import allowed_hosts
    from dlflow.serve.server import listen, run_server

    _check_options(max_batch_size=max_batch_size, batch_timeout_ms=batch_timeout_ms, max_body_mb=max_body_mb,
                   max_rows=max_rows, output=output, log_sample=log_sample, log_max_mb=log_max_mb, token=token)
    sock = listen(host, port)  # a busy port fails now, not after loading the model
    try:
        served = load_served_model(run_ref, runs_root=runs_root, name=name, log=log, trust_code=trust_code)
    except BaseException:
        sock.close()
        raise
    from dlflow.serve.metrics import ServerMetrics

    metrics = ServerMetrics()
    prediction_log = None
    if log_sample > 0:
        prediction_log = _prediction_log(served, metrics, log_sample, log_max_mb, log_dir, runs_root, log)
    app = create_app(served, max_batch_size=max_batch_size, batch_timeout=batch_timeout_ms / 1000.0,
                     max_body_bytes=int(max_body_mb * 1024 * 1024), max_rows=max_rows, token=token,
                     hosts=allowed_hosts(host), output=output, metrics=metrics, prediction_log=prediction_log)

    def ready(base_url: str) -> None:
        if on_ready is not None:
            on_ready({"url": f"{base_url}/v1/models/{served.name}", "server": base_url,
                      "metrics": f"{base_url}/metrics", "model": served.name, "version": served.version,
                      "run": served.run})

    run_server(app, sock, on_ready=ready)


def _check_options(*, max_batch_size: int, batch_timeout_ms: float, max_body_mb: float, max_rows: int, output: str,
                   log_sample: float, log_max_mb: float, token: str | None) -> None:
    """UsageError for a serving option out of its range (before the port is taken or the model loads)."""
    if max_batch_size < 1:
        raise UsageError(f"--max-batch-size must be at least 1, received {max_batch_size}")
    if batch_timeout_ms < 0:
        raise UsageError(f"--batch-timeout-ms must be 0 or more, received {batch_timeout_ms}")
    if not max_body_mb > 0 or max_rows < 1:
        raise UsageError(f"--max-body-mb must be above 0 and --max-rows at least 1, received {max_body_mb} "
                         f"and {max_rows}")
    if output not in ("decoded", "raw"):
        raise UsageError(f"--output must be decoded or raw, received '{output}'")
    if not 0.0 <= log_sample <= 1.0 or not log_max_mb > 0:
        raise UsageError(f"--log-sample must be within 0..1 and --log-max-mb above 0, received {log_sample} "
                         f"and {log_max_mb}")
    if token is not None and not token.strip():
        raise UsageError("--token (or DLFLOW_SERVE_TOKEN) is empty; give a secret or leave it unset")


def load_served_model(run_ref: str, *, runs_root: Path = Path("runs"), name: str | None = None,
                      log: Log = quiet, trust_code: bool = False) -> Any:
    """A run's model, loaded and traced once, with its signature: a `dlflow.serve.model.ServedModel`.

    The input and target specs come from the run's manifest (what training saw), so serving
    needs neither the training data nor its split; a run whose manifest lacks them loads its data.
    """
    from dlflow.data.tasks import decode_predictions
    from dlflow.serve.model import ServedModel
    from dlflow.serve.predictor import compile_predict, example_batch
    from dlflow.serve.raw import signature_output_names

    started = time.perf_counter()
    opened = open_run(run_ref, runs_root, log, with_data=False, trust_code=trust_code)
    name = name or opened.loaded.config.name
    if not MODEL_NAME.match(name):
        raise UsageError(f"model name '{name}': expected letters, digits, '.', '_' or '-' (it goes in URLs)")
    signature = run_signature(opened, log, raw_files=False)
    inputs, targets, kind = signature.inputs, signature.targets, signature.kind
    model = load_run_model(opened)
    predict = compile_predict(model, [target.name for target in targets])
    warm = predict(example_batch(inputs))  # traces the function once, for every batch size
    absent = [target.name for target in targets if target.name not in warm]
    if absent:
        raise WorkFailed(f"{opened.run.path}: the model has no output named {', '.join(absent)} "
                         f"(its outputs: {', '.join(warm)})")
    seconds = time.perf_counter() - started
    log(f"model: {opened.run.path} loaded and traced in {seconds:.2f}s")
    return ServedModel(
        name=name, inputs=inputs, outputs=targets, predict=predict, decode=decode_predictions,
        output_shapes={key: (-1, *value.shape[1:]) for key, value in warm.items()}, kind=kind,
        run=_shown_path(opened.run.path), load_seconds=seconds, run_dir=str(opened.run.path),
        raw_names=signature_output_names(model, [target.name for target in targets]),
    )


def _prediction_log(served: Any, metrics: Any, sample: float, max_mb: float, log_dir: str | Path | None,
                    runs_root: Path, log: Log) -> Any:
    """The prediction log of a served run, with drift gauges against its training split."""
    from dlflow.serve.predlog import PredictionLog

    run = Path(served.run_dir)
    folder = Path(log_dir) if log_dir is not None else run / "serving"
    log(f"prediction log: {sample:.0%} of requests to {folder} (at most {max_mb:g} MiB)")
    return PredictionLog(folder, served.inputs, served.outputs, served.decode, version=served.version,
                         sample=sample, max_bytes=int(max_mb * 2**20), metrics=metrics,
                         drift=_psi_gauges(run, served.inputs, runs_root), warn=log)


def _psi_gauges(run: Path, specs: Any, runs_root: Path) -> Callable[[dict], dict[str, float]]:
    """`{column: values} -> {feature: PSI}` against the training split, which is loaded on first use
    (in the prediction log's thread, never on a request's path)."""
    from dlflow.monitor.drift import psi
    from dlflow.serve.logcolumns import drift_features, is_numeric, log_columns

    reference: dict[str, Any] = {}

    def drift(columns: dict) -> dict[str, float]:
        if not reference:
            opened = open_run(str(run), runs_root, quiet)
            train = opened.data.train
            features = drift_features(log_columns(train.inputs, list(train.input_specs.values())), specs)
            reference.update({name: values for name, values in features.items() if is_numeric(values)})
        live = drift_features(columns, specs)
        return {name: psi(values, live[name]) for name, values in reference.items() if name in live}

    return drift


def _shown_path(run_dir: Path) -> str:
    """The run as `<experiment>/<run-id>`: what metadata and metrics show (never an absolute path)."""
    return "/".join(Path(run_dir).parts[-2:])

