"""`dlflow export` and `dlflow predict`."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlflow.choices import ExportFormat
from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, RunArgument, TrustCodeOption
from dlflow.cli.output import emit_json, progress, quiet_tensorflow

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def export(
    run: RunArgument,
    format_: Annotated[
        Optional[list[ExportFormat]],
        typer.Option("--format", "-f", help="An artifact to write (repeatable; default: the config's export.formats)."),
    ] = None,
    json_: JsonOption = False,
    trust_code: TrustCodeOption = False,
) -> None:
    """Export the run's model and check each artifact's predictions against the Keras model."""
    from dlflow.workflow.deploy import export as run_export

    quiet_tensorflow(State.verbose)
    report = run_export(
        run, [f.value for f in format_ or []], runs_root=State.runs_root, log=progress, trust_code=trust_code
    )
    if json_:
        emit_json(report)
        return
    from dlflow.export.parity import verdict

    for name, entry in report.get("formats", {}).items():
        typer.echo(f"{name:12s} {entry.get('path') or '-'}  {verdict(entry)}")


@app.command()
def predict(
    run: RunArgument,
    input_: Annotated[
        Path,
        typer.Argument(metavar="INPUT", help="A .csv/.tsv/.parquet table, an .npz, an image or a folder of images."),
    ],
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output", "-o", help="Where to write the predictions CSV ('-': stdout; default: <run>/predictions.csv)."
        ),
    ] = None,
    json_: JsonOption = False,
    trust_code: TrustCodeOption = False,
) -> None:
    """Batch prediction on raw inputs, with labels decoded."""
    from dlflow.workflow.predict import predict as run_predict

    quiet_tensorflow(State.verbose)
    result = run_predict(
        run,
        input_,
        runs_root=State.runs_root,
        output=output,
        log=progress,
        trust_code=trust_code,
        keep_predictions=json_,
    )  # without --json, memory stays flat however long the input
    if json_:
        emit_json({k: v for k, v in result.items() if k != "csv"})
    elif result["csv"] is not None:
        typer.echo(result["csv"], nl=False)
    else:
        typer.echo(f"{result['rows']} predictions: {result['output']}")
