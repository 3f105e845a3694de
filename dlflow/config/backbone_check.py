"""Checks `model.backbone` against the `keras.applications` list, without Keras.

`model.backbone` is a Keras application as a Keras object, `MobileNetV2` or
`{MobileNetV2: {weights: null, alpha: 0.35}}`; `model.sequential` is the head stacked on its
features. The names, arguments and input sizes come from `keras_applications.json`, generated
from Keras by `python -m dlflow.config.make_applications`.

```python
check_backbone({"model": {"backbone": {"MobileNetv2": {}}, "sequential": [...]}, ...})
# [Problem(path=('model', 'backbone'), message="unknown keras.applications model 'MobileNetv2'
#   (did you mean 'MobileNetV2'?)", ...)]
```
"""

from __future__ import annotations

import functools
import json
from typing import Any

from dlflow.config.hub_backbone_check import HUB_BACKBONE, check_hub_backbone, resolve_hub_preset
from dlflow.config.make_applications import APPLICATIONS_PATH
from dlflow.config.problems import Problem, describe_value, did_you_mean

# Arguments of an application that dlflow sets itself, and why the config cannot.
SET_BY_DLFLOW = {
    "include_top": "is always false: the head is model.sequential, stacked on the backbone's features",
    "input_shape": "comes from the data (data.image.size and color_mode)",
    "input_tensor": "comes from the data (data.image.size and color_mode)",
    "classes": "belongs to ImageNet's classifier (include_top), which dlflow leaves out; the head is model.sequential",
    "classifier_activation": "belongs to ImageNet's classifier (include_top), which dlflow leaves out",
    "name": "is always 'backbone' (fit.phases finds the backbone by it)",
}
WEIGHT_SUFFIXES = (".weights.h5", ".h5")


@functools.lru_cache(maxsize=1)
def applications() -> dict[str, dict[str, Any]]:
    """The `keras.applications` models by name: module, args, min_size, rgb_only."""
    return json.loads(APPLICATIONS_PATH.read_text())["applications"]


def backbone_parts(spec: Any) -> tuple[str, dict[str, Any]]:
    """(application name, its keyword arguments) of a `model.backbone` value."""
    if isinstance(spec, str):
        return spec, {}
    name, kwargs = next(iter(spec.items()))
    if name == HUB_BACKBONE and not isinstance(kwargs, dict):  # {keras_hub: <preset>}
        return name, {"preset": kwargs}
    return name, dict(kwargs or {})


def check_backbone(raw: dict) -> list[Problem]:
    """The problems of a raw config's `model.backbone` (none when it has no backbone)."""
    model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    spec = model.get("backbone")
    path = ("model", "backbone")
    if spec is None or not (isinstance(spec, str) or (isinstance(spec, dict) and len(spec) == 1)):
        return []  # absent, or a shape pydantic reports
    problems = []
    if model.get("sequential") is None:
        problems.append(
            Problem(
                path,
                "a backbone's head is model.sequential (the layers stacked on its features); "
                "model.functional and model.factory take no backbone",
            )
        )
    if isinstance(spec, dict) and HUB_BACKBONE in spec:  # a KerasHub preset: dlflow.config.hub_backbone_check
        return problems + check_hub_backbone(spec[HUB_BACKBONE])
    if isinstance(spec, dict) and not isinstance(next(iter(spec.values())), (dict, type(None))):
        name, value = next(iter(spec.items()))
        return [
            *problems,
            Problem(
                (*path, name),
                f"expected the arguments of {name} as a mapping, received {describe_value(value)}",
                value=True,
            ),
        ]
    return problems + _application_problems(raw, spec)


def _application_problems(raw: dict, spec: Any) -> list[Problem]:
    """The problems of a keras.applications backbone: its name, arguments, weights and image size."""
    path = ("model", "backbone")
    problems: list[Problem] = []
    name, kwargs = backbone_parts(spec)
    known = applications()
    if name not in known:
        anchor = path if isinstance(spec, str) else (*path, name)
        return [
            Problem(
                path,
                f"unknown keras.applications model {name!r}{did_you_mean(name, known)}",
                anchor=anchor,
                value=isinstance(spec, str),
            )
        ]
    info = known[name]
    for argument, value in kwargs.items():
        where = (*path, name, argument)
        if argument in SET_BY_DLFLOW:
            if not (argument == "include_top" and value is False):
                problems.append(Problem(where, f"{argument} {SET_BY_DLFLOW[argument]}; remove it"))
        elif argument not in info["args"]:
            allowed = [a for a in info["args"] if a not in SET_BY_DLFLOW]
            problems.append(
                Problem(
                    where,
                    f"{name} takes no argument {argument!r}{did_you_mean(argument, allowed)}; "
                    f"it takes: {', '.join(allowed)}",
                )
            )
    weights = kwargs.get("weights", "imagenet")
    named_file = isinstance(weights, str) and weights.endswith(WEIGHT_SUFFIXES)
    if not (weights is None or weights == "imagenet" or named_file):
        problems.append(
            Problem(
                (*path, name, "weights"),
                f"expected imagenet, null or the path of a weights file "
                f"(.weights.h5 or .h5), received {describe_value(weights)}",
                value=True,
            )
        )
    problems += _size_problems(raw, name, info, weights)
    return problems


def _size_problems(raw: dict, name: str, info: dict[str, Any], weights: Any) -> list[Problem]:
    """The configured image size against the application's minimum, and the channels it needs."""
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    image = data.get("image") if isinstance(data.get("image"), dict) else {}
    problems = []
    size = image.get("size")
    minimum = info.get("min_size")
    if minimum and isinstance(size, list) and all(isinstance(s, int) for s in size) and min(size) < minimum:
        problems.append(
            Problem(
                ("data", "image", "size"),
                f"{name} needs images of at least {minimum}x{minimum}, received {size[0]}x{size[1]}",
                value=True,
            )
        )
    if image.get("color_mode") in ("grayscale", "rgba") and (weights is not None or info.get("rgb_only")):
        why = "its ImageNet weights expect" if weights is not None else "its preprocess_input expects"
        problems.append(
            Problem(
                ("data", "image", "color_mode"),
                f"{name}: {why} 3 channels (rgb), received {image['color_mode']}; set color_mode: rgb",
                value=True,
            )
        )
    return problems


def weights_path(spec: Any) -> str | None:
    """The weights file a `model.backbone` value names, if any (None for imagenet or null)."""
    if spec is None or (isinstance(spec, dict) and HUB_BACKBONE in spec):
        return None
    _, kwargs = backbone_parts(spec)
    weights = kwargs.get("weights")
    return weights if isinstance(weights, str) and weights != "imagenet" else None


def resolve_weights_path(model: Any, resolve: Any) -> None:
    """Make the weights file of a validated `model` section's backbone absolute with `resolve(path)`."""
    if isinstance(model.backbone, dict) and HUB_BACKBONE in model.backbone:  # a preset directory
        model.backbone = {HUB_BACKBONE: resolve_hub_preset(model.backbone[HUB_BACKBONE], resolve)}
        return
    path = weights_path(model.backbone)
    if path is not None:
        name, kwargs = backbone_parts(model.backbone)
        model.backbone = {name: {**kwargs, "weights": resolve(path)}}


def backbone_pretrained(spec: Any) -> bool:
    """Whether a `model.backbone` value loads trained weights (imagenet, a file, a KerasHub preset's)."""
    if spec is None:
        return False
    name, kwargs = backbone_parts(spec)
    if name == HUB_BACKBONE:
        return kwargs.get("load_weights", True) is not False
    return kwargs.get("weights", "imagenet") is not None
