"""`dlflow define` and `dlflow develop`: the first stages of the workflow."""

import sys
from pathlib import Path
from typing import Annotated, Any, Optional, Sequence

import typer

from dlflow.choices import DataFormat, Task
from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, SetOption
from dlflow.cli.output import emit_json, progress, stdout_console

app = typer.Typer()  # joined to the root app by cli/main.py


DataArgument = Annotated[
    Optional[str],
    typer.Argument(
        help="A .csv/.tsv/.parquet table, an .npz, a folder of class sub-folders, or builtin:<name> "
        "(asked for at a terminal when omitted)."
    ),
]
TargetOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--target",
        "-t",
        metavar="COL",
        help="The column or array to predict (repeat for several; asked for at a terminal).",
    ),
]
TaskOption = Annotated[
    Optional[Task], typer.Option("--task", help="The kind of prediction (inferred from the target).")
]
FormatOption = Annotated[
    Optional[DataFormat],
    typer.Option("--format", help="The data format when the file name does not tell, e.g. timeseries."),
]
OutputOption = Annotated[
    Optional[str],
    typer.Option(
        "--output", "-o", metavar="FILE", help="Where to write the config ('-': stdout; default: <name>.yaml here)."
    ),
]
NameOption = Annotated[
    Optional[str], typer.Option("--name", help="The experiment name (default: from the data's name).")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")]


@app.command()
def define(
    data: DataArgument = None,
    target: TargetOption = None,
    task: TaskOption = None,
    format_: FormatOption = None,
    output: OutputOption = None,
    name: NameOption = None,
    force: ForceOption = False,
    json_: JsonOption = False,
) -> None:
    """Frame the task: inspect the data, pick the task, metric and baseline, write a runnable config.

    The config is commented, with a starter model suited to the data: MLP, convnet, text or time-series model.

    At a terminal, missing answers (data, target, task) are asked for; elsewhere they are usage errors.
    """
    from dlflow.workflow.define import check_writable, default_config_path, write_definition
    from dlflow.workflow.define import define as run_define

    task, format_ = (choice.value if choice is not None else None for choice in (task, format_))
    to_stdout = output == "-"
    explicit = Path(output) if output and not to_stdout else None
    if explicit is not None or (data is not None and not to_stdout):
        check_writable(explicit or default_config_path(data, name), force=force)  # before any work or question
    targets = (target[0] if len(target) == 1 else list(target)) if target else None
    definition = run_define(
        data,
        target=targets,
        task=task,
        fmt=format_,
        name=name,
        config_dir=explicit.parent if explicit is not None else Path("."),
        ask=_ask if sys.stdin.isatty() else None,
        log=progress,
    )
    if to_stdout:
        _define_to_stdout(definition, json_)
        return
    summary = definition.describe()
    path = write_definition(definition, explicit or Path(f"{definition.name}.yaml"), force=force)
    if json_:
        emit_json({"config": str(path.resolve()), **summary})
        return
    _print_summary(summary, path, echo=typer.echo)


def _define_to_stdout(definition: Any, json_: bool) -> None:
    """`define -o -`: the checked config on stdout (the summary on stderr), or in the JSON object."""
    from dlflow.workflow.define import check_definition

    summary = definition.describe()
    check_definition(definition, Path(f"{definition.name}.yaml"))
    if json_:
        emit_json({"config": None, "yaml": definition.text, **summary})
        return
    typer.echo(definition.text, nl=False)
    _print_summary(summary, None, echo=progress)


@app.command()
def develop(
    config: Annotated[Path, typer.Argument(help="The experiment config (YAML).")],
    epochs: Annotated[
        Optional[int], typer.Option("--epochs", min=1, help="Epochs of the full run (overrides fit.epochs).")
    ] = None,
    overfit_epochs: Annotated[
        int, typer.Option("--overfit-epochs", min=1, help="The overfit check's epoch budget.")
    ] = 300,
    skip_train: Annotated[
        bool, typer.Option("--skip-train", help="Stop after the baselines and the overfit check.")
    ] = False,
    shallow: Annotated[
        bool, typer.Option("--shallow/--no-shallow", help="Fit shallow scikit-learn baselines too.")
    ] = True,
    set_: SetOption = None,
    json_: JsonOption = False,
) -> None:
    """Beat a baseline and prove capacity: baselines, an overfit check, a full run, a verdict.

    Common-sense and shallow (scikit-learn) baselines are scored on the validation split.

    The overfit check trains the model on a few batches until it memorizes them; then a full run (a run directory).

    Exit status: 0 when the model beats the common-sense baseline, 1 when it does not (the work failed).

    With --skip-train: 0 when the overfit check passes, 1 when it fails. The result: <run>/develop.json.
    """
    from dlflow.errors import WorkFailed
    from dlflow.workflow.develop import develop as run_develop

    result = run_develop(
        config,
        set_ or [],
        runs_root=State.runs_root,
        epochs=epochs,
        overfit_epochs=overfit_epochs,
        skip_train=skip_train,
        shallow=shallow,
        log=progress,
        argv=sys.argv,
        quiet_tf=not State.verbose,
    )
    if json_:
        emit_json({"develop": str(result.path), **result.report})
    else:
        _print_verdict(result.report, result.path)
    if not result.passed:
        raise WorkFailed(f"develop: {result.report['verdict']['summary']}")


def _ask(question: str, choices: Sequence[str], default: Optional[str]) -> str:
    """A question at the terminal (prompt on stderr): a choice by name or number, or free text.

    An answer that is not one of the choices is asked again (with a suggestion), never taken.
    """
    from dlflow.config.problems import did_you_mean

    numbered = len(choices) > 4
    for i, choice in enumerate(choices if numbered else [], 1):
        print(f"  {i:>3}. {choice}", file=sys.stderr)
    prompt = (
        f"{question} (name or number)" if numbered else f"{question} [{'/'.join(choices)}]" if choices else question
    )
    while True:
        answer = typer.prompt(prompt, default=default, err=True)
        if not choices or answer in choices:
            return answer
        if numbered and answer.isdigit() and 1 <= int(answer) <= len(choices):
            return choices[int(answer) - 1]
        allowed = f"a name or a number 1-{len(choices)}" if numbered else f"one of {', '.join(choices)}"
        print(f"{answer!r} is not a choice{did_you_mean(answer, choices)}: expected {allowed}", file=sys.stderr)


def _print_summary(summary: dict[str, Any], path: Optional[Path], *, echo: Any) -> None:
    baseline = summary.get("baseline")
    classes = summary.get("classes")
    target = summary.get("target")
    task = summary["task"] + (" classification" if summary["task"] != "regression" else "")
    task += f" of '{target}'" if isinstance(target, str) else f" of {', '.join(target)}" if target else ""
    if classes:
        task += f" ({len(classes)} classes: {', '.join(classes[:6])}{', ...' if len(classes) > 6 else ''})"
    if path is not None:
        echo(f"wrote {path}")
    echo(f"  data:     {summary['data']['source']}: {summary['data']['description']}")
    echo(f"  task:     {task}")
    echo(f"  metric:   {summary['metric']} (loss {summary['loss']})")
    if baseline and baseline.get("score") is not None:
        from dlflow.workflow.scores import format_score

        score = format_score(baseline["metric"], baseline["score"])
        echo(f"  baseline: {baseline['name']}: {baseline['metric']} {score} on the validation split")
    echo(f"  model:    {summary['model']}")
    if path is None:
        echo(f"next: save it (e.g. > {summary['name']}.yaml), then dlflow develop {summary['name']}.yaml")
    else:
        echo(f"next: dlflow develop {path}")


def _print_verdict(report: dict[str, Any], path: Path) -> None:
    from rich.markup import escape

    console = stdout_console(highlight=False)
    console.print(_verdict_table(report))
    _print_check_and_curves(console, report)
    if report.get("run"):
        console.print(f"run: {escape(report['run'])} ({report['run_status']})")
    elif report.get("run_skipped"):
        console.print(f"run: skipped ({escape(report['run_skipped'])})")
    verdict = report["verdict"]
    if verdict.get("advice"):
        console.print("advice:")
    for advice in verdict.get("advice", []):
        console.print(f"  - {escape(advice)}")
    state = "[bold green]PASS[/bold green]" if verdict["passed"] else "[bold red]FAIL[/bold red]"
    console.print(f"verdict: {state}: {escape(verdict['summary'])}")
    console.print(f"written: {escape(str(path))}")


def _verdict_table(report: dict[str, Any]) -> Any:
    """The model and the baselines, best first, on the validation split."""
    from rich.markup import escape
    from rich.table import Table

    from dlflow.workflow.scores import format_score

    metric, higher = report["metric"], report["higher_is_better"]
    table = Table(
        title=f"{report['experiment']}: {metric} on the validation split ({report['data']['validation']} "
        f"samples; {'higher' if higher else 'lower'} is better)"
    )
    table.add_column("", no_wrap=True)
    for column, justify in (("kind", "left"), (metric, "right"), ("fit time", "right"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    model = report.get("model")
    if model:
        score = format_score(metric, model["score"])
        table.add_row(
            f"[bold]{escape(model['name'])}[/bold]",
            "deep",
            f"[bold]{score}[/bold]",
            _seconds(model.get("fit_seconds")),
            f"best epoch {model.get('best_epoch')} of {model.get('epochs_completed')}",
        )
    scored = [b for b in report["baselines"] if b["score"] is not None]
    scored.sort(key=lambda b: b["score"], reverse=higher)
    for b in scored + [b for b in report["baselines"] if b["score"] is None]:
        table.add_row(
            escape(b["name"]),
            b["kind"],
            format_score(metric, b["score"]),
            _seconds(b["fit_seconds"]) if b["score"] is not None else "",
            escape(b.get("note") or ""),
        )
    return table


def _print_check_and_curves(console: Any, report: dict[str, Any]) -> None:
    """The overfit check's outcome and what the learning curves say."""
    from rich.markup import escape

    from dlflow.workflow.scores import format_score

    check = report["overfit_check"]
    reached = f"{check['metric']} {format_score(check['metric'], check.get('reached'))}"
    console.print(
        f"overfit check: {'passed' if check['passed'] else '[bold red]FAILED[/bold red]'}: {reached} "
        f"on {check['samples']} training samples after {check['epochs']} epochs ({check['seconds']:.1f} s; "
        f"goal {check['goal']:.4g}); {escape(check['stopped'])}"
    )
    curve = report.get("curves")
    if curve:
        if curve.get("overfitting_epoch"):
            console.print(
                f"curves: validation loss turned up after epoch {curve['overfitting_epoch']} "
                f"of {curve['epochs_completed']}"
            )
        elif curve.get("still_improving"):
            console.print(f"curves: validation loss was still falling at the last epoch ({curve['epochs_completed']})")


def _seconds(value: Any) -> str:
    return f"{value:.1f} s" if isinstance(value, (int, float)) else ""
