"""`data.target: none`: data without a target, for models that learn from their inputs alone (GAN, VAE).

Images (a folder, with or without class sub-folders, or a built-in), text folders and .npz
arrays can be loaded without a target: the Dataset has no targets, its task is `none` and the
tf.data pipeline yields the inputs alone, so a model's own `train_step(data)` gets `x`, as
Keras's GAN and VAE examples expect. Only a `model.factory` whose model has its own training
loop can learn from such data; what needs a target (a task, class weights, target scaling,
baselines, evaluate's metrics) is refused or skipped with a reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dlflow.errors import ConfigError, DataError

NO_TARGET = "none"  # the value of `data.target` (and the Dataset's task) for data without a target
KINDS = ("image", "text", "arrays")  # the kinds that can be loaded without a target


def wants_no_target(data: Any) -> bool:
    """Whether the config's `data:` section asks for data without a target (`target: none`)."""
    return getattr(data, "target", None) == NO_TARGET


def check_no_target_options(data: Any, task: str | None) -> None:
    """Refuse the options that need a target when `data.target: none` (they could not take effect)."""
    if task is not None:
        raise ConfigError(
            f"a task ({task}) needs a target, and data.target: none has none; remove task", config_path=("task",)
        )
    if data.target_scaling == "standardize":
        raise ConfigError(
            "standardize needs a regression target, and data.target: none has none; remove it",
            config_path=("data", "target_scaling"),
        )


def without_target(dataset: Any) -> Any:
    """The dataset with its targets dropped (a class folder's labels, a built-in's classes)."""
    if dataset.kind not in KINDS:
        raise DataError(
            f"{dataset.source}: data.target: none applies to images, text folders and .npz arrays; "
            f"{dataset.kind} data needs a target column",
            config_path=("data", "target"),
        )
    info = {k: v for k, v in dataset.info.items() if k not in ("classes", "per_class")}
    return replace(dataset, targets={}, target_specs={}, info={**info, "target": NO_TARGET})


def require_target(dataset: Any, what: str) -> None:
    """Raise a ConfigError at data.target when `what` (e.g. "a sequential model") needs the target the data lacks."""
    if not dataset.target_specs:
        raise ConfigError(
            f"none leaves the data without a target, which {what} needs; only a "
            f"model.factory whose model has its own train_step (a GAN, a VAE) learns from inputs alone",
            config_path=("data", "target"),
        )
