"""Advice for a failed overfit check, read from how the loss moved and from the model itself.

A learning rate too high or too low, targets far from standard units, a bottleneck layer, too
little capacity, strong regularization, labels that may not match the inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

HIGH_LEARNING_RATE = 0.1
LOW_LEARNING_RATE = 1e-5
STRONG_DROPOUT = 0.5
STRONG_PENALTY = 1e-2
TARGET_SCALE_LIMIT = 10.0  # regression targets with a mean or spread past this need data.target_scaling
WIDTH_ARGUMENTS = ("units", "filters")


def diagnose(result: Any, config: Any, model: Any, spec: Any, truth: np.ndarray) -> list[str]:
    """Advice for a failed overfit check, most likely cause first.

    Args:
        result: the failed check (an OverfitResult).
        config: the ExperimentConfig.
        model: the model it trained.
        spec: the TargetSpec it was scored on.
        truth: that target's values on the subset.
    """
    diverged = result.stopped.startswith("the loss became")
    advice = _rate_advice(result, config, diverged)
    if spec.task == "regression":
        advice += target_scale_advice(model, truth)
    for path, layer, width in bottlenecks(config, model, spec.units):
        advice.append(
            f"{path}: {layer} with {width} unit(s) is a bottleneck narrower than the output "
            f"({spec.units} unit(s)); widen it (e.g. 32 or more) or remove it"
        )
    weights = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    if weights < result.samples:
        advice.append(
            f"the model has only {weights} trainable weights for {result.samples} samples: add units "
            f"or layers for more capacity"
        )
    advice += [
        f"{path}: {what} is strong regularization for a capacity check; try the model without it first"
        for path, what in strong_regularization(config)
    ]
    moved = (
        result.first_loss is not None
        and result.last_loss is not None
        and math.isfinite(result.last_loss)
        and result.last_loss < 0.9 * result.first_loss
    )
    if not diverged and not moved:
        advice.append(
            "the loss hardly moved: check that the labels match the inputs (shuffled or misaligned "
            "labels cannot be learned) and that the inputs vary (not constant or all missing)"
        )
    if not advice:
        advice.append(
            f"it reached {result.metric} {result.reached:.4g} (goal {result.goal:.4g}): add capacity "
            f"(more units or layers) or raise the learning rate; check that the labels match the inputs"
        )
    return advice


def _rate_advice(result: Any, config: Any, diverged: bool) -> list[str]:
    """A learning rate likely too high (the loss diverged, rose, or the rate is large) or too low."""
    rate = learning_rate(config)
    rose = (
        result.first_loss is not None
        and result.last_loss is not None
        and math.isfinite(result.last_loss)
        and result.last_loss > 1.5 * result.first_loss
    )
    if diverged or rose or (rate is not None and rate >= HIGH_LEARNING_RATE):
        shown = f"{rate:g}" if rate is not None else "the learning rate"
        lower = 1e-3 if rate is None or rate >= HIGH_LEARNING_RATE else rate / 10
        return [
            f"the learning rate ({shown}) is likely too high: the loss "
            f"{'diverged' if diverged else 'rose' if rose else 'did not settle'}; "
            f"lower it, e.g. {_rate_override(config, lower)}"
        ]
    if rate is not None and rate <= LOW_LEARNING_RATE:
        return [
            f"the learning rate ({rate:g}) is likely too low to fit in {result.epochs} epochs; "
            f"raise it, e.g. {_rate_override(config, rate * 10)}"
        ]
    return []


def target_scale_advice(model: Any, truth: np.ndarray) -> list[str]:
    """Advice to standardize regression targets (data.target_scaling) when they are far from standard
    units and the model's output is not scaled (target_scaling none, no Rescaling of the user's)."""
    mean, std = float(np.mean(truth)), float(np.std(truth))
    outputs = _output_tensors(model)
    last = type(outputs[0]._keras_history.operation).__name__ if outputs else None
    if max(abs(mean), std) <= TARGET_SCALE_LIMIT or last in ("Rescaling", "Normalization"):
        return []
    return [
        f"the targets have mean {mean:.4g} and standard deviation {std:.4g}, far from the output layer's "
        f"starting scale: let dlflow standardize them (data.target_scaling: standardize, the default for "
        f"regression) so the layers predict standard units and the model still answers in raw units"
    ]


def _rate_override(config: Any, rate: float) -> str:
    """The --set that changes the learning rate (or the config entry to edit, for a named optimizer)."""
    from dlflow.model.resolve import split_spec

    if isinstance(config.compile.optimizer, str):
        return f"compile.optimizer: {{{config.compile.optimizer.capitalize()}: {{learning_rate: {rate:g}}}}}"
    name, _ = split_spec(config.compile.optimizer)
    return f"--set compile.optimizer.{name}.learning_rate={rate:g}"


def learning_rate(config: Any) -> float | None:
    """The optimizer's learning rate when the config gives it as a number (Keras's default for a name)."""
    from dlflow.model.resolve import split_spec

    name, kwargs = split_spec(config.compile.optimizer)
    rate = kwargs.get("learning_rate")
    if isinstance(rate, (int, float)):
        return float(rate)
    if rate is None:
        return 0.01 if name.lower() == "sgd" else 0.001
    return None  # a schedule


def bottlenecks(config: Any, model: Any, output_units: int) -> list[tuple[str, str, int]]:
    """(config path or layer name, class, width) of hidden layers narrower than the output (or 1 wide).

    The output layer is the last layer with a width (units, filters) before each output; layers
    after it (Rescaling, Activation) do not count.
    """
    from dlflow.model.resolve import split_spec

    limit = max(2, output_units)
    found = []
    if config.model.api == "sequential":
        widths = [
            (i, name, _width(kwargs))
            for i, (name, kwargs) in enumerate(split_spec(spec) for spec in config.model.sequential)
        ]
        hidden = [w for w in widths if w[2] is not None][:-1]
        return [(f"model.sequential[{i}]", name, width) for i, name, width in hidden if width < limit]
    heads = {_head_layer(t) for t in _output_tensors(model)}
    for layer in model.layers:
        width = _width({a: getattr(layer, a, None) for a in WIDTH_ARGUMENTS})
        if width is not None and width < limit and layer.name not in heads:
            found.append((f"layer '{layer.name}'", type(layer).__name__, width))
    return found


def _output_tensors(model: Any) -> list[Any]:
    """The model's symbolic outputs (none for a model without a graph)."""
    try:
        return [t for t in model.outputs if hasattr(t, "_keras_history")]
    except (AttributeError, ValueError):
        return []


def _width(kwargs: dict[str, Any]) -> int | None:
    return next((kwargs[a] for a in WIDTH_ARGUMENTS if isinstance(kwargs.get(a), int)), None)


def _head_layer(tensor: Any) -> str | None:
    """The name of the last layer with a width on the way to an output tensor."""
    layer = tensor._keras_history.operation
    while _width({a: getattr(layer, a, None) for a in WIDTH_ARGUMENTS}) is None:
        parents = [t for node in layer._inbound_nodes for t in node.input_tensors]
        if len(parents) != 1:
            return layer.name
        layer = parents[0]._keras_history.operation
    return layer.name


def strong_regularization(config: Any) -> list[tuple[str, str]]:
    """(config path, what) for dropout rates and weight penalties strong enough to slow memorizing."""
    from dlflow.model.resolve import split_spec

    if config.model.api != "sequential":
        return []
    found = []
    for i, spec in enumerate(config.model.sequential):
        name, kwargs = split_spec(spec)
        if "Dropout" in name and isinstance(kwargs.get("rate"), (int, float)) and kwargs["rate"] >= STRONG_DROPOUT:
            found.append((f"model.sequential[{i}]", f"{name} rate {kwargs['rate']:g}"))
        for argument, value in kwargs.items():
            if argument.endswith("_regularizer") and value is not None:
                _, penalty = split_spec(value) if not isinstance(value, str) else (value, {})
                factors = [v for v in penalty.values() if isinstance(v, (int, float))]
                if factors and max(factors) >= STRONG_PENALTY:
                    found.append((f"model.sequential[{i}]", f"{argument} {max(factors):g}"))
    return found
