"""Argument values Keras accepts at construction but fails on later (or silently ignores), without Keras.

The catalogue knows which arguments are an int, a float or a bool (`keras_check.argument_type`);
this module adds what a type alone does not say, found by the train fuzzer (issue #10):

- outside layers, a typed argument takes one value of its type: `patience: [1, 2]`,
  `beta_1: {a: 1}` or `min_delta: null` construct, then fail (or never stop) in `fit`;
- a callback's `monitor` is a non-empty string (`monitor: -3` fails at the first epoch's end,
  `monitor: null` too); its `mode` is auto, min or max (Keras warns and uses auto otherwise);
- counts and rates that Keras takes as they are but that cannot work: a negative `patience`,
  `factor` of ReduceLROnPlateau at 1 or more (it must reduce), `beta_1`/`beta_2` outside [0, 1);
- layer sizes are positive (`units: 0`), a dropout `rate` is in [0, 1);
- Keras's abstract base classes (`Layer`, `Loss`, `Metric`, `Optimizer`) are not used as they are;
- layer names are unique within a model (Keras refuses the model when it is built);
- `decay_steps` of a schedule is at least 1; an optimizer sets one of clipnorm, clipvalue and
  global_clipnorm; a list of `loss_weights` has one weight per model output.
"""

from __future__ import annotations

from typing import Any, Iterator

from dlflow.config.paths import ConfigPath

TAKE_LISTS = ("axis", "value", "alpha")  # typed from a scalar default, but Keras takes a list there too
MONITORING = ("EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint", "OrbaxCheckpoint")
MODES = ("auto", "min", "max")
# (class or "*", argument) -> (low, high, low inclusive, high inclusive, what it means)
LAYER_RANGES: dict[str, tuple[float, float, bool, bool]] = {  # any layer's argument of that name
    "units": (1, float("inf"), True, True),
    "filters": (1, float("inf"), True, True),
    "output_dim": (1, float("inf"), True, True),
    "input_dim": (1, float("inf"), True, True),
    "num_heads": (1, float("inf"), True, True),
    "key_dim": (1, float("inf"), True, True),
    "rate": (0, 1, True, False),
}
BASE_CLASSES = {  # Keras's abstract classes: they do nothing by themselves (their call/step is a stub)
    "layers": ("Layer", "Wrapper"),
    "losses": ("Loss", "LossFunctionWrapper"),
    "metrics": ("Metric", "Reduce", "MeanMetricWrapper"),
    "optimizers": ("Optimizer",),
}
RANGES: dict[tuple[str, str], tuple[float, float, bool, bool]] = {
    ("*", "patience"): (0, float("inf"), True, True),
    ("*", "cooldown"): (0, float("inf"), True, True),
    ("*", "start_from_epoch"): (0, float("inf"), True, True),
    ("ReduceLROnPlateau", "factor"): (0, 1, False, False),
    ("ReduceLROnPlateau", "min_lr"): (0, float("inf"), True, True),
    ("*", "beta_1"): (0, 1, True, False),
    ("*", "beta_2"): (0, 1, True, False),
    ("*", "epsilon"): (0, float("inf"), False, True),
    ("*", "decay_steps"): (1, float("inf"), True, True),
    ("*", "first_decay_steps"): (1, float("inf"), True, True),
}
EXCLUSIVE = {"optimizers": ("clipnorm", "clipvalue", "global_clipnorm")}  # at most one of them is set


def value_problems(
    category: str, name: str, argument: str, value: Any, expected: str | None, object_argument: bool
) -> str | None:
    """Why `value` cannot work for `name`'s `argument` (of the catalogue type `expected`), or None.

    Args:
        category: the Keras category of the class (layers, callbacks, optimizers, ...).
        object_argument: the argument takes Keras objects (`learning_rate: {ExponentialDecay: ...}`).
    """
    if category != "layers" and expected is not None and not object_argument and argument not in TAKE_LISTS:
        if isinstance(value, (list, dict)) or value is None:
            return f"expected one {expected}, received {value!r}"
    if category == "callbacks" and name in MONITORING:
        if argument == "monitor" and (not isinstance(value, str) or not value.strip()):
            return f"expected the name of a logged metric (e.g. val_loss), received {value!r}"
        if argument == "mode" and value not in MODES:
            return f"expected one of {', '.join(MODES)}, received {value!r}"
    if category == "layers":
        limits = LAYER_RANGES.get(argument)
    else:
        limits = RANGES.get((name, argument)) or RANGES.get(("*", argument))
    if limits is not None and _number(value) and not _within(value, limits):
        low, high, low_in, high_in = limits
        if high == float("inf"):
            return f"expected {'at least' if low_in else 'more than'} {low:g}, received {value!r}"
        left, right = "[" if low_in else "(", "]" if high_in else ")"
        return f"expected a value in {left}{low:g}, {high:g}{right}, received {value!r}"
    return None


def base_class_problem(category: str, name: str) -> str | None:
    """Why `name` cannot be used as it is (one of Keras's abstract base classes), or None."""
    if name in BASE_CLASSES.get(category, ()):
        return f"{name} is Keras's base class and does nothing by itself; name one of its subclasses"
    return None


def exclusive_problem(category: str, kwargs: dict) -> str | None:
    """Why arguments set together cannot be (`clipnorm` with `global_clipnorm`), or None."""
    both = [name for name in EXCLUSIVE.get(category, ()) if kwargs.get(name) is not None]
    if len(both) > 1:
        return f"only one of {', '.join(EXCLUSIVE[category])} can be set; received {', '.join(both)}"
    return None


def loss_weights_problem(weights: Any, outputs: int) -> str | None:
    """Why a list of `compile.loss_weights` cannot fit a model of `outputs` outputs, or None."""
    if isinstance(weights, list) and len(weights) != outputs:
        return f"expected {outputs} weight(s), one per model output, received {len(weights)}"
    return None


def duplicate_names(layers: Iterator[tuple[ConfigPath, Any]]) -> Iterator[tuple[ConfigPath, str]]:
    """`(path, message)` for each layer whose `name` argument an earlier layer already took.

    Args:
        layers: `(path of the layer's kwargs, kwargs)` in model order.
    """
    seen: dict[str, ConfigPath] = {}
    for path, kwargs in layers:
        name = kwargs.get("name") if isinstance(kwargs, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            yield path + ("name",), f"layer name {name!r} is already taken (at {_dotted(seen[name])}); names are unique"
        else:
            seen[name] = path


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _within(value: float, limits: tuple[float, float, bool, bool]) -> bool:
    low, high, low_in, high_in = limits
    above = value >= low if low_in else value > low
    below = value <= high if high_in else value < high
    return above and below


def _dotted(path: ConfigPath) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out
