"""Which way a monitored value improves: one rule for checkpoints, early stopping, tuning and verdicts."""

from __future__ import annotations


def monitor_mode(monitor: str) -> str:
    """'max' for accuracy-like metrics, 'min' for losses and errors (Keras's own rule)."""
    name = monitor.removeprefix("val_")
    if any(word in name for word in ("acc", "auc", "precision", "recall", "f1", "iou", "r2")):
        return "max"
    return "min"
