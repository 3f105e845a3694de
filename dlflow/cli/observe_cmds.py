"""`dlflow runs` and `dlflow tensorboard`."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, RunArgument
from dlflow.cli.output import emit_json, progress, stdout_console

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def runs(
    experiment: Annotated[
        Optional[str], typer.Option("--experiment", "-e", help="Only this experiment's runs.")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """List runs: experiment, run id, status, best monitored metric, duration."""
    from dlflow.runs.listing import list_runs

    rows = list_runs(State.runs_root, experiment)
    if json_:
        emit_json({"runs": rows})
        return
    from rich.table import Table

    title = f"runs of {experiment}, best first" if experiment else f"runs in {State.runs_root}"
    table = Table(title=title)
    columns = ["run", "status", "monitor", "best", "epoch", "duration"]
    if experiment:
        columns.append("config differences")
    else:
        columns.insert(0, "experiment")
    for column in columns:
        table.add_column(
            column, justify="right" if column in ("best", "epoch", "duration") else "left", overflow="fold"
        )
    for row in rows:
        cells = {
            "experiment": row["experiment"],
            "run": row["run"],
            "status": row["status"],
            "monitor": row["monitor"] or "-",
            "best": f"{row['best']:.4f}" if isinstance(row["best"], float) else "-",
            "epoch": f"{row['best_epoch']}/{row['epochs']}" if row["best_epoch"] else "-",
            "duration": f"{row['duration_s']:.0f}s" if row["duration_s"] else "-",
            "config differences": ", ".join(f"{p}={v}" for p, v in row.get("differs", {}).items()) or "-",
        }
        table.add_row(*(cells[c] for c in columns))
    stdout_console().print(table)


@app.command()
def report(
    run: RunArgument,
    json_: JsonOption = False,
) -> None:
    """Write a self-contained HTML report of a run (learning curves, confusion matrix, baselines, parity, config)."""
    from dlflow.report import write_report
    from dlflow.runs.lookup import find_run

    found = find_run(run, State.runs_root, progress)
    path = write_report(found)
    plots = sorted(str(p) for p in found.plots.glob("*.png"))
    if json_:
        emit_json({"report": str(path), "plots": plots})
    else:
        typer.echo(str(path))


@app.command()
def tensorboard(
    logdir: Annotated[
        Optional[Path], typer.Argument(metavar="[DIR]", help="Runs to show (default: the runs directory).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to serve on (0: a free one).")] = 6006,
) -> None:
    """Start TensorBoard over the runs and print its URL once it serves (Ctrl-C stops it).

    Exit status 1 when the port is taken or TensorBoard fails to start.
    """
    from dlflow.workflow.tensorboard import start_tensorboard

    folder = logdir or State.runs_root
    running = start_tensorboard(folder, host=host, port=port, verbose=State.verbose, log=progress)
    try:  # a Ctrl-C before wait() sets its handler must stop TensorBoard too (it holds our stdout/stderr)
        typer.echo(running.url)
        sys.stdout.flush()
        progress(f"TensorBoard serves {folder} at {running.url} (Ctrl-C stops it)")
        status = running.wait()
    finally:
        running.stop()
    if status > 0:
        from dlflow.errors import WorkFailed

        raise WorkFailed(f"TensorBoard exited with status {status}")
