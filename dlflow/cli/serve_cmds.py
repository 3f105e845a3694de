"""`dlflow serve`."""

import sys
from typing import Annotated, Any, Optional

import typer

from dlflow.choices import ServeOutput, ServeRuntime
from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, RunArgument, TrustCodeOption
from dlflow.cli.output import emit_json, progress, quiet_tensorflow

app = typer.Typer()  # joined to the root app by cli/main.py

HostOption = Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 opens the server to other machines.")]
PortOption = Annotated[int, typer.Option(help="TCP port (0: any free port).")]
NameOption = Annotated[Optional[str], typer.Option(help="Model name in URLs (default: the experiment name).")]
MaxBatchSizeOption = Annotated[int, typer.Option(help="Most examples one model call gathers from concurrent requests.")]
BatchTimeoutOption = Annotated[
    float,
    typer.Option(
        help="Milliseconds a batch waits for requests already arriving "
        "(0: batches are what queued while the model was busy)."
    ),
]
MaxBodyOption = Annotated[float, typer.Option(help="Largest request body in MiB; larger requests get 413.")]
MaxRowsOption = Annotated[int, typer.Option(help="Most examples in one request; more get 413.")]
TokenOption = Annotated[
    Optional[str],
    typer.Option(
        envvar="DLFLOW_SERVE_TOKEN", show_envvar=True, help="Require 'Authorization: Bearer TOKEN' on every request."
    ),
]
OutputOption = Annotated[
    ServeOutput,
    typer.Option(
        help="decoded: labels and confidences; raw: the output tensors by their SavedModel names, "
        "exactly as TF Serving answers."
    ),
]
LogSampleOption = Annotated[
    float, typer.Option(help="Share of requests recorded in the prediction log, 0..1 (0: no log).")
]
LogMaxOption = Annotated[
    float, typer.Option(help="Most MiB the prediction log keeps; its oldest files are deleted past it.")
]
LogDirOption = Annotated[
    Optional[str], typer.Option(help="Prediction log folder (default: <run>/serving; read by dlflow monitor).")
]
RuntimeOption = Annotated[
    ServeRuntime,
    typer.Option(
        help="What runs the model: auto: ONNX Runtime when its outputs match TensorFlow's (checked at start-up), "
        "else TensorFlow; onnx: ONNX Runtime or an error; tensorflow."
    ),
]


@app.command()
def serve(
    run: RunArgument,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8501,
    name: NameOption = None,
    max_batch_size: MaxBatchSizeOption = 64,
    batch_timeout_ms: BatchTimeoutOption = 0.0,
    max_body_mb: MaxBodyOption = 10.0,
    max_rows: MaxRowsOption = 10_000,
    token: TokenOption = None,
    output: OutputOption = ServeOutput.decoded,
    log_sample: LogSampleOption = 1.0,
    log_max_mb: LogMaxOption = 100.0,
    log_dir: LogDirOption = None,
    runtime: RuntimeOption = ServeRuntime.auto,
    json_: JsonOption = False,
    trust_code: TrustCodeOption = False,
) -> None:
    """Serve the run's model over TensorFlow Serving's REST API (predict, status, metadata) and /metrics."""
    from dlflow.workflow.serve_options import ServeOptions

    options = ServeOptions(
        host=host,
        port=port,
        name=name,
        max_batch_size=max_batch_size,
        batch_timeout_ms=batch_timeout_ms,
        max_body_mb=max_body_mb,
        max_rows=max_rows,
        token=token,
        output=output.value,
        log_sample=log_sample,
        log_max_mb=log_max_mb,
        log_dir=log_dir,
        runtime=runtime.value,
    )
    _serve(run, options, json_=json_, trust_code=trust_code)


def _serve(run: str, options: Any, *, json_: bool, trust_code: bool) -> None:
    """Serve until stopped; the URL (or with --json the ready line) on stdout once listening."""
    from dlflow.workflow.serving import serve as run_serve

    quiet_tensorflow(State.verbose)

    def ready(info: dict[str, Any]) -> None:
        if json_:
            emit_json(info)
        else:
            typer.echo(info["url"])
        sys.stdout.flush()
        progress(
            f"serving {info['model']} (run {info['run']}): POST {info['url']}:predict, "
            f"GET {info['url']}/metadata, GET {info['metrics']}; Ctrl-C to stop"
        )

    run_serve(run, options, runs_root=State.runs_root, log=progress, on_ready=ready, trust_code=trust_code)
    progress("server stopped")
