"""The data card: what `dlflow collect` learns about an experiment's data before any model sees it.

Kind and task; every input with its tensor rank, shape and dtype; split sizes; class balance per
part; missing values per column; exact duplicates across parts; column types (inferred or
given); and warnings with advice: class imbalance, constant columns, columns that leak the
target, duplicates across parts, mostly-missing columns. Statistics that could guide modelling
choices (constant columns, leaks) look at the training split only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlflow.config.task_kinds import is_classification
from dlflow.data.dataset import Dataset
from dlflow.data.missing import missing_mask

IMBALANCE_RATIO = 0.25  # a class this many times rarer than the most frequent one is a warning
MOSTLY_MISSING = 0.5  # a column missing this often is a warning
LEAK_MAX_DISTINCT_SHARE = 0.5  # a lookup-style leak needs values shared by rows (not an identifier)
LEAK_CORRELATION = 0.999  # a numeric column this correlated with a regression target leaks it


def data_card(
    dataset: Dataset, split: Any, *, train: Dataset | None = None, cv: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The data card of a data set and its frozen split, as a JSON-ready dict.

    Args:
        dataset: the loaded data (for a streamed table, its training sample; `dataset.info`
            then carries the counts of the pass over the file).
        split: its frozen split (`Split` or `HashSplit`).
        train: the training split (taken from `dataset` when None).
        cv: the K-fold plan to show (see `kfold_plan`), or None.
    """
    streamed = bool(dataset.info.get("streamed"))
    if train is None:
        train = dataset if streamed else dataset.take(split.train)
    sizes = split.sizes()
    rows = int(dataset.info.get("rows") or sum(sizes.values()))
    types = dataset.info.get("column_types") or {}
    inferred = set(dataset.info.get("inferred_types") or [])
    card: dict[str, Any] = {
        "source": dataset.source,
        "kind": dataset.kind,
        "task": dataset.task,
        "rows": rows,
        "streamed": streamed,
        "fingerprint": split.fingerprint,
        "inputs": [_input_entry(spec, types, inferred) for spec in dataset.input_specs.values()],
        "targets": [spec.describe() for spec in dataset.target_specs.values()],
        "split": split.describe(),
        "class_balance": class_balance(dataset, split),
    }
    if types:
        card["column_types"] = {c: {"type": t, "inferred": c in inferred} for c, t in types.items()}
    card["missing"] = {
        c: {"count": int(n), "share": round(n / rows, 4) if rows else 0.0}
        for c, n in (dataset.info.get("missing") or {}).items()
    }
    if "missing_policy" in dataset.info:
        card["missing_policy"] = dataset.info["missing_policy"]
    for key in ("cache", "skipped_files"):  # image folders: how images are kept, which files were left out
        if key in dataset.info:
            card[key] = dataset.info[key]
    card["duplicates"] = split.duplicates if split.duplicates is not None else {"checked": False}
    if cv is not None:
        card["cv"] = cv
    card["warnings"] = warnings(card, train)
    return card


def class_balance(dataset: Dataset, split: Any) -> dict[str, dict[str, dict[str, int]]]:
    """Samples per class, per part, for each classification target (positives per label for multilabel)."""
    if dataset.info.get("class_counts") is not None:
        return dataset.info["class_counts"]
    out: dict[str, dict[str, dict[str, int]]] = {}
    for name, spec in dataset.target_specs.items():
        if spec.task == "regression" or spec.classes is None:
            continue
        values = np.asarray(dataset.targets[name])
        out[name] = {}
        for part in ("train", "validation", "test"):
            part_values = values[getattr(split, part)]
            if spec.task == "multilabel":
                counts = part_values.reshape(len(part_values), -1).sum(axis=0)
            else:
                codes = part_values.reshape(-1).astype(np.int64)
                counts = np.bincount(codes, minlength=len(spec.classes))
            out[name][part] = {str(label): int(n) for label, n in zip(spec.classes, counts)}
    return out


def kfold_plan(split: Any, dataset: Dataset, *, folds: int, repeats: int = 1) -> dict[str, Any]:
    """The folds `kfold_splits` would draw: sizes per fold, after checking K-fold is possible."""
    from dlflow.data.kfold import kfold_splits

    sizes = [
        {"train": int(len(t)), "validation": int(len(v))}
        for t, v in kfold_splits(split, dataset, folds=folds, repeats=repeats)
    ]
    return {"folds": folds, "repeats": repeats, "pool": "train + validation (never test)", "fold_sizes": sizes}


def warnings(card: dict[str, Any], train: Dataset) -> list[dict[str, str]]:
    """Problems worth fixing before modelling, each with advice."""
    found: list[dict[str, str]] = []
    for target, parts in card["class_balance"].items():
        counts = parts.get("train", {})
        if len(counts) >= 2 and max(counts.values()) > 0:
            rarest = min(counts, key=counts.get)
            commonest = max(counts, key=counts.get)
            ratio = counts[rarest] / counts[commonest]
            if ratio < IMBALANCE_RATIO:
                total = sum(counts.values())
                found.append(
                    _warning(
                        "imbalance",
                        f"target '{target}': class '{rarest}' is {counts[rarest] / total:.1%} of the "
                        f"training samples, '{commonest}' {counts[commonest] / total:.1%}",
                        "set fit.class_weight: balanced, and judge the model by per-class recall or AUC rather "
                        "than accuracy",
                        target=target,
                    )
                )
    duplicates = card["duplicates"]
    across = {k: duplicates.get(k, 0) for k in ("train_validation", "train_test", "validation_test")}
    if any(across.values()):
        found.append(
            _warning(
                "duplicates",
                "samples with exactly the inputs of a sample in another part: "
                + ", ".join(f"{k.replace('_', '/')} {n}" for k, n in across.items() if n),
                "the test score is optimistic for those samples; deduplicate the data before it is split "
                "(e.g. drop_duplicates on the feature columns)",
            )
        )
    for column, entry in card["missing"].items():
        if entry["share"] >= MOSTLY_MISSING:
            found.append(
                _warning(
                    "mostly_missing",
                    f"column '{column}' is missing in {entry['share']:.0%} of the rows",
                    f"set data.features.{column}: ignore, unless its absence itself carries signal",
                    column=column,
                )
            )
    found += _column_warnings(train)
    return found


def _column_warnings(train: Dataset) -> list[dict[str, str]]:
    """Constant columns and columns that leak the target, on the training split."""
    found: list[dict[str, str]] = []
    if len(train) == 0:
        return found
    targets = {name: _raw_target(train, name) for name in train.target_specs}
    for name, spec in train.input_specs.items():
        if len(spec.shape) > 1 or not isinstance(train.inputs[name], np.ndarray):
            continue  # images, sequences, documents read from files: not a column
        values = np.asarray(train.inputs[name])
        if values.ndim > 2 or (values.ndim == 2 and values.shape[1] != 1):
            continue  # images, sequences: not a column
        values = values.reshape(-1)
        present = ~missing_mask(values)
        column = spec.column or name
        distinct = np.unique(values[present].astype(str) if values.dtype == object else values[present])
        if len(distinct) <= 1:
            shown = (
                repr(distinct[0].item() if hasattr(distinct[0], "item") else distinct[0]) if len(distinct) else "none"
            )
            found.append(
                _warning(
                    "constant",
                    f"column '{column}' has a single value ({shown}) in the training split; it carries no signal",
                    f"set data.features.{column}: ignore",
                    column=column,
                )
            )
            continue
        for target, (task, truth) in targets.items():
            how = _leak(values[present], truth[present], task, spec.role)
            if how:
                found.append(
                    _warning(
                        "leak",
                        f"column '{column}' {how} target '{target}' on the training split",
                        f"check how '{column}' is recorded: a column computed from the target, or known only "
                        f"after the outcome, will not exist at prediction time; if so set data.features.{column}: "
                        f"ignore",
                        column=column,
                        target=target,
                    )
                )
    return found


def _leak(values: np.ndarray, truth: np.ndarray, task: str, role: str) -> str | None:
    """How a column gives the target away, or None: an exact copy, a lookup, or a perfect threshold."""
    if len(values) < 10 or task == "other":
        return None
    as_text = values.astype(str) if values.dtype == object else values
    if task != "regression":
        labels = truth.astype(str)
        if np.array_equal(np.asarray(values, dtype=str), labels):
            return "is an exact copy of"
        import pandas as pd

        frame = pd.DataFrame({"value": as_text, "label": labels})
        per_value = frame.groupby("value", sort=False)["label"].nunique()
        if len(per_value) <= LEAK_MAX_DISTINCT_SHARE * len(values) and (per_value == 1).all():
            return "determines"
        if role == "numeric" and values.dtype.kind == "f":
            order = np.argsort(values, kind="stable")
            changes = int((labels[order][1:] != labels[order][:-1]).sum())
            if changes == len(np.unique(labels)) - 1 and len(np.unique(values)) > len(np.unique(labels)):
                return "separates the classes of"  # one cut per class boundary: a perfect threshold
        return None
    if values.dtype.kind in "fiu" and truth.dtype.kind in "fiu":
        numbers, target = values.astype("float64"), truth.astype("float64").reshape(len(truth), -1)[:, 0]
        if np.array_equal(numbers, target):
            return "is an exact copy of"
        if numbers.std() > 0 and target.std() > 0:
            correlation = float(np.corrcoef(numbers, target)[0, 1])
            if abs(correlation) >= LEAK_CORRELATION:
                return f"is almost perfectly correlated (r = {correlation:.4f}) with"
    return None


def _raw_target(train: Dataset, name: str) -> tuple[str, np.ndarray]:
    spec = train.target_specs[name]
    values = np.asarray(train.targets[name])
    if is_classification(spec.task):
        return spec.task, np.asarray(spec.classes, dtype=object)[values.reshape(-1).astype(np.int64)]
    if spec.task == "regression" and values.ndim <= 2 and values.reshape(len(values), -1).shape[1] == 1:
        return spec.task, values.reshape(-1)
    return "other", np.zeros(len(values))


def _input_entry(spec: Any, types: dict[str, str], inferred: set[str]) -> dict[str, Any]:
    entry = spec.describe()
    column = spec.column or spec.name
    if column in types:
        entry["column_type"] = types[column]
        entry["inferred"] = column in inferred
    return entry


def _warning(kind: str, message: str, advice: str, **about: str) -> dict[str, str]:
    return {"kind": kind, **about, "message": message, "advice": advice}
