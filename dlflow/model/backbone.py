"""`model.backbone`: a `keras.applications` model between the raw image and the sequential head.

(A KerasHub image preset, `{keras_hub: <preset>}`, is built by `dlflow.model.hub_backbone`.)

The model is raw pixels -> data.augment (training only) -> 0-255 range -> the application's own
`preprocess_input` (`dlflow.model.image_layers.ApplicationPreprocess`) -> the application
(include_top false, named `backbone`) -> model.sequential. Its weights are the config's:
`imagenet` (downloaded by Keras, or from its cache), a weights file, or null (random).

```yaml
model:
  backbone: {MobileNetV2: {weights: null, alpha: 0.35}}
  sequential: [GlobalAveragePooling2D, {Dense: {units: 10, activation: softmax}}]
```
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from dlflow.errors import ConfigError

BACKBONE = "backbone"  # the application's layer name in the model (fit.phases finds it by it)
PATH = ("model", "backbone")


def apply_backbone(spec: Any, train: Any, raw: dict[str, Any], augment: list[Any]) -> tuple[Any, list[str]]:
    """The backbone's features of the data's image input, and lines describing what was built.

    Args:
        spec: `model.backbone` (`MobileNetV2`, `{MobileNetV2: {kwargs}}` or `{keras_hub: ...}`).
        train: the training split (its single image input decides the input shape and pixel range).
        raw: the model's keras.Input tensors by name.
        augment: data.augment's layers, applied to the raw pixels while training.
    """
    import keras

    from dlflow.config.backbone_check import applications, backbone_parts
    from dlflow.config.hub_backbone_check import HUB_BACKBONE
    from dlflow.model.image_layers import ApplicationPreprocess

    name, kwargs = backbone_parts(spec)
    image = _image_input(train)
    x = raw[image.name]
    for layer in augment:
        x = layer(x)
    factor = 255.0 * image.scale if image.scale else 1.0
    scaled = f" after scaling the data's pixels by {factor:g} to 0-255" if abs(factor - 1.0) > 1e-9 else ""
    if scaled:  # e.g. builtin:digits' 0-16 pixels
        x = keras.layers.Rescaling(factor, name="pixels_0_255")(x)
    if name == HUB_BACKBONE:
        from dlflow.model.hub_backbone import apply_hub_backbone

        features, described = apply_hub_backbone(kwargs, x, tuple(image.shape), BACKBONE)
        return features, [described + scaled]
    info = applications()[name]
    _check_image(name, info, image.shape, kwargs.get("weights", "imagenet"))
    x = ApplicationPreprocess(info["module"], name=f"preprocess_{info['module']}")(x)
    backbone, notices = _instantiate(name, kwargs, tuple(image.shape))
    weights = kwargs.get("weights", "imagenet")
    described = (
        f"backbone: {name} ({len(backbone.layers)} layers, {backbone.count_params():,} parameters, "
        f"weights {weights if weights in ('imagenet', None) else Path(weights).name}) on "
        f"{'x'.join(map(str, image.shape))} images, with keras.applications.{info['module']}.preprocess_input" + scaled
    )
    return backbone(x), [described, *notices]


def _image_input(train: Any) -> Any:
    """The data's single image input (a backbone takes one)."""
    images = [s for s in train.input_specs.values() if s.role == "image"]
    if len(images) != 1 or len(train.input_specs) != 1:
        raise ConfigError(
            f"a backbone takes one image input; this data ({train.kind}) has {', '.join(train.input_specs)}",
            config_path=PATH,
        )
    return images[0]


def _check_image(name: str, info: dict[str, Any], shape: tuple, weights: Any) -> None:
    minimum = info.get("min_size")
    if minimum and min(shape[:2]) < minimum:
        raise ConfigError(
            f"{name} needs images of at least {minimum}x{minimum}, but the data's are "
            f"{shape[0]}x{shape[1]}; set data.image.size (e.g. [{max(minimum, 32)}, {max(minimum, 32)}])",
            config_path=PATH,
        )
    if shape[-1] != 3 and (weights is not None or info.get("rgb_only")):
        raise ConfigError(
            f"{name} expects 3-channel (rgb) images, but the data's have {shape[-1]}; set data.image.color_mode: rgb",
            config_path=PATH,
        )


def _instantiate(name: str, kwargs: dict[str, Any], shape: tuple) -> tuple[Any, list[str]]:
    """keras.applications.<name>(include_top=False, input_shape=shape, **kwargs), errors in one line;
    with Keras's warnings (e.g. which ImageNet input size the weights are for) as notice lines."""
    import keras

    weights = kwargs.get("weights", "imagenet")
    if isinstance(weights, str) and weights != "imagenet" and not Path(weights).is_file():
        raise ConfigError(f"no weights file {weights}", config_path=(*PATH, name, "weights"))
    arguments = {k: v for k, v in kwargs.items() if k != "include_top"}
    printed = io.StringIO()  # Keras prints its download to stdout (which is for results): stderr on success
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            backbone = getattr(keras.applications, name)(
                include_top=False, input_shape=shape, name=BACKBONE, **arguments
            )
        sys.stderr.write(printed.getvalue())
        return backbone, [f"notice: {name}: {w.message}" for w in caught if issubclass(w.category, UserWarning)]
    except Exception as exc:  # noqa: BLE001 - Keras raises a bare Exception for a failed download
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        download = re.match(r"URL fetch failure on (\S+): (.*)", message)
        if download:
            raise ConfigError(
                f"{name}'s imagenet weights cannot be downloaded from {download.group(1)} "
                f"({download.group(2).strip()}); download that file where there is a network and "
                f"give its path (weights: path/to/file.h5), or train from scratch (weights: null)",
                config_path=(*PATH, name) if kwargs else PATH,
            ) from None
        if isinstance(exc, (ValueError, TypeError, OSError)):
            raise ConfigError(f"{name}: {message}", config_path=PATH) from exc
        raise


def find_backbone(model: Any) -> Any:
    """The model's backbone layer (its `keras.applications` model), None when it has none."""
    try:
        return model.get_layer(BACKBONE)
    except ValueError:
        return None
