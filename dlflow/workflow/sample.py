"""The sample stage: draw from a generative run's model (a GAN's generator, a VAE's decoder) into a PNG grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlflow.log import Log, quiet
from dlflow.workflow.opened_run import load_run_model, open_run


def sample(
    run_ref: str,
    *,
    count: int = 64,
    output: Path | None = None,
    seed: int = 0,
    runs_root: Path = Path("runs"),
    log: Log = quiet,
    trust_code: bool = False,
) -> dict[str, Any]:
    """Draw `count` samples from a run's model and write them as a PNG grid.

    The model declares how it is sampled (`dlflow.model.sampling`): a `sample(n)` method, or a
    `generator` and its `latent_dim`. Opening a run whose factory module is not installed needs
    `trust_code`, as for every command that loads a run's model.

    Args:
        run_ref: a run directory or experiment name (its latest completed train run).
        count: how many samples.
        output: the PNG file; default <run>/samples/sample.png.
        seed: seeds the latent vectors (the same seed draws the same samples).

    Returns:
        The run, the file, and the grid's layout: samples, columns, rows, cell and size in pixels.

    Raises:
        UsageError: the run's model cannot be sampled (a classifier, ...), or `count` is below 1.
    """
    from dlflow.errors import UsageError
    from dlflow.model.sampling import can_sample, draw
    from dlflow.report.grid import write_grid

    if count < 1:
        raise UsageError(f"-n must be at least 1, received {count}")
    opened = open_run(run_ref, runs_root, log, with_data=False, trust_code=trust_code, as_is_needs="")
    model = load_run_model(opened)
    if not can_sample(model):
        from dlflow.model.sampling import HOW

        raise UsageError(
            f"{opened.run.path}: its model ({type(model).__name__}) cannot be sampled: a generative "
            f"model declares {HOW} (see configs/generative_models.py)"
        )
    inputs = (opened.manifest.get("data") or {}).get("inputs") or []
    shape = tuple(inputs[0]["shape"]) if len(inputs) == 1 and inputs[0].get("role") == "image" else None
    images = draw(model, count, image_shape=shape, seed=seed)
    target = Path(output) if output is not None else opened.run.samples / "sample.png"
    return {"run": str(opened.run.path), **write_grid(images, target), "seed": seed}
