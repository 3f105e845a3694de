"""A MultiHeadAttention node's `attention_mask` checked against its query and value at build.

Keras computes a MultiHeadAttention's symbolic output without reading `attention_mask`, so a
mask of the wrong shape passes the build and fails inside the first training step. The graph
builder checks it first, with the symbolic shapes, and names the node.
"""

from __future__ import annotations

from typing import Any

from dlflow.errors import ConfigError


def check_attention_mask(layer: Any, args: list[Any], kwargs: dict[str, Any], path: tuple) -> None:
    """Raise a ConfigError at `path` when `attention_mask` does not broadcast to (batch, T, S).

    Args:
        layer: the node's layer; only a `keras.layers.MultiHeadAttention` (or subclass) is checked.
        args: the positional call arguments (the query).
        kwargs: the named call arguments (`value`, `key`, `attention_mask`...).
        path: the node's config path, for the located error.
    """
    import keras

    mask, value = kwargs.get("attention_mask"), kwargs.get("value")
    if mask is None or value is None or not args or not isinstance(layer, keras.layers.MultiHeadAttention):
        return
    query = args[0]
    expected = expected_mask_shape(tuple(query.shape), tuple(value.shape), layer._attention_axes)
    if expected is None or _broadcasts(tuple(mask.shape), expected):
        return
    named = (("query", query), ("value", value), ("attention_mask", mask))
    shapes = ", ".join(f"{name} {tuple(t.shape)}" for name, t in named)
    want = "(" + ", ".join("batch" if d is None else str(d) for d in expected) + ")"
    raise ConfigError(
        f"{type(layer).__name__}'s attention_mask must broadcast to {want} (the query's steps by the value's "
        f"steps; a 1 broadcasts), received {shapes}",
        config_path=(*path, "inputs", "attention_mask"),
    )


def expected_mask_shape(query: tuple, value: tuple, attention_axes: Any) -> tuple | None:
    """The attention scores' shape less the heads axis: (batch dims, query's attended dims, value's).

    (None, 6, 8) and (None, 5, 8) with the default axes -> (None, 6, 5). None when the ranks
    differ (Keras reports that itself).
    """
    rank = len(query)
    if len(value) != rank:
        return None
    if attention_axes is None:
        axes = tuple(range(1, rank - 1))
    else:
        axes = tuple(a % rank for a in ((attention_axes,) if isinstance(attention_axes, int) else attention_axes))
    batch = [query[i] for i in range(rank - 1) if i not in axes]
    return (*batch, *(query[i] for i in axes), *(value[i] for i in axes))


def _broadcasts(shape: tuple, target: tuple) -> bool:
    """Same rank, and each dimension unknown, 1, or the target's."""
    return len(shape) == len(target) and all(
        d is None or t is None or d == 1 or d == t for d, t in zip(shape, target, strict=True)
    )
