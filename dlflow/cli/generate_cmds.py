"""`dlflow sample`: draw from a generative run's model into an image grid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, TrustCodeOption
from dlflow.cli.output import emit_json, progress, quiet_tensorflow

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def sample(
    run: Annotated[
        str, typer.Argument(help="A run directory, or an experiment name (its latest completed train run).")
    ],
    n: Annotated[int, typer.Option("-n", "--count", help="How many samples to draw.")] = 64,
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", help="The PNG file to write (default: RUN/samples/sample.png).")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seeds the latent vectors: the same seed draws the same samples.")
    ] = 0,
    json_: JsonOption = False,
    trust_code: TrustCodeOption = False,
) -> None:
    """Draw samples from a generative run's model (GAN, VAE) and write them as a PNG grid."""
    from dlflow.workflow.sample import sample as run_sample

    quiet_tensorflow(State.verbose)
    result = run_sample(
        run, count=n, output=output, seed=seed, runs_root=State.runs_root, log=progress, trust_code=trust_code
    )
    if json_:
        emit_json(result)
        return
    width, height = result["size"]
    typer.echo(
        f"{result['samples']} samples from {result['run']}: {result['file']} "
        f"({result['columns']} x {result['rows']} grid, {width} x {height} pixels)"
    )
