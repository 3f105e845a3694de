"""`dlflow validate` and `dlflow schema`: config checks that never import TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dlflow.cli.app import State, app
from dlflow.cli.options import JsonOption, SetOption
from dlflow.cli.output import emit_json, progress, quiet_tensorflow


@app.command()
def validate(
    config: Annotated[Path, typer.Argument(help="The experiment config (YAML).")],
    set_: SetOption = None,
    json_: JsonOption = False,
    build: Annotated[bool, typer.Option("--build", help="Also load the data and build, compile and train the model "
                                                        "on one batch, as `train` does first (imports TensorFlow; "
                                                        "writes nothing).")] = False,
) -> None:
    """Check a config without running it: structure, types, Keras class names and arguments, the data's input names."""
    from dlflow.workflow.validate import validate_config

    if build:
        from dlflow.config import load_config
        from dlflow.workflow.train import prepare_runtime

        prepare_runtime(load_config(config, set_ or []))  # Keras's backend, before TensorFlow loads
        quiet_tensorflow(State.verbose)
    result = validate_config(config, set_ or [], build=build, log=progress)
    if json_:
        emit_json(result)
    else:
        typer.echo(f"{result['config']}: valid ({result['model_api']} model, experiment '{result['name']}')")
        if build:
            typer.echo(f"built: {result['built']['parameters']:,} parameters; one batch: "
                       + (", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in (result["built"]["batch"] or {}).items()) or "left to fit"))
        else:
            typer.echo(f"checked at train time, before the run starts: {'; '.join(result['checked_at_build'])}")


@app.command()
def schema() -> None:
    """Print the config's JSON Schema (for editor completion and checks)."""
    from dlflow.config import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))
