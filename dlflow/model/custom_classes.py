"""Classes beyond Keras core named in a config by their dotted path: KerasHub's and your own.

`keras_hub.layers.TransformerEncoder` or `my_layers.ResidualBlock` work wherever a Keras class
name does. The module is imported when the model is built (your modules from the config's folder
first, as `model.factory` is: naming it in your config is what allows it to run); the class must
be of the kind the place takes (a layer where a layer goes) and registered with
`@keras.saving.register_keras_serializable()`, so model.keras reloads. Opening a run imports the
same modules again under `model.factory`'s trust rules (`dlflow.workflow.opened_run`). Validation
checks these names without importing anything (`dlflow.config.external_classes`).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Iterator

from dlflow.config.external_classes import is_dotted_class, split_dotted
from dlflow.config.problems import did_you_mean
from dlflow.errors import ConfigError

# The Keras base class each category's objects derive from (None: any callable).
BASES = {
    "layers": ("keras.layers", "Layer"),
    "optimizers": ("keras.optimizers", "Optimizer"),
    "schedules": ("keras.optimizers.schedules", "LearningRateSchedule"),
    "losses": ("keras.losses", "Loss"),
    "metrics": ("keras.metrics", "Metric"),
    "callbacks": ("keras.callbacks", "Callback"),
    "regularizers": ("keras.regularizers", "Regularizer"),
    "initializers": ("keras.initializers", "Initializer"),
    "constraints": ("keras.constraints", "Constraint"),
}
SECTIONS = (("model",), ("compile",), ("data", "augment"), ("fit", "callbacks"))


def _base(category: str) -> type | None:
    if category not in BASES:
        return None
    module, name = BASES[category]
    return getattr(importlib.import_module(module), name)


def import_module(module: str, path: tuple = ()) -> Any:
    """Import a module a dotted class name names (a ConfigError at `path` when it cannot be)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"cannot import module '{module}': {exc}", config_path=path) from exc


def external_class(name: str, category: str, path: tuple = ()) -> type:
    """The class `package.module.ClassName`, checked to be a registered `category` class.

    Raises:
        ConfigError: the module or class does not exist, is not of that kind, or is not registered.
    """
    import keras

    module_name, cls_name = split_dotted(name)
    module = import_module(module_name, path)
    cls = getattr(module, cls_name, None)
    if not isinstance(cls, type):
        names = [n for n in dir(module) if isinstance(getattr(module, n, None), type) and not n.startswith("_")]
        raise ConfigError(
            f"unknown {category[:-1]} '{name}': module '{module_name}' has no class '{cls_name}'"
            f"{did_you_mean(cls_name, names)}",
            config_path=path,
        )
    base = _base(category)
    if base is not None and not issubclass(cls, base):
        raise ConfigError(
            f"{name} is not a keras.{category}.{base.__name__} ({category[:-1]} expected here)", config_path=path
        )
    if keras.saving.get_registered_object(keras.saving.get_registered_name(cls)) is not cls:
        raise ConfigError(
            f"{name} is not registered with Keras, so a saved model.keras could not reload it: "
            f"decorate it with @keras.saving.register_keras_serializable()",
            config_path=path,
        )
    return cls


def external_category(name: str, candidates: tuple[str, ...]) -> str | None:
    """The first of `candidates` whose base class the dotted class `name` derives from."""
    module_name, cls_name = split_dotted(name)
    try:
        cls = getattr(importlib.import_module(module_name), cls_name, None)
    except ImportError:
        return None
    for category in candidates:
        base = _base(category)
        if isinstance(cls, type) and base is not None and issubclass(cls, base):
            return category
    return None


def _dotted(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if is_dotted_class(key) and (item is None or isinstance(item, dict)):
                yield key
            yield from _dotted(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dotted(item)
    elif is_dotted_class(value):
        yield value


def config_modules(config: Any) -> list[str]:
    """The modules the config's dotted class names come from, in order of appearance."""
    from dlflow.config import config_to_dict

    data = config_to_dict(config) if not isinstance(config, dict) else config
    names: list[str] = []
    for section in SECTIONS:
        value: Any = data
        for key in section:
            value = value.get(key) if isinstance(value, dict) else None
        names += [split_dotted(n)[0] for n in _dotted(value)]
    backbone = (data.get("model") or {}).get("backbone")
    if isinstance(backbone, dict) and "keras_hub" in backbone:  # a KerasHub preset's backbone and converter classes
        names.append("keras_hub")
    return list(dict.fromkeys(names))


def import_config_modules(config: Any, base_dir: Path | None) -> list[str]:
    """Import the modules of the config's dotted class names (the config's folder first on sys.path),
    so their classes are registered before a model is built or loaded; returns their names."""
    modules = config_modules(config)
    if modules and base_dir is not None and str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))
    for module in modules:
        import_module(module, ("model",))
    return modules
