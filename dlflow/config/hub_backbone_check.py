"""`model.backbone: {keras_hub: ...}`: a KerasHub image preset as the backbone, checked without KerasHub.

```yaml
model:
  backbone: {keras_hub: resnet_18_imagenet}                              # a named preset (downloaded)
  backbone: {keras_hub: {preset: ./my_resnet, load_weights: false}}     # a directory saved with save_to_preset
  sequential: [GlobalAveragePooling2D, {Dense: {units: 10, activation: softmax}}]
```

`preset` is a KerasHub preset name or handle (`kaggle://...`, `hf://...`) or the directory of a
preset saved with `save_to_preset`, relative to the config (a directory when it holds a `/` or
names a folder there). `load_weights` (default true) loads the preset's weights; false keeps its
architecture with random weights.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from dlflow.config.problems import Problem, describe_value, did_you_mean

HUB_BACKBONE = "keras_hub"
HUB_ARGUMENTS = ("preset", "load_weights")


def hub_backbone_parts(kwargs: Any) -> tuple[Any, Any]:
    """(preset, load_weights) of the value under `keras_hub` (a preset string or a mapping)."""
    if isinstance(kwargs, str):
        return kwargs, True
    kwargs = kwargs or {}
    return kwargs.get("preset"), kwargs.get("load_weights", True)


def check_hub_backbone(value: Any) -> list[Problem]:
    """The problems of the value under `model.backbone.keras_hub`."""
    path = ("model", "backbone", HUB_BACKBONE)
    if isinstance(value, str):
        return (
            []
            if value.strip()
            else [Problem(path, "expected a KerasHub preset name or directory, received ''", value=True)]
        )
    if not isinstance(value, dict):
        return []  # a type pydantic reports
    problems = [
        Problem(
            (*path, key),
            f"takes no argument {key!r}{did_you_mean(key, HUB_ARGUMENTS)}; it takes: "
            f"{', '.join(HUB_ARGUMENTS)} (dlflow sets the image shape and the name)",
        )
        for key in value
        if key not in HUB_ARGUMENTS
    ]
    preset, load_weights = hub_backbone_parts(value)
    if "preset" not in value:
        problems.append(
            Problem(
                path,
                "needs a preset: a KerasHub preset name or the directory of one "
                "({preset: resnet_18_imagenet} or {preset: ./my_preset})",
            )
        )
    elif not isinstance(preset, str) or not preset.strip():
        problems.append(
            Problem(
                (*path, "preset"),
                f"expected a KerasHub preset name or directory, received {describe_value(preset)}",
                value=True,
            )
        )
    if not isinstance(load_weights, bool):
        problems.append(
            Problem(
                (*path, "load_weights"), f"expected true or false, received {describe_value(load_weights)}", value=True
            )
        )
    return problems


def is_preset_directory(preset: str, resolve: Callable[[str], str]) -> bool:
    """Whether `preset` names a local directory (a `/` in it, or a folder by that name) rather than a name."""
    if "://" in preset:
        return False
    return "/" in preset or os.sep in preset or preset.startswith((".", "~")) or os.path.isdir(resolve(preset))


def resolve_hub_preset(value: Any, resolve: Callable[[str], str]) -> Any:
    """The `keras_hub` value with a preset directory made absolute by `resolve(path)`."""
    preset, load_weights = hub_backbone_parts(value)
    if not isinstance(preset, str) or not is_preset_directory(preset, resolve):
        return value
    return {"preset": resolve(preset), "load_weights": load_weights}
