"""A KerasHub image preset as `model.backbone` (`{keras_hub: <preset name or directory>}`).

The model is raw pixels -> data.augment -> 0-255 -> the preset's own image converter (its
`image_converter.json`: resizing, scale and offset), or a scaling to 0-1 when the preset has none
-> the preset's backbone (named `backbone`, built for the data's image shape) -> model.sequential.
A named preset is downloaded by KerasHub; offline it fails in one line naming its URL and the
local-directory alternative (a preset saved with `save_to_preset`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dlflow.config.problems import did_you_mean
from dlflow.errors import ConfigError

PATH = ("model", "backbone", "keras_hub")
NETWORK_REASONS = r"Failed to resolve '[^']+'|Connection refused|Name or service not known|timed out"


def apply_hub_backbone(kwargs: dict[str, Any], pixels: Any, shape: tuple, name: str) -> tuple[Any, str]:
    """The backbone's features of `pixels` (0-255) and a line describing what was built.

    Args:
        kwargs: `{preset: ..., load_weights: ...}` (the preset directory already absolute).
        pixels: the image tensor, 0-255.
        shape: the data's image shape (height, width, channels).
        name: the backbone layer's name (fit.phases finds it by it).
    """
    import keras

    preset, load_weights = kwargs["preset"], kwargs.get("load_weights", True)
    if "://" not in preset and "/" in preset and not Path(preset).is_dir():
        raise ConfigError(f"no KerasHub preset directory {preset}", config_path=PATH)
    converter = _guarded(preset, lambda: _image_converter(preset))
    size = getattr(converter, "image_size", None)
    backbone = _load_backbone(preset, load_weights, (*size, shape[-1]) if size else shape, name)
    if converter is not None:
        x, how = converter(pixels), f"its image converter ({type(converter).__name__})"
    else:
        x, how = keras.layers.Rescaling(1 / 255.0, name="pixels_0_1")(pixels), "pixels scaled to 0-1 (no converter)"
    described = (
        f"backbone: KerasHub preset {Path(preset).name if Path(preset).is_dir() else preset} "
        f"({type(backbone).__name__}, {len(backbone.layers)} layers, {backbone.count_params():,} parameters, "
        f"{'its weights' if load_weights else 'random weights'}) on {'x'.join(map(str, shape))} images, "
        f"with {how}"
    )
    return backbone(x), described


def _load_backbone(preset: str, load_weights: bool, shape: tuple, name: str) -> Any:
    """keras_hub.models.Backbone.from_preset for the image shape it gets; its failures in one line."""
    import keras_hub
    from keras_hub.src.utils.preset_utils import CONFIG_FILE, load_json

    saved = _guarded(preset, lambda: load_json(preset, CONFIG_FILE)).get("config", {}).get("image_shape")
    if load_weights and isinstance(saved, (list, tuple)) and saved and saved[-1] not in (None, shape[-1]):
        raise ConfigError(
            f"KerasHub preset {preset!r} takes images of {saved[-1]} channels, and the data's have "
            f"{shape[-1]}: set data.image.color_mode ({'rgb' if saved[-1] == 3 else 'grayscale'})",
            config_path=PATH,
        )
    backbone = _guarded(
        preset,
        lambda: keras_hub.models.Backbone.from_preset(preset, load_weights=load_weights, image_shape=shape, name=name),
    )
    inputs = backbone.inputs
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise ConfigError(
            f"KerasHub preset {preset!r} is a {type(backbone).__name__}, not an image backbone (one image input)",
            config_path=PATH,
        )
    return backbone


def _guarded(preset: str, load: Any) -> Any:
    """`load()`, any failure (a download, a missing file, a bad config) as one located line."""
    try:
        return load()
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - KerasHub and its download clients raise many kinds
        raise _load_error(preset, exc) from exc


def _load_error(preset: str, exc: Exception) -> ConfigError:
    """One line for a preset that cannot load: its download URL offline, did-you-mean for a name."""
    from keras_hub.src.utils.preset_utils import BUILTIN_PRESETS

    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if message.startswith("Unknown preset identifier"):
        return ConfigError(
            f"unknown KerasHub preset {preset!r}{did_you_mean(preset, BUILTIN_PRESETS)}; a preset is "
            f"a KerasHub preset name, a kaggle:// or hf:// handle, or the directory of one saved "
            f"with save_to_preset",
            config_path=PATH,
        )
    if _is_network_error(exc):
        known = re.search(NETWORK_REASONS, message)
        reason = known.group(0) if known else type(exc).__name__
        return ConfigError(
            f"KerasHub preset {preset!r} cannot be downloaded from {preset_url(preset)} ({reason}); "
            f"where there is a network, save it with keras_hub.models.ImageClassifier.from_preset("
            f"{preset!r}).save_to_preset(DIR) and give that directory (keras_hub: path/to/DIR)",
            config_path=PATH,
        )
    return ConfigError(f"KerasHub preset {preset!r}: {message}", config_path=PATH)


def _is_network_error(exc: BaseException) -> bool:
    """A connection failure anywhere in the exception's chain (requests, urllib3, kagglehub, OSError)."""
    while exc is not None:
        if any(isinstance(exc, kind) for kind in (ConnectionError, TimeoutError)) or any(
            "Connection" in cls.__name__ for cls in type(exc).__mro__
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def preset_url(preset: str) -> str:
    """The web address a preset downloads from: its Kaggle model page, its Hugging Face repository."""
    from keras_hub.src.utils.preset_utils import BUILTIN_PRESETS

    handle = BUILTIN_PRESETS.get(preset, {}).get("kaggle_handle", preset)
    if handle.startswith("kaggle://"):
        return "https://www.kaggle.com/models/" + handle.removeprefix("kaggle://")
    if handle.startswith("hf://"):
        return "https://huggingface.co/" + handle.removeprefix("hf://")
    return handle


def _image_converter(preset: str) -> Any:
    """The preset's own ImageConverter layer, or None when it has none."""
    import keras_hub
    from keras_hub.src.utils.preset_utils import IMAGE_CONVERTER_CONFIG_FILE, check_file_exists

    if not check_file_exists(preset, IMAGE_CONVERTER_CONFIG_FILE):
        return None
    return keras_hub.layers.ImageConverter.from_preset(preset)
