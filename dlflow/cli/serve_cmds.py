"""`dlflow serve`."""

import sys
from typing import Annotated, Any, Optional

import typer

from dlflow.choices import ServeOutput
from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, RunArgument, TrustCodeOption
from dlflow.cli.output import emit_json, progress, quiet_tensorflow

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def serve(
    run: RunArgument,
    host: Annotated[str, typer.Option(
        help="Address to listen on; 0.0.0.0 opens the server to other machines.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8501,
    name: Annotated[Optional[str], typer.Option(help="Model name in URLs (default: the experiment name).")] = None,
    max_batch_size: Annotated[int, typer.Option(
        help="Most examples one model call gathers from concurrent requests.")] = 64,
    batch_timeout_ms: Annotated[float, typer.Option(
        help="Milliseconds a batch waits for requests already arriving "
             "(0: batches are what queued while the model was busy).")] = 0.0,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body in MiB; larger requests get 413.")] = 10.0,
    max_rows: Annotated[int, typer.Option(help="Most examples in one request; more get 413.")] = 10_000,
    token: Annotated[Optional[str], typer.Option(
        envvar="DLFLOW_SERVE_TOKEN", show_envvar=True,
        help="Require 'Authorization: Bearer TOKEN' on every request.")] = None,
    output: Annotated[ServeOutput, typer.Option(
        help="decoded: labels and confidences; raw: the output tensors by their SavedModel names, "
             "exactly as TF Serving answers.")] = ServeOutput.decoded,
    log_sample: Annotated[float, typer.Option(
        help="Share of requests recorded in the prediction log, 0..1 (0: no log).")] = 1.0,
    log_max_mb: Annotated[float, typer.Option(
        help="Most MiB the prediction log keeps; its oldest files are deleted past it.")] = 100.0,
    log_dir: Annotated[Optional[str], typer.Option(
        help="Prediction log folder (default: <run>/serving; read by dlflow monitor).")] = None,
    json_: JsonOption = False,
    trust_code: TrustCodeOption = False,
) -> None:
    """Serve the run's model over TensorFlow Serving's REST API (predict, status, metadata) and /metrics."""
    from dlflow.workflow.serving import serve as run_serve

    quiet_tensorflow(State.verbose)

    def ready(info: dict[str, Any]) -> None:
        if json_:
            emit_json(info)
        else:
            typer.echo(info["url"])
        sys.stdout.flush()
        progress(f"serving {info['model']} (run {info['run']}): POST {info['url']}:predict, "
                 f"GET {info['url']}/metadata, GET {info['metrics']}; Ctrl-C to stop")

    run_serve(run, host=host, port=port, name=name, max_batch_size=max_batch_size,
              batch_timeout_ms=batch_timeout_ms, max_body_mb=max_body_mb, max_rows=max_rows, token=token,
              output=output.value,
              log_sample=log_sample, log_max_mb=log_max_mb, log_dir=log_dir, runs_root=State.runs_root,
              log=progress, on_ready=ready, trust_code=trust_code)
    progress("server stopped")
