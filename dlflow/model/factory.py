"""`model.factory`: your own Python callable builds the model body (subclassing welcome).

This runs your code. The callable `module:function` is imported (the config's folder is on
sys.path) and called with `model.args` as keyword arguments, plus any of these it declares:
`input_shape` (the preprocessed features' shape, without batch), `outputs` (target name ->
units) and `task`. It returns a keras.Model or keras.Layer mapping the preprocessed features to
the outputs; dlflow wraps it with the raw inputs and their preprocessing so exports take raw
data, and with the inverse target scaling after each regression output (data.target_scaling), so
the body predicts standardized targets. To reload a saved model, register custom classes with
`@keras.saving.register_keras_serializable()`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from dlflow.errors import ConfigError
from dlflow.model.choices import ModelChoices, scale_output
from dlflow.model.inputs import ModelInputs


def import_factory(reference: str, base_dir: Path | None) -> Any:
    """Import `module:callable`, looking in the config's folder first."""
    module_name, attribute = reference.split(":")
    if base_dir is not None and str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import module '{module_name}': {exc}", config_path=("model", "factory")) from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"module '{module_name}' has no callable '{attribute}'", config_path=("model", "factory"))
    return factory


def build_factory(reference: str, args: dict[str, Any], inputs: ModelInputs, *, kind: str,
                  outputs: dict[str, int], task: str, base_dir: Path | None,
                  choices: ModelChoices | None = None) -> Any:
    """Call the factory and wrap its body between the raw inputs and named outputs."""
    import keras

    factory = import_factory(reference, base_dir)
    offered = {"input_shape": tuple(inputs.combined.shape[1:]) if inputs.combined is not None else None,
               "outputs": dict(outputs), "task": task}
    params = inspect.signature(factory).parameters
    kwargs = {k: v for k, v in offered.items() if k in params}
    try:
        body = factory(**args, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"calling {reference}: {exc}", config_path=("model", "args")) from exc
    if not isinstance(body, (keras.Model, keras.layers.Layer)):
        raise ConfigError(f"{reference} returned {type(body).__name__}; expected a keras.Model or keras.Layer",
                          config_path=("model", "factory"))
    features = inputs.combined if inputs.combined is not None else dict(inputs.features)
    result = body(features)
    scaled = choices.scaled if choices is not None else {}

    def named(name: str, tensor: Any) -> Any:
        if name in scaled:
            return scale_output(tensor, name, scaled[name])
        return keras.layers.Activation("linear", dtype="float32", name=name)(tensor)

    if isinstance(result, dict):
        result = {name: named(name, t) for name, t in result.items()}
    elif len(outputs) == 1:
        result = named(next(iter(outputs)), result)
    return keras.Model(inputs.model_inputs(kind), result, name="factory_model")
