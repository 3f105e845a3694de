"""The `{ClassName: kwargs}` rule: config values to Keras objects, nested as Keras nests them."""

from __future__ import annotations

import importlib
from typing import Any

from dlflow.config import argument_categories, is_class_mapping
from dlflow.config.external_classes import is_dotted_class
from dlflow.config.keras_object import split_object
from dlflow.errors import ConfigError
from dlflow.model.custom_classes import external_category, external_class

CATEGORY_MODULES = {
    "layers": "keras.layers",
    "optimizers": "keras.optimizers",
    "schedules": "keras.optimizers.schedules",
    "losses": "keras.losses",
    "metrics": "keras.metrics",
    "callbacks": "keras.callbacks",
    "regularizers": "keras.regularizers",
    "initializers": "keras.initializers",
    "constraints": "keras.constraints",
    "activations": "keras.activations",
}

# Where to look for a nested {ClassName: kwargs} whose argument name implies no category.
FALLBACK_CATEGORIES = ("layers", "regularizers", "initializers", "constraints", "schedules", "losses", "metrics")

# Categories whose plain strings are class names (`- Flatten`); elsewhere a string is an identifier
# Keras resolves itself (`adam`, `relu`, `mse`).
CLASS_NAME_STRINGS = {"layers", "callbacks"}


def split_spec(spec: Any) -> tuple[str, dict[str, Any]]:
    """(ClassName, kwargs) from `Name` or `{Name: kwargs}`."""
    split = split_object(spec)
    if split is None:
        raise ValueError(f"expected a name or a one-key mapping {{ClassName: kwargs}}, received {spec!r}")
    return split


def resolve(category: str, spec: Any, path: tuple = (), **extra: Any) -> Any:
    """Build the Keras object a config value describes.

    Args:
        category: layers, optimizers, schedules, losses, metrics, callbacks, regularizers,
            initializers, constraints or activations.
        spec: an identifier string or a one-key mapping {ClassName: {kwargs}}; a class may be
            named by its dotted path (`keras_hub.layers.TransformerEncoder`, `my_layers.Block`:
            `dlflow.model.custom_classes`).
        path: the config path of `spec`, for error messages.
        **extra: keyword arguments dlflow adds (they lose to the config's own).

    Example:
        >>> resolve("optimizers", {"Adam": {"learning_rate": {"ExponentialDecay": {
        ...     "initial_learning_rate": 1e-3, "decay_steps": 100, "decay_rate": 0.9}}}})
    """
    module = importlib.import_module(CATEGORY_MODULES[category])
    if isinstance(spec, str) and category not in CLASS_NAME_STRINGS:
        if category == "optimizers":
            return module.get(spec)
        return spec
    name, kwargs = split_spec(spec)
    cls = external_class(name, category, path) if is_dotted_class(name) else getattr(module, name, None)
    if cls is None:
        raise ConfigError(f"unknown {category[:-1]} '{name}'", config_path=path)
    resolved = {key: resolve_value(key, value, (*path, name, key)) for key, value in kwargs.items()}
    try:
        return cls(**{**extra, **resolved})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: {str(exc).splitlines()[0]}", config_path=path) from exc


def resolve_value(argument: str, value: Any, path: tuple) -> Any:
    """Resolve a keyword argument's value: nested object specs become objects, the rest stays.

    The argument's name says which kind of object it takes (`kernel_regularizer` ->
    regularizers, `learning_rate` -> schedules, `layer` -> layers; the same rule the config
    check uses); otherwise the first category that has the class wins.
    """
    if is_class_mapping(value):
        name = next(iter(value))
        candidates = argument_categories(argument) or FALLBACK_CATEGORIES
        if is_dotted_class(name):
            category = external_category(name, candidates)
        else:
            category = next(
                (c for c in candidates if hasattr(importlib.import_module(CATEGORY_MODULES[c]), name)), None
            )
        if category is not None:
            return resolve(category, value, path)
    if isinstance(value, list):
        return [resolve_value(argument, v, (*path, i)) for i, v in enumerate(value)]
    if argument == "learning_rate" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # YAML reads `10` as an int; Keras optimizers refuse one
    return value
