"""The model's layers and parameters as Keras prints them (`model.summary()`), as text for a log."""

from __future__ import annotations

from typing import Any


def summary_text(model: Any) -> str:
    """`model.summary()`'s table (layers, output shapes, parameters per layer and in all) as one string.

    Args:
        model: a built Keras model (an unbuilt subclassed model says so instead of listing layers).
    """
    captured: list[str] = []
    model.summary(print_fn=lambda text, **_: captured.append(text))
    return "\n".join(captured).rstrip("\n")
