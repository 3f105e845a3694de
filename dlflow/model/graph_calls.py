"""Calling a functional node's layer: its inputs as one argument, or as named call arguments."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from dlflow.errors import ConfigError
from dlflow.model.attention_masks import check_attention_mask


def call_arguments(sources: Any, tensor: Callable[[str], Any]) -> tuple[list[Any], dict[str, Any]]:
    """(positional, keyword) call arguments of a node's `inputs`, each name made a tensor by `tensor`.

    `a` -> (a,); `[a, b]` -> ([a, b],) (a layer taking a list: Concatenate, Add);
    `{query: a, value: b}` -> query=a, value=b; a mapping's value may be a list too.
    """

    def tensors(value: Any) -> Any:
        return tensor(value) if isinstance(value, str) else [tensor(v) for v in value]

    if isinstance(sources, dict):
        return [], {name: tensors(value) for name, value in sources.items()}
    names = [sources] if isinstance(sources, str) else list(sources)
    parents = [tensor(s) for s in names]
    return [parents[0] if len(parents) == 1 else parents], {}


def apply_layer(layer: Any, args: list[Any], kwargs: dict[str, Any], path: tuple) -> Any:
    """`layer(*args, **kwargs)`; a failure is a ConfigError at `path` naming the shapes it received.

    The first parameter of the layer's `call`, when named, is passed positionally: Keras checks a
    layer's input spec and masks on its first argument.
    """
    kwargs = dict(kwargs)
    if kwargs:
        first = _first_parameter(layer)
        if first in kwargs:
            args = [kwargs.pop(first)]
    check_attention_mask(layer, args, kwargs, path)
    try:
        return layer(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"cannot apply {type(layer).__name__} to {received(args, kwargs)}: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            config_path=path,
        ) from exc


def _first_parameter(layer: Any) -> str | None:
    try:
        params = list(inspect.signature(layer.call).parameters.values())
    except (TypeError, ValueError):
        return None
    first = params[0] if params else None
    return first.name if first is not None and first.kind is first.POSITIONAL_OR_KEYWORD else None


def _shape(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shape(v) for v in value) + "]"
    return str(tuple(value.shape))


def received(args: list[Any], kwargs: dict[str, Any]) -> str:
    """`inputs of shape (None, 8), (None, 4)`, or by name: `query (None, 5, 8), value (None, 7, 8)`."""
    if kwargs:
        first = [f"{_shape(args[0])} (first argument)"] if args else []
        return ", ".join(first + [f"{name} {_shape(v)}" for name, v in kwargs.items()])
    value = args[0]
    return "inputs of shape " + (", ".join(_shape(v) for v in value) if isinstance(value, list) else _shape(value))
