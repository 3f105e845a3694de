"""`dlflow validate` and `dlflow schema`: config checks that never import TensorFlow."""

import json
from pathlib import Path
from typing import Annotated

import typer

from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, SetOption
from dlflow.cli.output import emit_json, progress

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def validate(
    config: Annotated[Path, typer.Argument(help="The experiment config (YAML).")],
    set_: SetOption = None,
    print_: Annotated[
        bool,
        typer.Option("--print", help="Print the resolved config (defaults filled, --set applied) as YAML on stdout."),
    ] = False,
    json_: JsonOption = False,
    build: Annotated[
        bool,
        typer.Option(
            "--build",
            help="Also load the data and build, compile and train the model "
            "on one batch, as `train` does first (imports TensorFlow; "
            "writes nothing).",
        ),
    ] = False,
) -> None:
    """Check a config without running it: structure, types, Keras class names and arguments, the data's input names.

    With --print, stdout is the resolved config, as a run directory's config.yaml will hold it
    (the verdict goes to stderr); with --json too, it is the result's "resolved" entry.
    """
    from dlflow.workflow.validate import validate_config

    result = validate_config(config, set_ or [], resolved=print_, build=build, quiet_tf=not State.verbose, log=progress)
    text = result.pop("resolved_yaml", None)
    if json_:
        emit_json(result)
        return
    echo = progress if print_ else typer.echo
    if text is not None:
        typer.echo(text, nl=False)
    echo(f"{result['config']}: valid ({result['model_api']} model, experiment '{result['name']}')")
    if build:
        echo(
            f"built: {result['built']['parameters']:,} parameters; one batch: "
            + (
                ", ".join(
                    f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in (result["built"]["batch"] or {}).items()
                )
                or "left to fit"
            )
        )
    else:
        echo(f"checked at train time, before the run starts: {'; '.join(result['checked_at_build'])}")


@app.command()
def schema(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the config reference as Markdown instead (docs/config.md).")
    ] = False,
) -> None:
    """Print the config's JSON Schema (for editor completion, checks and hover help)."""
    if markdown:
        from dlflow.config.reference import markdown as reference

        typer.echo(reference(), nl=False)
        return
    from dlflow.config import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))
