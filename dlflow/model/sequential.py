"""`model.sequential`: a list of layers applied, in order, to the data's preprocessed features."""

from __future__ import annotations

from typing import Any

from dlflow.errors import ConfigError
from dlflow.model.choices import ModelChoices, body_name, scale_output
from dlflow.model.inputs import ModelInputs
from dlflow.model.resolve import resolve


def build_sequential(
    layers: list[Any],
    inputs: ModelInputs,
    *,
    kind: str,
    output_name: str,
    float32_output: bool,
    choices: ModelChoices | None = None,
) -> Any:
    """Stack the config's layers on the preprocessed inputs; returns a functional keras.Model.

    A functional model (rather than keras.Sequential) lets the raw inputs be a dict of columns
    and keeps preprocessing inside the model. The model's output is named after the target: the
    last layer, or the inverse target scaling that follows it (`dlflow.model.choices`).
    """
    import keras

    if inputs.combined is None:
        raise ConfigError(inputs.why_not_combined, config_path=("model", "sequential"))
    x = inputs.combined
    for i, spec in enumerate(layers):
        last = i == len(layers) - 1
        extra = {"name": body_name(output_name, choices)} if last else {}
        if last and float32_output:
            extra["dtype"] = "float32"  # mixed precision: keep the output (and the loss) in float32
        layer = resolve("layers", spec, ("model", "sequential", i), **extra)
        try:
            x = layer(x)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"cannot apply {type(layer).__name__} to an input of shape {tuple(x.shape)}: "
                f"{str(exc).splitlines()[0]}",
                config_path=("model", "sequential", i),
            ) from exc
    if choices is not None and output_name in choices.scaled:
        x = scale_output(x, output_name, choices.scaled[output_name])
    return keras.Model(inputs.model_inputs(kind), x, name="sequential_model")
