"""`dlflow tune` and `dlflow cv`: the regularize-and-tune stage."""

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, SetOption
from dlflow.cli.output import emit_json, progress, stdout_console

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def tune(
    config: Annotated[Path, typer.Argument(help="The experiment config (YAML) with a search: block.")],
    resume: Annotated[
        Optional[str],
        typer.Option("--resume", metavar="DIR", help="Continue an interrupted search in its tune directory."),
    ] = None,
    oracle: Annotated[
        Optional[str],
        typer.Option(
            "--oracle",
            metavar="HOST:PORT",
            rich_help_panel="Trials in parallel (KerasTuner's distributed tuning)",
            help="Where the chief's oracle listens, the same for every process.",
        ),
    ] = None,
    tuner_id: Annotated[
        Optional[str],
        typer.Option(
            "--tuner-id",
            metavar="ID",
            rich_help_panel="Trials in parallel (KerasTuner's distributed tuning)",
            help="chief serves the oracle and writes the tune directory; tuner0, tuner1, ... run trials.",
        ),
    ] = None,
    set_: SetOption = None,
    json_: JsonOption = False,
) -> None:
    """Search hyperparameters (KerasTuner) over the config's search: block; rank the trials, write best.yaml."""
    from dlflow.workflow.tune import tune as run_tune

    result = run_tune(
        config,
        set_ or [],
        runs_root=State.runs_root,
        resume=resume,
        log=progress,
        argv=sys.argv,
        tuning={"oracle": oracle, "tuner_id": tuner_id},
        quiet_tf=not State.verbose,
    )
    if result.best is None and result.tuner_id:  # a worker of a distributed search: the chief ranks
        _print_worker(result, json_)
        return
    if json_:
        emit_json(
            {
                "tune_dir": str(result.path),
                "objective": result.objective,
                "direction": result.direction,
                "best": result.best,
                "best_config": str(result.best_config),
                "leaderboard": result.leaderboard,
            }
        )
        return
    _print_leaderboard(result)
    best = result.best
    typer.echo(f"best: trial {best['trial']}, {result.objective} {best['score']:.4f}")
    typer.echo(f"best config: {result.best_config}")
    typer.echo(f"train it: dlflow train {result.best_config}")


@app.command()
def cv(
    config: Annotated[Path, typer.Argument(help="The experiment config (YAML).")],
    folds: Annotated[int, typer.Option("--folds", "-k", help="K, the number of folds.")] = 5,
    repeats: Annotated[
        int, typer.Option("--repeats", "-r", help="Reshuffle and fold again this many times (iterated K-fold).")
    ] = 1,
    set_: SetOption = None,
    json_: JsonOption = False,
) -> None:
    """K-fold validation on the training and validation data (never the test split): mean ± std per metric."""
    from dlflow.workflow.cv import cv as run_cv

    result = run_cv(
        config,
        set_ or [],
        folds=folds,
        repeats=repeats,
        runs_root=State.runs_root,
        log=progress,
        argv=sys.argv,
        quiet_tf=not State.verbose,
    )
    if json_:
        emit_json(
            {
                "cv_dir": str(result.path),
                "folds": folds,
                "repeats": repeats,
                "monitor": result.monitor,
                "summary": result.summary,
                "per_fold": result.folds,
            }
        )
        return
    _print_cv(result, folds, repeats)


def _print_worker(result: Any, json_: bool) -> None:
    """What one worker of a distributed search ran (the chief writes the leaderboard)."""
    if json_:
        emit_json(
            {
                "tune_dir": str(result.path),
                "tuner_id": result.tuner_id,
                "objective": result.objective,
                "trials": result.leaderboard,
            }
        )
        return
    typer.echo(f"tuner {result.tuner_id} ran {len(result.leaderboard)} trial(s) of {result.path}:")
    for row in result.leaderboard:
        score = f"{result.objective} {row['score']:.4f}" if row.get("score") is not None else row["status"]
        typer.echo(f"  trial {row['trial']}: {score}")
    typer.echo("the chief ranks them: leaderboard.json and best.yaml in the tune directory")


def _print_leaderboard(result: Any) -> None:
    from rich.table import Table

    from dlflow.config.search_space import short_names

    keys = list(result.leaderboard[0]["values"]) if result.leaderboard else []
    short = short_names(keys)
    table = Table(title=f"{len(result.leaderboard)} trials, best {result.objective} first ({result.direction})")
    table.add_column("#", justify="right")
    table.add_column("trial")
    for key in keys:
        table.add_column(short[key], overflow="fold", justify="right")
    table.add_column(result.objective, justify="right", no_wrap=True)
    table.add_column("epoch", justify="right")
    for row in result.leaderboard:
        score = f"{row['score']:.4f}" if row["score"] is not None else row["status"]
        epoch = str(row["best_epoch"]) if row["best_epoch"] else "-"
        table.add_row(str(row["rank"]), row["trial"], *[_value(row["values"].get(k)) for k in keys], score, epoch)
    _console().print(table)


def _print_cv(result: Any, folds: int, repeats: int) -> None:
    from rich.table import Table

    what = f"{folds}-fold" + (f" x {repeats} repeats" if repeats > 1 else "")
    table = Table(title=f"{what} validation: metrics at each fold's best {result.monitor} epoch")
    for column in ("metric", "mean ± std", "min", "max"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, stats in result.summary.items():
        digits = 1 if name == "best_epoch" else 4
        table.add_row(
            name,
            f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}",
            f"{stats['min']:.{digits}f}",
            f"{stats['max']:.{digits}f}",
        )
    _console().print(table)
    typer.echo(f"cv: {result.path}")


def _console() -> Any:
    """Rich on stdout (no width limit when piped)."""
    return stdout_console()


def _value(value: Any) -> str:
    """A trial's value for the table (leaderboard.json and .csv keep every digit)."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (dict, list)):
        from dlflow.config.search_space import one_line_yaml

        return one_line_yaml(value)
    return str(value)
