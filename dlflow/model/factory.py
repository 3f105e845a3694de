"""`model.factory`: your own Python callable builds the model (subclassing welcome).

This runs your code. The callable `module:function` is imported (the config's folder is on
sys.path) and called with `model.args` as keyword arguments, plus any of these it declares:
`input_shape` (the preprocessed features' shape, without batch), `outputs` (target name ->
units), `task` and `preprocess` (see below). To reload a saved model, register custom classes
with `@keras.saving.register_keras_serializable()`.

What dlflow does with the returned model depends on whether it brings its own training loop:

- **A model body** (a keras.Layer, or a keras.Model whose class overrides none of `OWN_LOOP`):
  dlflow wraps it between the data's raw inputs, with their preprocessing, and outputs named
  after the targets (with the inverse target scaling after each regression output,
  `data.target_scaling`, so the body predicts standardized targets), and compiles the whole with the config's `compile:` block, so exports take
  raw data. Compiling it in the factory is an error (that compile could not take effect).
- **A model with its own training loop** (its class overrides `train_step`, `test_step`,
  `compute_loss`, `compile`... : a GAN, a VAE, any custom loop): dlflow fits *that* model, as
  Keras would: `fit` gives its `train_step` the batches `(x, y)` (`(x, y, sample_weight)` with
  `fit.class_weight`), `x` being the raw inputs (one array, or a dict by input name for tables
  and several inputs). Preprocessing and `data.augment` reach it only through `preprocess`: a
  keras.Model from the raw inputs to the preprocessed features (adapted on the training split,
  augmentation active in training only) that the factory may declare and use in the model;
  `data.augment` without it is an error. The factory may compile the model itself (a
  `compile(d_optimizer=..., g_optimizer=...)` override, as in Keras's GAN example: its settings
  come from `model.args`); the config's `compile:` block and `runtime.jit_compile` are then
  errors. A model overriding `compile` must be compiled by the factory; one that does not is
  compiled with the config's `compile:` block (its `train_step` then uses `self.compute_loss`,
  `self.optimizer`). Such a run trains, checkpoints, resumes, logs every value its steps
  report and saves `model.keras`; `export`, `predict`, `serve` and the stages that score models
  (develop, cv, tune) refuse it: they need dlflow's inputs and named outputs (`evaluate` reports
  the values of its own `test_step`, if it has one). With `data.target: none` the batches are `x`.
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

# keras.Model methods that wrapping a model inside another would bypass (only the outer model's run).
OWN_LOOP = (
    "train_step",
    "test_step",
    "predict_step",
    "compute_loss",
    "compute_metrics",
    "compile",
    "metrics",
    "fit",
    "evaluate",
    "predict",
    "train_on_batch",
    "test_on_batch",
    "predict_on_batch",
)


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


def own_loop_methods(model: Any) -> list[str]:
    """The `OWN_LOOP` methods a model's own (non-Keras) classes define; empty for a plain model."""
    found: set[str] = set()
    for cls in type(model).__mro__:
        if cls is object or cls.__module__.split(".")[0] == "keras":
            continue
        found.update(name for name in OWN_LOOP if name in vars(cls))
    return sorted(found)


def build_factory(
    reference: str,
    args: dict[str, Any],
    inputs: ModelInputs,
    *,
    kind: str,
    outputs: dict[str, int],
    task: str,
    base_dir: Path | None,
    augment: bool = False,
    choices: ModelChoices | None = None,
) -> Any:
    """Call the factory; wrap a model body between the raw inputs and named outputs, or return a
    model with its own training loop as it is (see the module docstring).

    Args:
        augment: whether data.augment is set (it must reach a model fitted as is via `preprocess`).
        choices: the settled data-dependent defaults (target scaling per regression output).
    """
    factory = import_factory(reference, base_dir)
    params = inspect.signature(factory).parameters
    features = inputs.combined if inputs.combined is not None else dict(inputs.features)
    body = _call_factory(factory, reference, args, inputs, kind=kind, outputs=outputs, task=task)
    if own_loop_methods(body):
        if augment and "preprocess" not in params:
            raise ConfigError(
                f"{reference} returned {type(body).__name__}, which has its own "
                f"{', '.join(own_loop_methods(body))}: dlflow fits it as it is, so data.augment "
                f"reaches it only through `preprocess`; declare a `preprocess` argument in the "
                f"factory and apply it in the model, or remove data.augment",
                config_path=("data", "augment"),
            )
        return body
    _check_body(body, reference, params)
    return _wrap_body(body, features, inputs.model_inputs(kind), outputs, choices.scaled if choices is not None else {})


def _call_factory(
    factory: Any,
    reference: str,
    args: dict[str, Any],
    inputs: ModelInputs,
    *,
    kind: str,
    outputs: dict[str, int],
    task: str,
) -> Any:
    """`factory(**args, **what it declares of input_shape, outputs, task, preprocess)`: a Keras model or layer."""
    import keras

    params = inspect.signature(factory).parameters
    offered = {
        "input_shape": tuple(inputs.combined.shape[1:]) if inputs.combined is not None else None,
        "outputs": dict(outputs),
        "task": task,
    }
    if "preprocess" in params:
        features = inputs.combined if inputs.combined is not None else dict(inputs.features)
        offered["preprocess"] = keras.Model(inputs.model_inputs(kind), features, name="preprocess")
    kwargs = {k: v for k, v in offered.items() if k in params}
    try:
        body = factory(**args, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"calling {reference}: {exc}", config_path=("model", "args")) from exc
    if not isinstance(body, (keras.Model, keras.layers.Layer)):
        raise ConfigError(
            f"{reference} returned {type(body).__name__}; expected a keras.Model or keras.Layer",
            config_path=("model", "factory"),
        )
    return body


def _wrap_body(body: Any, features: Any, model_inputs: Any, outputs: dict[str, int], scaled: dict) -> Any:
    """The data's inputs -> preprocessing -> the body -> outputs named after the targets (inverse-scaled
    where a regression target is scaled)."""
    import keras

    result = body(features)

    def named(name: str, tensor: Any) -> Any:
        if name in scaled:
            return scale_output(tensor, name, scaled[name])
        return keras.layers.Activation("linear", dtype="float32", name=name)(tensor)

    if isinstance(result, dict):
        result = {name: named(name, t) for name, t in result.items()}
    elif len(outputs) == 1:
        result = named(next(iter(outputs)), result)
    return keras.Model(model_inputs, result, name="factory_model")


def _check_body(body: Any, reference: str, params: Any) -> None:
    """A model body gets preprocessed features and dlflow's compile: refuse what could not take effect."""
    if "preprocess" in params:
        raise ConfigError(
            f"{reference} declares `preprocess`, which is for models with their own train_step; "
            f"{type(body).__name__} is wrapped by dlflow and gets the preprocessed features already",
            config_path=("model", "factory"),
        )
    if getattr(body, "compiled", False):
        raise ConfigError(
            f"{reference} compiled its {type(body).__name__}, but dlflow wraps a model body with "
            f"the data's inputs and compiles the whole with the config's compile: block; remove "
            f"the compile call (or override train_step to have dlflow fit your model as it is)",
            config_path=("model", "factory"),
        )


def compiled_by_factory(model: Any, config: Any) -> bool:
    """True when a model fitted as is was compiled by its factory (dlflow must not compile it again).

    Raises:
        ConfigError: the config sets what that compile decided (compile:, runtime.jit_compile), or
            the model overrides `compile` but was not compiled (dlflow cannot know its arguments).
    """
    own = own_loop_methods(model)
    if not own:
        return False
    name = type(model).__name__
    if getattr(model, "compiled", False):
        if "compile" in config.model_fields_set:
            raise ConfigError(
                f"{config.model.factory} compiled its {name} itself, so the config's compile: block "
                f"cannot take effect; remove it (pass settings to the factory through model.args)",
                config_path=("compile",),
            )
        if config.runtime.jit_compile != "auto":
            raise ConfigError(
                f"{config.model.factory} compiled its {name} itself, so runtime.jit_compile cannot "
                f"take effect; pass jit_compile to its compile call instead",
                config_path=("runtime", "jit_compile"),
            )
        return True
    if "compile" in own:
        raise ConfigError(
            f"{name} overrides compile(), whose arguments dlflow cannot know: call model.compile(...) "
            f"in {config.model.factory} before returning the model (its settings can come from "
            f"model.args)",
            config_path=("model", "factory"),
        )
    return False


def fitted_as_is(model: Any) -> dict[str, Any] | None:
    """For the manifest: the class and own methods of a model dlflow fits as it is; None otherwise."""
    own = own_loop_methods(model)
    if not own:
        return None
    return {"class": f"{type(model).__module__}.{type(model).__qualname__}", "methods": own}


def installed_module(reference: str, exclude: tuple[str, ...] = ()) -> bool:
    """Whether the factory's module is importable from the installed environment alone: without the
    current folder, the config's folder or a run's (`exclude`) on sys.path. Imports nothing."""
    import importlib.machinery
    import os

    top = reference.split(":")[0].split(".")[0]
    if top in sys.modules and getattr(sys.modules[top], "__file__", None) is None:
        return True  # a built-in module
    skip = {"", os.getcwd(), *(os.path.abspath(p) for p in exclude)}
    path = [p for p in sys.path if p not in skip and os.path.abspath(p) not in skip]
    return importlib.machinery.PathFinder.find_spec(top, path) is not None


def factory_record(reference: str, base_dir: Path | None) -> dict[str, Any]:
    """For the manifest: the factory module's file (relative to the config's folder when inside it)
    and its sha256, read from the module already imported by the build."""
    import hashlib

    module = sys.modules.get(reference.split(":")[0])
    file = getattr(module, "__file__", None)
    if not file:
        return {"reference": reference}
    path = Path(file).resolve()
    shown = str(path)
    if base_dir is not None and path.is_relative_to(Path(base_dir).resolve()):
        shown = str(path.relative_to(Path(base_dir).resolve()))
    return {"reference": reference, "file": shown, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
