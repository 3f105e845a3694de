"""`dlflow train` and `dlflow evaluate`."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, RunArgument, SetOption, TrustCodeOption
from dlflow.cli.output import emit_json, progress, quiet_tensorflow, stdout_console

app = typer.Typer()  # joined to the root app by cli/main.py


CLUSTER = "Several machines (runtime.strategy multi_worker)"
ConfigArgument = Annotated[Path, typer.Argument(help="The experiment config (YAML).")]
ResumeOption = Annotated[
    Optional[str], typer.Option("--resume", metavar="RUN", help="Continue an interrupted run in its own directory.")
]
FinalOption = Annotated[
    bool,
    typer.Option(
        "--final", help="Retrain on train+validation for the best epoch count of the experiment's latest completed run."
    ),
]
CoordinatorOption = Annotated[
    Optional[str],
    typer.Option(
        "--coordinator",
        metavar="HOST:PORT",
        rich_help_panel=CLUSTER,
        help="Worker 0's address, the same on every worker.",
    ),
]
NumWorkersOption = Annotated[
    Optional[int],
    typer.Option("--num-workers", metavar="N", rich_help_panel=CLUSTER, help="How many workers train together."),
]
WorkerIndexOption = Annotated[
    Optional[int],
    typer.Option(
        "--worker-index",
        metavar="I",
        rich_help_panel=CLUSTER,
        help="This worker's index, 0 to N-1; worker 0 writes the run directory.",
    ),
]
MlflowOption = Annotated[
    Optional[str],
    typer.Option(
        "--mlflow",
        metavar="URI",
        help="Track the run in MLflow at URI (sets tracking.mlflow.uri; e.g. sqlite:///mlruns.db or http://host:5000).",
    ),
]


@app.command()
def train(
    config: ConfigArgument,
    resume: ResumeOption = None,
    final: FinalOption = False,
    coordinator: CoordinatorOption = None,
    num_workers: NumWorkersOption = None,
    worker_index: WorkerIndexOption = None,
    mlflow: MlflowOption = None,
    set_: SetOption = None,
    json_: JsonOption = False,
) -> None:
    """Train one run: a new run directory with checkpoints, TensorBoard logs, history and metrics."""
    from dlflow.workflow.training import train as run_train

    set_ = [*(set_ or []), *(mlflow_override(mlflow) if mlflow is not None else [])]
    cluster = {"coordinator": coordinator, "num_workers": num_workers, "worker_index": worker_index}
    result = run_train(
        config,
        set_,
        runs_root=State.runs_root,
        resume=resume,
        log=progress,
        argv=sys.argv,
        final=final,
        cluster=cluster,
        quiet_tf=not State.verbose,
        summary=not json_,
    )
    if json_:
        extra = {}
        if final:
            from dlflow.runs.manifest import read_json

            extra["final"] = read_json(result.run.manifest).get("final")
        emit_json({"run": str(result.run.path), **result.metrics, **extra})
        return
    _print_trained(result)


def _print_trained(result) -> None:
    """The run directory and its best epoch's metrics."""
    metrics = result.metrics
    typer.echo(f"run: {result.run.path}")
    if metrics.get("best_value") is not None:
        typer.echo(
            f"best {metrics['monitor']}: {metrics['best_value']:.4f} (epoch {metrics['best_epoch']} "
            f"of {metrics['epochs_completed']})"
        )
    for key, value in (metrics.get("best") or {}).items():
        if key != "epoch":
            typer.echo(f"  {key}: {value:.4f}")


@app.command()
def evaluate(
    run: RunArgument,
    slice_by: Annotated[
        Optional[list[str]],
        typer.Option(
            "--slice-by",
            metavar="COLUMN",
            help="Metrics per group of an input column, to show gaps between groups (repeatable).",
        ),
    ] = None,
    json_: JsonOption = False,
    trust_code: TrustCodeOption = False,
) -> None:
    """Score the test split, once the work is done: metrics, confusion matrix, per-class scores."""
    from dlflow.workflow.evaluate import evaluate as run_evaluate

    quiet_tensorflow(State.verbose)
    result = run_evaluate(run, runs_root=State.runs_root, slice_by=slice_by or [], log=progress, trust_code=trust_code)
    if result.get("warning"):
        progress(f"warning: {result['warning']}")
    if json_:
        emit_json(result)
        return
    typer.echo(f"test split of {result['run']} ({result['samples']} samples)")
    for key, value in result["metrics"].items():
        typer.echo(f"  {key}: {value:.4f}")
    for name, target in result.get("targets", {}).items():
        if "confusion_matrix" in target:
            _print_confusion(name, target)
        elif "mae" in target:
            typer.echo(f"  {name}: MAE {target['mae']:.4f}, RMSE {target['rmse']:.4f}, bias {target['bias']:+.4f}")
    for column, sliced in result.get("slices", {}).items():
        typer.echo(f"by {column} ({sliced['metric']} of {sliced['target']}; gap {sliced['gap']:.4f}):")
        for group, entry in sliced["groups"].items():
            score = entry.get(sliced["metric"])
            typer.echo(f"  {group}: {score:.4f} ({entry['samples']} samples)" if score is not None else f"  {group}")


def mlflow_override(uri: str) -> list[str]:
    """`--mlflow URI` as the `--set` it stands for (quoted: the URI is a string whatever it looks like)."""
    quoted = uri.replace("'", "''")
    return [f"tracking.mlflow.uri='{quoted}'"]


def _print_confusion(name: str, target: dict) -> None:
    from rich.table import Table

    table = Table(title=f"{name}: confusion matrix (rows true, columns predicted)")
    table.add_column("")
    for label in target["classes"]:
        table.add_column(str(label), justify="right")
    for label, row in zip(target["classes"], target["confusion_matrix"]):
        table.add_row(str(label), *map(str, row))
    stdout_console().print(table)
