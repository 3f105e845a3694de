"""The native Keras format: `model.keras`, reloaded with `keras.saving.load_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FILENAME = "model.keras"


def write(model, dest: Path) -> None:
    """Save `model` (architecture, weights, preprocessing state) to `dest` (a `.keras` path)."""
    model.save(str(dest))


def predict(path: Path, samples: Any) -> dict[str, np.ndarray]:
    """Reload the `.keras` file and predict on the raw samples, outputs flattened by name.

    `safe_mode=False` because the file was written a moment ago from the in-memory model (it
    may hold `Lambda` layers, which safe mode refuses to deserialize).
    """
    import keras

    from dlflow.export.signature import keras_outputs

    reloaded = keras.saving.load_model(str(path), compile=False, safe_mode=False)
    return keras_outputs(reloaded, samples)
