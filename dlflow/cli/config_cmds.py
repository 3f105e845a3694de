"""`dlflow validate` and `dlflow schema`: config checks that never import TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dlflow.cli.options import JsonOption, SetOption
from dlflow.cli.output import emit_json

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def validate(
    config: Annotated[Path, typer.Argument(help="The experiment config (YAML).")],
    set_: SetOption = None,
    json_: JsonOption = False,
) -> None:
    """Check a config without running it: structure, types, Keras class names and arguments, the data's input names."""
    from dlflow.workflow.validate import validate_config

    result = validate_config(config, set_ or [])
    if json_:
        emit_json(result)
    else:
        typer.echo(f"{result['config']}: valid ({result['model_api']} model, experiment '{result['name']}')")
        typer.echo(f"checked at train time, before the run starts: {'; '.join(result['checked_at_build'])}")


@app.command()
def schema() -> None:
    """Print the config's JSON Schema (for editor completion and checks)."""
    from dlflow.config import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))
