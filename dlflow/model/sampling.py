"""What `dlflow sample` and the per-epoch sample grids draw from: a generative model's samples.

A model can be sampled when it declares one of (checked in this order):
- `sample(n)`: a method returning `n` images;
- `generator` and `latent_dim`: a model (or callable) from latent vectors of size `latent_dim`
  to images, fed standard normal vectors (seeded), as a GAN's generator or a VAE's decoder.
Images are (n, height, width, channels) with values in [0, 1] (values outside are clipped); a
flat (n, pixels) output is reshaped to the training images' shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlflow.errors import UsageError

HOW = "a `sample(n)` method, or `generator` and `latent_dim` attributes"


def can_sample(model: Any) -> bool:
    """Whether the model declares how to draw samples (see the module docstring)."""
    if callable(getattr(model, "sample", None)):
        return True
    return callable(getattr(model, "generator", None)) and isinstance(getattr(model, "latent_dim", None), int)


def latent_vectors(model: Any, count: int, seed: int) -> np.ndarray | None:
    """Standard normal latent vectors for a model with `generator` and `latent_dim` (None for `sample(n)`)."""
    if callable(getattr(model, "sample", None)):
        return None
    return np.random.default_rng(seed).standard_normal((count, int(model.latent_dim))).astype("float32")


def draw(
    model: Any, count: int, *, image_shape: tuple[int, ...] | None, seed: int = 0, latent: np.ndarray | None = None
) -> np.ndarray:
    """`count` samples as float images (n, height, width, channels).

    Args:
        image_shape: the training images' (height, width, channels), for generators with flat outputs.
        seed: seeds the latent vectors (the same seed draws the same samples).
        latent: the latent vectors to decode (`latent_vectors`), instead of drawing new ones.

    Raises:
        UsageError: the model cannot be sampled, or its samples are not images.
    """
    import keras

    name = type(model).__name__
    if not can_sample(model):
        raise UsageError(f"{name} cannot be sampled: a generative model declares {HOW}")
    if callable(getattr(model, "sample", None)):
        images = model.sample(count)
    else:
        images = model.generator(latent if latent is not None else latent_vectors(model, count, seed), training=False)
    images = np.asarray(keras.ops.convert_to_numpy(images), dtype="float32")
    if images.ndim == 2 and image_shape is not None and images.shape[1] == int(np.prod(image_shape)):
        images = images.reshape((-1, *image_shape))
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or images.shape[0] != count:
        raise UsageError(
            f"{name}'s samples have shape {images.shape}; expected {count} images "
            f"(n, height, width, channels 1, 3 or 4)"
        )
    return images
