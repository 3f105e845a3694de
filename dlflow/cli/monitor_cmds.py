"""`dlflow monitor`."""

from typing import Annotated, Any, Optional

import typer

from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, RunArgument
from dlflow.cli.output import emit_json, progress, stdout_console

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def monitor(
    run: RunArgument,
    log: Annotated[
        Optional[str],
        typer.Option("--log", help="A prediction log folder (default: <run>/serving, what dlflow serve writes)."),
    ] = None,
    data: Annotated[
        Optional[str],
        typer.Option(
            "--data", help="Live inputs from a file instead (as dlflow predict takes); the model predicts on them."
        ),
    ] = None,
    labels: Annotated[
        Optional[str],
        typer.Option(
            "--labels",
            help="True labels, CSV: request_id[, row] and the target column "
            "(with --data: the target column, in row order).",
        ),
    ] = None,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", help="The HTML page (default: <run>/monitor/report.html).")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Compare live inputs and predictions with the training split; exit 1 past the config's monitor: thresholds."""
    from dlflow.workflow.monitor import monitor as run_monitor

    result = run_monitor(
        run, log_dir=log, data_file=data, labels=labels, output=output, runs_root=State.runs_root, log=progress
    )
    if json_:
        emit_json(result)
    else:
        _print_table(result)
    progress(f"report: {result['report']}")
    if result["alerts"]:
        for alert in result["alerts"]:
            progress(f"alert: {alert}")
        raise typer.Exit(1)


def _print_table(result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"drift of {result['rows']} live rows ({result['source']}) against the training split")
    for column in ("feature", "type", "PSI", "KS p", "chi2 p", "missing train/live", "drifted"):
        table.add_column(column, overflow="fold")
    for name, f in result["features"].items():
        table.add_row(
            name,
            f["type"],
            _num(f.get("psi")),
            _num(f.get("ks_pvalue")),
            _num(f.get("chi2_pvalue")),
            f"{f['missing_train']:.1%} / {f['missing_live']:.1%}",
            "YES" if f["drifted"] else "no",
        )
    for name, p in result.get("predictions", {}).items():
        table.add_row(
            f"predicted {name}", "prediction", "", "", _num(p.get("chi2_pvalue")), "", "YES" if p["drifted"] else "no"
        )
    console = stdout_console()
    console.print(table)
    for name, a in result.get("accuracy", {}).items():
        console.print(
            f"live accuracy of {name}: {_num(a['live'])} on {a['rows']} labelled rows "
            f"(evaluation: {_num(a['evaluation'])})"
        )
    if result.get("note"):
        console.print(result["note"])


def _num(value: Any) -> str:
    return "" if value is None else f"{value:.3g}"
