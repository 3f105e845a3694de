"""Scores: the primary metric of a task, its direction and how it reads, from labels or model outputs.

Baselines, the overfit check, the model's score in `dlflow develop` and `dlflow define`'s
baseline all score on the same metric through these.
"""

from __future__ import annotations

import numpy as np

from dlflow.config.task_kinds import is_classification
from dlflow.data.dataset import Dataset, TargetSpec
from dlflow.train.monitoring import monitor_mode

PRIMARY_METRICS = {"binary": "accuracy", "multiclass": "accuracy", "multilabel": "binary_accuracy", "regression": "mae"}


def primary_metric(task: str) -> str:
    """The metric baselines and the model are compared on for a task."""
    return PRIMARY_METRICS[task]


def higher_is_better(metric: str) -> bool:
    """True for accuracies, False for errors (`monitor_mode`: one rule for every metric's direction)."""
    return monitor_mode(metric) == "max"


def format_score(metric: str, score: float | None) -> str:
    """A score as people read it: accuracies to 4 decimals, errors to 4 significant digits."""
    if score is None:
        return "-"
    return f"{score:.4g}" if metric == "mae" else f"{score:.4f}"


def is_better(metric: str, score: float | None, than: float | None) -> bool:
    """True when `score` is strictly better than `than` on `metric` (None is never better)."""
    if score is None or than is None or np.isnan(score):
        return False
    return score > than if higher_is_better(metric) else score < than


def primary_target(dataset: Dataset) -> tuple[str, TargetSpec]:
    """The first target: the one baselines are scored on when a data set has several."""
    return next(iter(dataset.target_specs.items()))


def score_predictions(task: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    """The primary metric of predicted labels (class indices, 0/1 matrices) or values.

    Args:
        task: binary, multiclass, multilabel or regression.
        truth: encoded targets (class indices, 0/1, or values).
        predicted: predictions in the same encoding.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if is_classification(task):
        return float(np.mean(truth.reshape(-1).astype(int) == predicted.reshape(-1).astype(int)))
    if task == "multilabel":
        return float(np.mean(truth.astype(int) == predicted.reshape(truth.shape).astype(int)))
    values = predicted.astype("float64")
    values = values.reshape(truth.shape) if values.size == truth.size else values
    return float(np.mean(np.abs(values - truth.astype("float64"))))


def predicted_labels(task: str, outputs: np.ndarray) -> np.ndarray:
    """Model outputs (probabilities or logits) as labels in the targets' encoding.

    Binary and multilabel outputs outside [0, 1] are read as logits (threshold 0).
    """
    outputs = np.asarray(outputs, dtype="float64")
    if task == "multiclass":
        return outputs.argmax(axis=-1)
    if task == "binary":
        if outputs.ndim == 2 and outputs.shape[-1] == 2:
            return outputs.argmax(axis=-1)
        p = outputs.reshape(len(outputs), -1)[:, -1]
        return (p >= _threshold(p)).astype(int)
    if task == "multilabel":
        return (outputs >= _threshold(outputs)).astype(int)
    return outputs


def score_outputs(spec: TargetSpec, truth: np.ndarray, outputs: np.ndarray) -> float:
    """A model's primary metric from its raw outputs on samples whose targets are `truth`."""
    return score_predictions(spec.task, truth, predicted_labels(spec.task, outputs))


def _threshold(values: np.ndarray) -> float:
    return 0.0 if values.size and (values.min() < 0.0 or values.max() > 1.0) else 0.5
