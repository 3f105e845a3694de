"""`model.sequential`: a list of layers applied, in order, to the data's preprocessed features."""

from __future__ import annotations

from typing import Any

from dlflow.errors import ConfigError
from dlflow.model.inputs import ModelInputs
from dlflow.model.resolve import resolve


def build_sequential(layers: list[Any], inputs: ModelInputs, *, kind: str, output_name: str,
                     float32_output: bool) -> Any:
    """Stack the config's layers on the preprocessed inputs; returns a functional keras.Model.

    A functional model (rather than keras.Sequential) lets the raw inputs be a dict of columns
    and keeps preprocessing inside the model. The last layer is named after the target.
    """
    import keras

    if inputs.combined is None:
        raise ConfigError("this data has several image or sequence inputs, which a Sequential model "
                          "cannot join; use model.functional", config_path=("model", "sequential"))
    x = inputs.combined
    for i, spec in enumerate(layers):
        last = i == len(layers) - 1
        extra = {"name": output_name} if last else {}
        if last and float32_output:
            extra["dtype"] = "float32"  # mixed precision: keep the output (and the loss) in float32
        layer = resolve("layers", spec, ("model", "sequential", i), **extra)
        try:
            x = layer(x)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"cannot apply {type(layer).__name__} to an input of shape {tuple(x.shape)}: "
                              f"{str(exc).splitlines()[0]}", config_path=("model", "sequential", i)) from exc
    return keras.Model(inputs.model_inputs(kind), x, name="sequential_model")
