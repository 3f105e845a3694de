"""The root Typer app and the options every command shares; `main` joins the command modules' apps to it.

Typer's documented layout: each `cli/*_cmds.py` has its own `app = typer.Typer()` with its commands,
and `cli/main.py` adds them here (`app.add_typer(module.app)`, no name: the commands stay top-level).
The command modules leave out `from __future__ import annotations`: with it, Typer evaluates every
annotation string again at each start-up (about a sixth of `dlflow --help`'s time).
"""

import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from dlflow import __version__

# The first stages in workflow order; the other commands follow them in the order main adds them.
HELP_ORDER = ("define", "collect", "develop", "train")


class _Commands(TyperGroup):
    """Lists the commands in workflow order (`dlflow --help`, shell completion)."""

    def list_commands(self, ctx: object) -> list[str]:
        rank = {name: i for i, name in enumerate(HELP_ORDER)}
        return sorted(self.commands, key=lambda name: rank.get(name, len(rank)))  # stable for the rest


app = typer.Typer(
    name="dlflow",
    help="The universal workflow of machine learning for Keras 3, from a YAML experiment config.",
    cls=_Commands,
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (completion offers the Enum choices)
    pretty_exceptions_enable=False,
    # Click's plain help: Typer's Rich help imports rich.markdown, markdown-it and pygments
    # (~0.15 s of every `dlflow --help`; the start-up goal is 0.25 s in all).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class State:
    """Options every command shares (set by the callback)."""

    verbose: bool = False
    runs_root: Path = Path("runs")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dlflow {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show TensorFlow's own log lines.")] = False,
    runs_dir: Annotated[
        Optional[Path],
        typer.Option("--runs-dir", envvar="DLFLOW_RUNS_DIR", help="Where run directories go (default: ./runs)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    State.verbose = verbose
    State.runs_root = runs_dir or Path("runs")
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # The config chooses the backend (train, tune, cv, develop set it from runtime.backend);
    # evaluate, predict, export and serve always run on TensorFlow, whatever the shell says.
    os.environ["KERAS_BACKEND"] = "tensorflow"
