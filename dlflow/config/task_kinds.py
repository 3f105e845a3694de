"""The task kinds a config names (`task:`), and which of them predict one class per sample."""

from __future__ import annotations

from dlflow.choices import TASKS  # noqa: F401  (re-exported; the closed sets live in dlflow/choices.py)

CLASSIFICATION = ("binary", "multiclass")  # one class per sample (multilabel: a set of labels)


def is_classification(task: str | None) -> bool:
    """True for binary and multiclass tasks: each sample has one class (accuracy, confusion, stratify).

    Multilabel targets (a set of 0/1 labels per sample) and regression are not.
    """
    return task in CLASSIFICATION
