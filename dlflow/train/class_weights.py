"""`fit.class_weight`: `balanced` or `{class: weight}` as the `{index: weight}` Keras's fit takes."""

from __future__ import annotations

from typing import Any

from dlflow.config.task_kinds import is_classification
from dlflow.errors import ConfigError


def class_weights(setting: Any, train: Any) -> dict[int, float] | None:
    """Keras's class_weight for a single binary or multiclass target, from the config's setting.

    Args:
        setting: None, `balanced` (inverse class frequency in `train`), or `{class label: weight}`.
        train: the training split.

    Raises:
        ConfigError: another task or several targets, or a label that is not a class.
    """
    if setting is None:
        return None
    if len(train.target_specs) != 1 or not is_classification(train.task):
        raise ConfigError(
            "class_weight needs a single binary or multiclass target", config_path=("fit", "class_weight")
        )
    import numpy as np

    labels = np.asarray(next(iter(train.targets.values()))).reshape(-1).astype(int)
    spec = next(iter(train.target_specs.values()))
    if setting == "balanced":
        from sklearn.utils.class_weight import compute_class_weight

        present = np.unique(labels)
        weights = compute_class_weight("balanced", classes=present, y=labels)
        return {int(c): float(w) for c, w in zip(present, weights, strict=True)}
    index = {str(label): i for i, label in enumerate(spec.classes)}
    out = {i: 1.0 for i in range(len(spec.classes))}  # a class not listed weighs 1 (Keras's fit needs them all)
    for label, weight in setting.items():
        if str(label) not in index:
            raise ConfigError(
                f"unknown class '{label}'; classes are: {', '.join(map(str, spec.classes))}",
                config_path=("fit", "class_weight", label),
            )
        out[index[str(label)]] = float(weight)
    return out
