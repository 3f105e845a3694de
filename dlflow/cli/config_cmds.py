"""`dlflow validate` and `dlflow schema`: config checks that never import TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dlflow.cli.main import app
from dlflow.cli.options import JsonOption, SetOption
from dlflow.cli.output import emit_json


@app.command()
def validate(
    config: Annotated[Path, typer.Argument(help="The experiment config (YAML).")],
    set_: SetOption = None,
    json_: JsonOption = False,
) -> None:
    """Check a config without running it: structure, types, Keras class names and arguments."""
    from dlflow.config import load_config

    loaded = load_config(config, set_ or [])
    if json_:
        emit_json({"config": str(loaded.path), "valid": True, "name": loaded.config.name,
                   "model_api": loaded.config.model.api})
    else:
        typer.echo(f"{loaded.path}: valid ({loaded.config.model.api} model, experiment '{loaded.config.name}')")


@app.command()
def schema() -> None:
    """Print the config's JSON Schema (for editor completion and checks)."""
    from dlflow.config import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))
