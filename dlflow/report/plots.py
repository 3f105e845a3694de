"""Plots of a run: learning curves from history.csv, the confusion matrix from evaluation.json."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dlflow.runs.history import read_history  # noqa: F401 - re-exported: the plots read it


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def overfitting_epoch(values: list[float]) -> int | None:
    """The 1-based epoch after which validation loss only got worse (None if it never turned up)."""
    clean = [v for v in values if not math.isnan(v)]
    if len(clean) < 3:
        return None
    best = min(range(len(values)), key=lambda i: values[i] if not math.isnan(values[i]) else math.inf)
    return best + 1 if best < len(values) - 1 else None


def learning_curves(history_csv: Path, out: Path, *, best_epoch: int | None = None) -> list[Path]:
    """One SVG per metric (loss first): training vs validation, best and overfitting epochs marked.

    Plain SVG text (dlflow.report.svg), so `dlflow train` spends milliseconds on its plots.
    """
    from dlflow.report.svg import line_chart
    from dlflow.runs.manifest import write_text

    columns = read_history(history_csv)
    epochs = [int(e) + 1 for e in columns.get("epoch", [])]
    metrics = [k for k in columns if k != "epoch" and not k.startswith("val_") and k != "learning_rate"]
    metrics.sort(key=lambda k: (k != "loss", k))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for metric in metrics:
        lines = [(f"training {metric}", columns[metric], "#1f77b4")]
        if f"val_{metric}" in columns:
            lines.append((f"validation {metric}", columns[f"val_{metric}"], "#ff7f0e"))
        marks = [(best_epoch, f"best epoch ({best_epoch})", "#2ca02c")] if best_epoch else []
        turn = overfitting_epoch(columns.get("val_loss", [])) if metric == "loss" else None
        if turn and turn != best_epoch:
            marks.append((turn, f"overfitting from {turn}", "#d62728"))
        path = out / f"curve_{metric}.svg"
        write_text(path, line_chart(f"{metric} by epoch", "epoch", metric, epochs, lines, marks))
        written.append(path)
    return written


def confusion_matrix_plot(name: str, classes: list[str], matrix: list[list[int]], out: Path) -> Path:
    """A PNG heat map of a confusion matrix (rows: true class, columns: predicted)."""
    plt = _pyplot()
    size = max(3.5, 0.45 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    peak = max((max(r) for r in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(
                j, i, str(value), ha="center", va="center", fontsize=8, color="white" if value > peak / 2 else "black"
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix: {name} (test)")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"confusion_{name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_evaluation(evaluation: dict[str, Any], out: Path) -> list[Path]:
    """Confusion matrices for every classification target of an evaluation.json."""
    return [
        confusion_matrix_plot(name, t["classes"], t["confusion_matrix"], out)
        for name, t in (evaluation.get("targets") or {}).items()
        if "confusion_matrix" in t
    ]
