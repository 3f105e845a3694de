"""Options several commands share, declared once."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")]
RunArgument = Annotated[
    str, typer.Argument(help="A run directory, or an experiment name (its latest completed train run).")
]
TrustCodeOption = Annotated[
    bool,
    typer.Option(
        "--trust-code",
        help="Allow importing the Python module a run's model.factory names from outside the installed environment.",
    ),
]
SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", metavar="PATH=VALUE", help="Override a config value, e.g. --set fit.epochs=5 (repeatable)."),
]
