"""The config `dlflow define` writes: commented YAML, every section saying what it does and why."""

from __future__ import annotations

import os
from typing import Any

from dlflow.config.task_kinds import is_classification
from dlflow.workflow.baselines import Baseline
from dlflow.workflow.scores import format_score, primary_metric
from dlflow.workflow.starter import flow, item, line, loss_for, metrics_for

VALIDATION, TEST = 0.15, 0.15  # the split define writes


def config_text(
    dataset: Any,
    starter: Any,
    *,
    name: str,
    source: str,
    fmt: str,
    given_format: bool,
    target: Any,
    task_given: bool,
    seed: int,
    baseline: Baseline | None,
    extra: dict[str, Any] | None = None,
) -> str:
    """The commented config for a data set: every section says what it does and why.

    Args:
        dataset: the data set.
        starter: its starter model (`dlflow.workflow.starter.starter_model`).
        extra: `data:` options define chose (image, window, features), as plain data.
    """
    spec = next(iter(dataset.target_specs.values()))
    several = len(dataset.target_specs) > 1
    lines = [
        f"# {describe_data(dataset)}: {_framing(dataset)}.",
        "# Written by `dlflow define`. Next: `dlflow develop` on this file (baselines, an overfit check",
        "# on a few batches, a full run, a verdict), then `dlflow train`; `dlflow evaluate` at the very end.",
        line(0, f"name: {flow(name)}", f"runs go to runs/{name}/<run-id>/"),
        line(0, f"seed: {seed}", "one seed for Python, NumPy, TensorFlow, the split and the shuffles"),
    ]
    if not several:
        lines.append(line(0, f"task: {dataset.task}", "as given" if task_given else _task_reason(dataset, spec)))
    lines += _data_lines(
        dataset, starter, source=source, fmt=fmt, given_format=given_format, target=target, extra=extra or {}
    )
    lines += [""] + _baseline_comment(baseline) + [""] + starter.model + [""]
    return "\n".join(lines + _compile_fit_lines(spec, several, starter))


def _data_lines(
    dataset: Any, starter: Any, *, source: str, fmt: str, given_format: bool, target: Any, extra: dict[str, Any]
) -> list[str]:
    """The `data:` section: source, format, target, column types, options, split, missing values, augment."""
    source_comment = (
        "bundled: no download"
        if source.startswith("builtin:")
        else None
        if os.path.isabs(source)
        else "relative to this file's folder"
    )
    lines = ["", "data:", line(2, f"source: {flow(source)}", source_comment)]
    if given_format:
        lines.append(line(2, f"format: {fmt}", "not auto-detected from the file name"))
    if target is not None:
        folders = fmt in ("image_dir", "text_dir")
        lines.append(
            line(
                2,
                f"target: {flow(target)}",
                "the target's name; sub-folders are its labels" if folders else "what to predict",
            )
        )
    elif fmt in ("image_dir", "text_dir"):
        lines.append("  # target: the class sub-folders' names are the labels")
    types = dataset.info.get("column_types") if dataset.kind == "tabular" else None
    if types:
        lines.append("  # Column types as inferred; change any to numeric, categorical, text or ignore.")
        lines += ["  " + part for part in _folded({"features": types})]
    lines += _option_lines(extra) + starter.data + _split_lines(dataset)
    if dataset.kind == "tabular":
        lines.append(line(2, "missing: {numeric: mean, categorical: most_frequent}", "fill missing values (or: error)"))
    if dataset.kind == "image":
        lines += [
            "  # augment: Keras layers active while training only; add them once the model overfits, e.g.",
            "  #   augment: [{RandomFlip: {mode: horizontal}}, {RandomRotation: {factor: 0.1}}]",
            "  # (only where a flipped or turned image keeps its label).",
        ]
    return lines


def _option_lines(extra: dict[str, Any]) -> list[str]:
    """The `data:` options define chose: image size, time-series window, the time column's role."""
    lines = []
    if extra.get("image"):
        lines.append(line(2, "image: " + flow(extra["image"]), "every image resized and converted to this"))
    if extra.get("window"):
        steps = extra["window"]["length"]
        lines += [
            line(2, "window: " + flow(extra["window"]), f"each sample: {steps} steps; forecast 1 step ahead"),
            "  # Windows that straddle the split's boundaries are dropped, so no row leaks across parts.",
        ]
    if extra.get("features"):
        lines.append(line(2, "features: " + flow(extra["features"]), "the time axis orders the rows; not a feature"))
    return lines


def _split_lines(dataset: Any) -> list[str]:
    """`data.split`: chronological for ordered data, stratified for one class target."""
    several = len(dataset.target_specs) > 1
    spec = next(iter(dataset.target_specs.values()))
    stratify = is_classification(spec.task) and not several and not dataset.ordered
    split_comment = (
        "chronological: train, then validation, then test"
        if dataset.ordered
        else "stratified: each class keeps its share in every part"
        if stratify
        else None
    )
    return [
        "  # The split is frozen per experiment (runs/<name>/split.npz): every run sees the same test set,",
        "  # and only `dlflow evaluate` reads it.",
        line(2, "split: " + flow({"validation": VALIDATION, "test": TEST, "stratify": stratify}), split_comment),
    ]


def _compile_fit_lines(spec: Any, several: bool, starter: Any) -> list[str]:
    """The `compile:`, `fit:` and `runtime:` sections."""
    lines = [
        "compile:",
        line(2, "optimizer: {Adam: {learning_rate: 1.0e-3}}", "Adam's default; the overfit check says if it is off"),
    ]
    if several:
        lines.append("  # loss and metrics default per output from its task")
    else:
        lines += [
            line(2, f"loss: {loss_for(spec.task)}", "matches the task and the last layer"),
            line(
                2,
                f"metrics: {flow(metrics_for(spec.task))}",
                f"{primary_metric(spec.task)}: what the baselines are compared on",
            ),
        ]
    return lines + [
        "",
        "fit:",
        line(2, f"epochs: {starter.epochs}", "an upper bound: EarlyStopping ends sooner"),
        line(2, "batch_size: 32"),
        line(2, "monitor: val_loss", '"best" for checkpoints/best.keras and model.keras'),
        line(2, "callbacks:", "after dlflow's own (checkpoints, TensorBoard, CSV log, NaN guard)"),
        line(
            4,
            item(
                {"EarlyStopping": {"monitor": "val_loss", "patience": starter.patience, "restore_best_weights": True}}
            ),
            "keeps the best epoch's weights",
        ),
        "",
        "runtime:",
        line(2, "device: auto", "a GPU when there is one"),
        line(2, "mixed_precision: auto", "mixed_float16 on GPUs that gain from it"),
        "",
    ]


def describe_data(dataset: Any) -> str:
    """One line about the data: its kind, size and inputs."""
    n = len(dataset)
    specs = list(dataset.input_specs.values())
    if dataset.kind == "tabular":
        roles: dict[str, int] = {}
        for spec in specs:
            roles[spec.role] = roles.get(spec.role, 0) + 1
        columns = ", ".join(f"{count} {role}" for role, count in roles.items())
        return f"A table of {n} rows ({columns} column{'s' if len(specs) != 1 else ''})"
    if dataset.kind == "image":
        return f"{n} images of {'x'.join(map(str, specs[0].shape))}"
    if dataset.kind == "text":
        return f"{n} text documents"
    if dataset.kind == "timeseries":
        return f"{n} windows of a time series ({'x'.join(map(str, specs[0].shape))} each)"
    shapes = ", ".join(f"{s.name} {'x'.join(map(str, s.shape))}" for s in specs)
    return f"{n} samples of arrays ({shapes})"


def _framing(dataset: Any) -> str:
    parts = []
    for name, spec in dataset.target_specs.items():
        if spec.task == "regression":
            parts.append(f"regression of '{name}'")
        elif spec.task == "multilabel":
            parts.append(f"multilabel classification of {spec.units} labels")
        else:
            parts.append(f"{spec.task} classification of '{name}' ({len(spec.classes or ())} classes)")
    return "; ".join(parts)


def _task_reason(dataset: Any, spec: Any) -> str:
    if spec.task == "regression":
        return f"inferred: '{spec.name}' holds numbers"
    if spec.task == "multilabel":
        return f"inferred: {spec.units} 0/1 labels per sample"
    shown = ", ".join(map(str, (spec.classes or ())[:4])) + (", ..." if len(spec.classes or ()) > 4 else "")
    return f"inferred: {len(spec.classes or ())} classes ({shown})"


def _baseline_comment(baseline: Baseline | None) -> list[str]:
    if baseline is None or baseline.score is None:
        return ["# The baseline to beat: run `dlflow develop` to score the common-sense and shallow baselines."]
    score = format_score(baseline.metric, baseline.score)
    return [
        f"# The baseline to beat: {baseline.name} scores {baseline.metric} {score} on the validation",
        "# split. `dlflow develop` also fits shallow scikit-learn models and checks the model beats them.",
    ]


def _folded(mapping: dict[str, Any], width: int = 96) -> list[str]:
    """`key: {...}` in flow style, folded over lines when long (valid YAML)."""
    import yaml

    folded = yaml.safe_dump(mapping, default_flow_style=None, width=width, sort_keys=False)
    return folded.rstrip("\n").splitlines()
