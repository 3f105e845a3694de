"""`{"b64": "..."}` values: base64-encoded image files (PNG, JPEG, BMP, GIF) for an image input.

TF Serving's REST API writes binary values as `{"b64": "<base64>"}`. dlflow's exported models take
raw pixels, not encoded files, so the server decodes each image as training read its images:
converted to the input's color mode (from its channels), resized to the input's height and
width (bilinear), pixels mapped to the data's range (`dlflow.data.images.image_input`). A `b64`
value for any other input is refused.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable

import numpy as np


def is_b64(value: Any) -> bool:
    """True for a `{"b64": ...}` object."""
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def decode_b64_values(values: list, spec: Any, where: Callable[[int], str], error: type[Exception]) -> list:
    """`values` with each `{"b64": ...}` item replaced by the image's pixels (the input's shape).

    Args:
        values: one JSON value per example.
        spec: the input's spec (`role`, `shape`, `scale`).
        where: example index -> where it is, for messages.
        error: the exception raised for a bad value (the parser's `RequestError`).
    """
    if not any(is_b64(value) for value in values):
        return values
    from dlflow.data.images import image_input

    label = getattr(spec, "column", None) or spec.name
    if getattr(spec, "role", None) != "image" or len(spec.shape) != 3:
        raise error(
            f'input "{label}": {{"b64": ...}} values are accepted for image inputs only; '
            f"send this input as {spec.dtype} values of shape {list(spec.shape)}"
        )
    decoded = []
    for j, value in enumerate(values):
        if not is_b64(value):
            decoded.append(value)
            continue
        text = value["b64"]
        if not isinstance(text, str):
            raise error(f'{where(j)}: "b64" must be a base64 string, received {type(text).__name__}')
        try:
            encoded = base64.b64decode(text, validate=True)
            decoded.append(image_input(encoded, spec))
        except (binascii.Error, ValueError) as exc:
            raise error(f'{where(j)}: input "{label}": "b64" is not a base64-encoded image: {exc}') from None
    if all(isinstance(value, np.ndarray) for value in decoded):
        return decoded
    return [value.tolist() if isinstance(value, np.ndarray) else value for value in decoded]
