"""The deploy stage's server: a run's model behind TensorFlow Serving's REST API."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable

from dlflow.errors import UsageError, WorkFailed
from dlflow.workflow.common import Log, quiet
from dlflow.workflow.runs import OpenedRun, load_run_model, open_run

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def serve(run_ref: str, *, host: str = "127.0.0.1", port: int = 8501, name: str | None = None,
          max_batch_size: int = 64, batch_timeout_ms: float = 0.0, max_body_mb: float = 10.0,
          max_rows: int = 10_000, token: str | None = None, runs_root: Path = Path("runs"),
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
        on_ready: called once the server listens, with {"url", "server", "metrics", "model",
            "version", "run"}.

    Raises:
        UsageError: no such run, a bad name or batching setting, the port cannot be listened on.
    """
    from dlflow.serve.app import create_app
    from dlflow.serve.guard import allowed_hosts
    from dlflow.serve.server import listen, run_server

    if max_batch_size < 1:
        raise UsageError(f"--max-batch-size must be at least 1, received {max_batch_size}")
    if batch_timeout_ms < 0:
        raise UsageError(f"--batch-timeout-ms must be 0 or more, received {batch_timeout_ms}")
    if not max_body_mb > 0 or max_rows < 1:
        raise UsageError(f"--max-body-mb must be above 0 and --max-rows at least 1, received {max_body_mb} "
                         f"and {max_rows}")
    if token is not None and not token.strip():
        raise UsageError("--token (or DLFLOW_SERVE_TOKEN) is empty; give a secret or leave it unset")
    sock = listen(host, port)  # a busy port fails now, not after loading the model
    try:
        served = load_served_model(run_ref, runs_root=runs_root, name=name, log=log, trust_code=trust_code)
    except BaseException:
        sock.close()
        raise
    app = create_app(served, max_batch_size=max_batch_size, batch_timeout=batch_timeout_ms / 1000.0,
                     max_body_bytes=int(max_body_mb * 1024 * 1024), max_rows=max_rows, token=token,
                     hosts=allowed_hosts(host))

    def ready(base_url: str) -> None:
        if on_ready is not None:
            on_ready({"url": f"{base_url}/v1/models/{served.name}", "server": base_url,
                      "metrics": f"{base_url}/metrics", "model": served.name, "version": served.version,
                      "run": served.run})

    run_server(app, sock, on_ready=ready)


def load_served_model(run_ref: str, *, runs_root: Path = Path("runs"), name: str | None = None,
                      log: Log = quiet, trust_code: bool = False) -> Any:
    """A run's model, loaded and traced once, with its signature: a `dlflow.serve.model.ServedModel`.

    The input and target specs come from the run's manifest (what training saw), so serving
    needs neither the training data nor its split; a run whose manifest lacks them loads its data.
    """
    from dlflow.data.tasks import decode_predictions
    from dlflow.serve.model import ServedModel
    from dlflow.serve.predictor import compile_predict, example_batch

    started = time.perf_counter()
    opened = open_run(run_ref, runs_root, log, with_data=False, trust_code=trust_code)
    name = name or opened.loaded.config.name
    if not MODEL_NAME.match(name):
        raise UsageError(f"model name '{name}': expected letters, digits, '.', '_' or '-' (it goes in URLs)")
    inputs, targets, kind = _signature(opened, log)
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
        run=_shown_path(opened.run.path), load_seconds=seconds,
    )


def _shown_path(run_dir: Path) -> str:
    """The run as `<experiment>/<run-id>`: what metadata and metrics show (never an absolute path)."""
    return "/".join(Path(run_dir).parts[-2:])


def _signature(opened: OpenedRun, log: Log) -> tuple[list[Any], list[Any], str]:
    """The run's input specs, target specs and data kind: from the manifest, else from the data."""
    from dlflow.data.dataset import InputSpec, TargetSpec

    described = opened.manifest.get("data") or {}
    if described.get("inputs") and described.get("targets"):
        inputs = [InputSpec(d["name"], tuple(d["shape"]), d["dtype"], d["role"], column=d.get("column"))
                  for d in described["inputs"]]
        targets = [TargetSpec(d["name"], d["task"], tuple(d["classes"]) if d.get("classes") is not None else None,
                              tuple(d["shape"])) for d in described["targets"]]
        return inputs, targets, described.get("kind", "arrays")
    from dlflow.workflow.common import prepare_data

    data = prepare_data(opened.loaded, opened.run.experiment_dir.parent, log)
    dataset = data.dataset
    return list(dataset.input_specs.values()), list(dataset.target_specs.values()), dataset.kind
