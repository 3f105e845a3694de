"""Defaults that depend on the data, settled once the training split is known.

Some config keys left out mean different things for different data: a text column's
`data.text.output_mode` (token ids for a text folder, one bag-of-words vector for a table's
column) and `data.target_scaling` (standardize regression targets, nothing for classes).
`model_choices` settles them; the train stage prints each default it applied and records it in
the run's manifest (`defaults`, and `target_scaling` with the moments used).

Target scaling: with `standardize`, every regression output gets a last, non-trainable
`Normalization(mean, variance, invert=True)` layer holding the target's training-split mean and
variance. The layers before it learn (y - mean) / std, values of order 1, whatever the target's
units; the model itself (its loss, metrics, history, checkpoints, `evaluate`, every export)
answers in the target's own units. The loss on raw values is the loss on standardized values
times a constant (variance for mse, std for mae), and Adam's updates are invariant to a constant
factor on the gradients, so what changes is only that the output layer starts at the right scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlflow.errors import ConfigError

TABLE_TEXT_MODE = "tf_idf"  # a table's text column, output_mode left out: one vector joined with the others
FOLDER_TEXT_MODE = "int"  # a text folder's documents, output_mode left out: token ids (Keras's default)


@dataclass(frozen=True)
class Default:
    """A config key the user left out, and what dlflow used for it and why."""

    path: str
    value: Any
    reason: str

    def line(self) -> str:
        """The stderr line that says so."""
        return f"default: {self.path}: {self.value} ({self.reason})"


@dataclass
class ModelChoices:
    """What the data settles about the model.

    Args:
        text_mode: TextVectorization's output_mode for text inputs.
        scaled: regression target name -> {"mean": [...], "variance": [...]} (training split).
        defaults: the defaults applied (to print and record).
    """

    text_mode: str = FOLDER_TEXT_MODE
    scaled: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    defaults: list[Default] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """For the manifest: the defaults applied and the target scaling's moments."""
        out: dict[str, Any] = {"defaults": {d.path: d.value for d in self.defaults}}
        out["target_scaling"] = {
            name: {"method": "standardize", "mean": m["mean"], "std": [float(np.sqrt(v)) for v in m["variance"]]}
            for name, m in self.scaled.items()
        }
        return out


def model_choices(config: Any, train: Any) -> ModelChoices:
    """Settle the data-dependent defaults for `config` on the training split `train`."""
    choices = ModelChoices()
    _text_mode(config, train, choices)
    _target_scaling(config, train, choices)
    return choices


def _text_mode(config: Any, train: Any, choices: ModelChoices) -> None:
    written = getattr(config.data.text, "output_mode", None)
    texts = [n for n, s in train.input_specs.items() if s.role == "text"]
    if written is not None:
        choices.text_mode = written
        return
    choices.text_mode = default_text_mode(train.kind)
    if train.kind == "tabular" and texts:
        choices.defaults.append(
            Default(
                "data.text.output_mode",
                TABLE_TEXT_MODE,
                f"a table's text column ({', '.join(texts)}) becomes one bag-of-words vector joined with the "
                f"other columns; write output_mode: int for token sequences of data.text.sequence_length",
            )
        )


def default_text_mode(kind: str) -> str:
    """TextVectorization's output_mode when data.text.output_mode is left out, for a data kind."""
    return TABLE_TEXT_MODE if kind == "tabular" else FOLDER_TEXT_MODE


def _target_scaling(config: Any, train: Any, choices: ModelChoices) -> None:
    written = config.data.target_scaling
    regression = [n for n, t in train.target_specs.items() if t.task == "regression"]
    if written == "standardize" and not regression:
        raise ConfigError(
            f"target_scaling: standardize applies to regression targets, and this data has none "
            f"(task: {train.task}); remove it or write none",
            config_path=("data", "target_scaling"),
        )
    if written == "none" or not regression:
        return
    own = _scaled_by_the_user(config, list(train.target_specs)) if written is None else {}
    for name in regression:
        if name not in own:
            choices.scaled[name] = target_moments(train.targets[name])
    if written is None and choices.scaled:
        choices.defaults.append(
            Default(
                "data.target_scaling",
                "standardize",
                f"the model learns {', '.join(choices.scaled)} standardized with the training split's mean and std "
                f"and answers in its own units; write target_scaling: none to fit raw values",
            )
        )
    if written is None and own:
        choices.defaults.append(
            Default(
                "data.target_scaling",
                "none" if not choices.scaled else f"none for {', '.join(own)}",
                "; ".join(
                    f"the output layer of {name} is your {layer}, which sets its scale" for name, layer in own.items()
                ),
            )
        )


def _scaled_by_the_user(config: Any, targets: list[str]) -> dict[str, str]:
    """Regression outputs whose last layer in the config is already a Rescaling or Normalization:
    target name -> class (a config written for raw targets, e.g. by an older `dlflow define`)."""
    from dlflow.model.resolve import split_spec

    model = config.model
    if model.api == "sequential":
        last = {targets[0]: split_spec(model.sequential[-1])[0]} if model.sequential and targets else {}
    elif model.api == "functional":
        nodes = {
            name: {k: v for k, v in model.functional.layers[name].items() if k != "inputs"}
            for name in model.functional.outputs
            if name in model.functional.layers
        }
        last = {name: split_spec(node)[0] for name, node in nodes.items() if node}
    else:
        return {}
    return {name: layer for name, layer in last.items() if layer in ("Rescaling", "Normalization")}


def target_moments(values: np.ndarray) -> dict[str, list[float]]:
    """Per-column mean and variance of a regression target (missing values left out; a
    constant column gets variance 1, so scaling leaves it as is)."""
    columns = np.asarray(values, dtype="float64").reshape(len(values), -1)
    mean = np.nanmean(columns, axis=0)
    variance = np.nanvar(columns, axis=0)
    variance = np.where(np.isfinite(variance) & (variance > 0), variance, 1.0)
    return {"mean": [float(m) for m in mean], "variance": [float(v) for v in variance]}


def scale_output(tensor: Any, name: str, moments: dict[str, list[float]]) -> Any:
    """The inverse standardization after a regression output: the layer named `name` (the target)."""
    import keras

    layer = keras.layers.Normalization(
        axis=-1, mean=moments["mean"], variance=moments["variance"], invert=True, dtype="float32", name=name
    )
    return layer(tensor)


def body_name(name: str, choices: ModelChoices | None) -> str:
    """The name of the user's output layer for target `name`: the target's name, or, when a scaling
    layer follows and takes that name, `<name>_standardized`."""
    return f"{name}_standardized" if choices is not None and name in choices.scaled else name
