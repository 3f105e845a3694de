"""The deploy stage's server: a run's model behind TensorFlow Serving's REST API."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable

from dlflow.errors import UsageError, WorkFailed
from dlflow.log import Log, quiet
from dlflow.workflow.opened_run import load_run_model, open_run, run_signature
from dlflow.workflow.serve_options import ServeOptions

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def serve(
    run_ref: str,
    options: ServeOptions | None = None,
    *,
    runs_root: Path = Path("runs"),
    log: Log = quiet,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    trust_code: bool = False,
) -> None:
    """Load a run's model once and serve it until SIGINT or SIGTERM.

    Args:
        run_ref: a run directory or experiment name (its latest completed train run).
        options: the server's settings (`dlflow.workflow.serve_options.ServeOptions`; its defaults when None).
        runs_root: where experiment names are looked up.
        log: where progress goes (stderr).
        on_ready: called once the server listens, with {"url", "server", "metrics", "model",
            "version", "run"}.
        trust_code: load a run whose model runs code from its own config (`model.factory`).

    Raises:
        UsageError: no such run, a bad name or setting, the port cannot be listened on.
    """
    from dlflow.serve.server import listen, run_server

    options = options or ServeOptions()
    options.check()
    sock = listen(options.host, options.port)  # a busy port fails now, not after loading the model
    try:
        served = load_served_model(
            run_ref, runs_root=runs_root, name=options.name, log=log, trust_code=trust_code, runtime=options.runtime
        )
    except BaseException:
        sock.close()
        raise
    run_server(_serving_app(served, options, runs_root, log), sock, on_ready=_announce(served, on_ready))


def _serving_app(served: Any, options: ServeOptions, runs_root: Path, log: Log) -> Any:
    """The REST app over `served`, with its metrics and (unless `log_sample` is 0) its prediction log."""
    from dlflow.serve.app import create_app
    from dlflow.serve.guard import allowed_hosts
    from dlflow.serve.metrics import ServerMetrics

    metrics = ServerMetrics()
    prediction_log = None
    if options.log_sample > 0:
        prediction_log = _prediction_log(
            served, metrics, options.log_sample, options.log_max_mb, options.log_dir, runs_root, log
        )
    return create_app(
        served,
        max_batch_size=options.max_batch_size,
        batch_timeout=options.batch_timeout_ms / 1000.0,
        max_body_bytes=int(options.max_body_mb * 1024 * 1024),
        max_rows=options.max_rows,
        token=options.token,
        hosts=allowed_hosts(options.host),
        output=options.output,
        metrics=metrics,
        prediction_log=prediction_log,
    )


def _announce(served: Any, on_ready: Callable[[dict[str, Any]], None] | None) -> Callable[[str], None]:
    """What the server calls once it listens: `on_ready` with the URLs."""

    def ready(base_url: str) -> None:
        if on_ready is not None:
            on_ready(
                {
                    "url": f"{base_url}/v1/models/{served.name}",
                    "server": base_url,
                    "metrics": f"{base_url}/metrics",
                    "model": served.name,
                    "version": served.version,
                    "run": served.run,
                }
            )

    return ready


def load_served_model(
    run_ref: str,
    *,
    runs_root: Path = Path("runs"),
    name: str | None = None,
    log: Log = quiet,
    trust_code: bool = False,
    runtime: str = "tensorflow",
) -> Any:
    """A run's model, loaded and traced once, with its signature: a `dlflow.serve.model.ServedModel`.

    The input and target specs come from the run's manifest (what training saw), so serving
    needs neither the training data nor its split; a run whose manifest lacks them loads its data.
    `runtime` ("auto", "onnx", "tensorflow") chooses what runs it (`dlflow.workflow.serving_runtime`).
    """
    from dlflow.data.tasks import decode_predictions
    from dlflow.serve.model import ServedModel
    from dlflow.serve.predictor import PREDICT_PATH, compile_predict, example_batch
    from dlflow.serve.raw import signature_output_names
    from dlflow.workflow.serving_runtime import choose_runtime

    started = time.perf_counter()
    opened = open_run(run_ref, runs_root, log, with_data=False, trust_code=trust_code)
    name = name or opened.loaded.config.name
    if not MODEL_NAME.match(name):
        raise UsageError(f"model name '{name}': expected letters, digits, '.', '_' or '-' (it goes in URLs)")
    signature = run_signature(opened, log, raw_files=False)
    inputs, names = signature.inputs, [target.name for target in signature.targets]
    model = load_run_model(opened)
    predict = compile_predict(model, names)
    warm = predict(example_batch(inputs))  # traces the function once, for every batch size
    if absent := [output for output in names if output not in warm]:
        raise WorkFailed(
            f"{opened.run.path}: the model has no output named {', '.join(absent)} (its outputs: {', '.join(warm)})"
        )
    raw_names = signature_output_names(model, names)
    chosen = choose_runtime(runtime, model, predict, PREDICT_PATH, inputs, raw_names, names, log)
    seconds = time.perf_counter() - started
    log(f"model: {opened.run.path} loaded and made ready in {seconds:.2f}s")
    return ServedModel(
        name=name,
        inputs=inputs,
        outputs=signature.targets,
        predict=chosen.predict,
        decode=decode_predictions,
        output_shapes={key: (-1, *value.shape[1:]) for key, value in warm.items()},
        kind=signature.kind,
        run=_shown_path(opened.run.path),
        load_seconds=seconds,
        run_dir=str(opened.run.path),
        raw_names=raw_names,
        runtime=chosen.runtime,
        predict_path=chosen.path,
        parity=chosen.parity,
    )


def _prediction_log(
    served: Any, metrics: Any, sample: float, max_mb: float, log_dir: str | Path | None, runs_root: Path, log: Log
) -> Any:
    """The prediction log of a served run, with drift gauges against its training split."""
    from dlflow.serve.predlog import PredictionLog

    run = Path(served.run_dir)
    folder = Path(log_dir) if log_dir is not None else run / "serving"
    log(f"prediction log: {sample:.0%} of requests to {folder} (at most {max_mb:g} MiB)")
    return PredictionLog(
        folder,
        served.inputs,
        served.outputs,
        served.decode,
        version=served.version,
        sample=sample,
        max_bytes=int(max_mb * 2**20),
        metrics=metrics,
        drift=_psi_gauges(run, served.inputs, runs_root, log),
        warn=log,
    )


def _psi_gauges(run: Path, specs: Any, runs_root: Path, log: Log) -> Callable[[dict], dict[str, float]] | None:
    """`{column: values} -> {feature: PSI}` against the training split, loaded here, before the server
    is ready; None (said once) when it cannot be loaded: serving goes on without the gauges.

    The split used to load at the log's first write, in its thread, holding the GIL for the length of
    a data load while requests waited (0.3 s for digits; a whole round of `benchmarks/serve.py` ran
    about a third slower for it).
    """
    from dlflow.monitor.drift import psi
    from dlflow.serve.logcolumns import drift_features, is_numeric, log_columns

    try:
        train = open_run(str(run), runs_root, quiet).data.train
        features = drift_features(log_columns(train.inputs, list(train.input_specs.values())), specs)
    except Exception as error:  # noqa: BLE001 - the gauges are optional; the log and the server go on
        log(f"prediction log: drift gauges off ({type(error).__name__}: {error})")
        return None
    reference = {name: values for name, values in features.items() if is_numeric(values)}

    def drift(columns: dict) -> dict[str, float]:
        live = drift_features(columns, specs)
        return {name: psi(values, live[name]) for name, values in reference.items() if name in live}

    return drift


def _shown_path(run_dir: Path) -> str:
    """The run as `<experiment>/<run-id>`: what metadata and metrics show (never an absolute path)."""
    return "/".join(Path(run_dir).parts[-2:])
