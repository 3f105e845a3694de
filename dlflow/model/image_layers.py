"""`ApplicationPreprocess`: a `keras.applications` model's own `preprocess_input`, as a layer.

A backbone's preprocessing lives inside the model (DESIGN.md §2), so an exported model takes
raw pixels (0-255). Registered with Keras as `dlflow>ApplicationPreprocess`: import this module
before `keras.saving.load_model` on a backbone model (dlflow's own stages do).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import keras


def _application_module(module: str) -> Any:
    """keras.applications.<module>, refusing any other name (a model file chooses it)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", module) or not hasattr(keras.applications, module):
        raise ValueError(f"not a keras.applications module: {module!r}")
    return importlib.import_module(f"keras.applications.{module}")


@keras.saving.register_keras_serializable(package="dlflow")
class ApplicationPreprocess(keras.layers.Layer):
    """`keras.applications.<module>.preprocess_input` on raw 0-255 pixels.

    Args:
        module: the application's module, e.g. `mobilenet_v2` (scales to -1..1), `resnet`
            (RGB to BGR, ImageNet means subtracted), `efficientnet` (nothing: the model rescales).

    Example:
        >>> ApplicationPreprocess("mobilenet_v2")(np.full((1, 2, 2, 3), 255.0, "float32"))  # all 1.0
    """

    def __init__(self, module: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.module = module
        self._preprocess = _application_module(module).preprocess_input

    def call(self, inputs: Any) -> Any:
        return self._preprocess(keras.ops.cast(inputs, self.compute_dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "module": self.module}
