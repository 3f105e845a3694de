"""The evaluate stage: score the pristine test split once the work is done."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dlflow.config.task_kinds import is_classification
from dlflow.errors import DataError, UsageError
from dlflow.log import Log, quiet
from dlflow.runs.lock import run_lock
from dlflow.runs.manifest import now_iso, read_json, update_manifest, write_json
from dlflow.workflow.opened_run import load_run_model, open_run

SLICE_BINS = 4  # a numeric slice column is cut into this many quantile bins


def evaluate(
    run_ref: str,
    *,
    runs_root: Path = Path("runs"),
    slice_by: Sequence[str] = (),
    log: Log = quiet,
    trust_code: bool = False,
) -> dict[str, Any]:
    """Evaluate a run's model on the experiment's test split; writes evaluation.json.

    Args:
        run_ref: a run directory or experiment name (its latest completed train run).
        slice_by: input columns to group the test samples by; metrics per group show gaps
            between groups (numeric columns are cut into quantile bins).

    Returns:
        The evaluation: metrics on the test split, for classification a confusion matrix and
        per-class precision/recall/F1, for regression the error distribution, and per-slice
        metrics when asked.
    """
    opened = open_run(run_ref, runs_root, log, trust_code=trust_code, as_is_needs="test_step")
    as_is = bool(opened.manifest.get("fitted_as_is"))  # its own test_step: its own losses, no predictions
    if slice_by and as_is:
        raise UsageError(
            f"{opened.run.path}: --slice-by groups predictions by dlflow's outputs, which a model "
            f"fitted as it is does not have"
        )
    with run_lock(opened.run):  # one writer per run directory
        run, data, config = opened.run, opened.data, opened.loaded.config
        test = data.test()
        if len(test) == 0:
            raise UsageError(f"{run.path}: the experiment has no test split (data.split.test is 0)")
        scores, predictions = _score(load_run_model(opened), test, config, predict=not as_is)
        result: dict[str, Any] = {
            "run": str(run.path),
            "split": "test",
            "samples": len(test),
            "metrics": {k: float(v) for k, v in scores.items()},
            "evaluated": now_iso(),
        }
        if predictions is not None:
            outputs = predictions if isinstance(predictions, dict) else {next(iter(test.target_specs)): predictions}
            result["targets"] = {
                name: _target_report(spec, test.targets[name], np.asarray(outputs[name]))
                for name, spec in test.target_specs.items()
                if name in outputs
            }
        if slice_by:
            result["slices"] = {column: _slices(test, column, outputs) for column in slice_by}
        _record(run, result, log)
    return result


def _score(model: Any, test: Any, config: Any, *, predict: bool) -> tuple[dict[str, Any], Any]:
    """The model's own metrics on the test split, and its predictions (None when not `predict`)."""
    import contextlib
    import sys

    from dlflow.data.image_stream import naming_bad_images
    from dlflow.data.pipeline import to_tf_dataset

    dataset = to_tf_dataset(test, batch_size=config.fit.batch_size, shuffle=False, seed=config.seed)
    with contextlib.redirect_stdout(sys.stderr), naming_bad_images(test):
        scores = model.evaluate(dataset, verbose=0, return_dict=True)
        predictions = model.predict(dataset, verbose=0) if predict else None
    return scores, predictions


def _record(run: Any, result: dict[str, Any], log: Log) -> None:
    """Count this look at the test split (a warning from the second), write evaluation.json, track it."""
    manifest = read_json(run.manifest)
    looks = int(manifest.get("test_evaluations", 0)) + 1
    result["test_evaluations"] = looks
    if looks > 1:
        result["warning"] = (
            f"the test split has now been evaluated {looks} times for this run: it is no "
            f"longer an unbiased estimate if those results guided any change"
        )
    write_json(run.evaluation, result)
    update_manifest(run.manifest, test_evaluations=looks, last_evaluated=result["evaluated"])
    if (manifest.get("mlflow") or {}).get("run_id"):
        _track_evaluation(manifest["mlflow"], result, run.evaluation, log)


def _track_evaluation(recorded: dict[str, Any], result: dict[str, Any], path: Path, log: Log) -> None:
    """Log the evaluation to the run's MLflow run; evaluation.json is written already, so a failure only warns."""
    try:
        from dlflow.runs.mlflow_tracking import log_evaluation

        log_evaluation(recorded, result, path)
    except Exception as exc:  # noqa: BLE001 - an unreachable store, or mlflow gone, must not undo the evaluation
        log(
            f"warning: the evaluation was not logged to MLflow run {recorded['run_id']} at {recorded.get('uri')}: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        )
        return
    log(f"mlflow: evaluation logged to run {recorded['run_id']}")


def _target_report(spec: Any, truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Confusion matrix and per-class scores (classification) or error distribution (regression)."""
    from dlflow.data.tasks import decode_predictions

    if is_classification(spec.task):
        from sklearn.metrics import classification_report, confusion_matrix

        labels, _ = decode_predictions(spec, predicted)
        classes = list(spec.classes)
        true_labels = np.asarray(classes, dtype=object)[np.asarray(truth).reshape(-1).astype(int)]
        names = [str(c) for c in classes]
        matrix = confusion_matrix([str(x) for x in true_labels], [str(x) for x in labels], labels=names)
        report = classification_report(
            [str(x) for x in true_labels], [str(x) for x in labels], labels=names, output_dict=True, zero_division=0
        )
        return {
            "task": spec.task,
            "classes": names,
            "confusion_matrix": matrix.tolist(),
            "per_class": {n: {k: float(v) for k, v in report[n].items()} for n in names},
            "accuracy": float(np.mean(true_labels.astype(str) == np.asarray(labels).astype(str))),
        }
    if spec.task == "regression":
        errors = (predicted.reshape(len(predicted), -1) - np.asarray(truth).reshape(len(truth), -1)).reshape(-1)
        quantiles = np.quantile(np.abs(errors), [0.5, 0.9, 0.99]).tolist()
        return {
            "task": "regression",
            "mae": float(np.mean(np.abs(errors))),
            "rmse": float(np.sqrt(np.mean(errors**2))),
            "bias": float(np.mean(errors)),
            "abs_error_p50_p90_p99": quantiles,
        }
    return {"task": spec.task}


def _slices(test: Any, column: str, outputs: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per-group sample counts and scores of the first target, grouped by one input column."""
    from dlflow.data.tasks import decode_predictions

    key = next((n for n, spec in test.input_specs.items() if column in (n, spec.column)), None)
    if key is None:
        columns = ", ".join(spec.column or n for n, spec in test.input_specs.items())
        raise DataError(f"--slice-by {column}: not an input column; columns are: {columns}")
    if int(np.prod(test.input_specs[key].shape)) != 1:
        raise DataError(
            f"--slice-by {column}: expected a column with one value per sample, "
            f"received shape {test.input_specs[key].shape}"
        )
    values = np.asarray(test.inputs[key]).reshape(len(test), -1)
    values = values[:, 0]
    if values.dtype.kind == "f" and len(np.unique(values)) > SLICE_BINS * 2:
        edges = np.unique(np.quantile(values, np.linspace(0, 1, SLICE_BINS + 1)))
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
        names = [f"[{edges[b]:.4g}, {edges[b + 1]:.4g}]" for b in range(len(edges) - 1)]
        groups = np.array([names[b] for b in bins], dtype=object)
        order = [n for n in names if n in set(groups.tolist())]
    else:
        groups = values.astype(str)
        order = sorted(set(groups.tolist()))
    name, spec = next(iter(test.target_specs.items()))
    truth, predicted = np.asarray(test.targets[name]), np.asarray(outputs[name])
    out: dict[str, Any] = {}
    for group in order:
        mask = groups == group
        entry: dict[str, Any] = {"samples": int(mask.sum())}
        if is_classification(spec.task):
            labels, _ = decode_predictions(spec, predicted[mask])
            true_labels = np.asarray(spec.classes, dtype=object)[truth[mask].reshape(-1).astype(int)]
            entry["accuracy"] = float(np.mean(labels.astype(str) == true_labels.astype(str)))
        elif spec.task == "regression":
            errors = predicted[mask].reshape(int(mask.sum()), -1) - truth[mask].reshape(int(mask.sum()), -1)
            entry["mae"] = float(np.mean(np.abs(errors)))
        out[group] = entry
    metric = "accuracy" if is_classification(spec.task) else "mae"
    scores = [e[metric] for e in out.values() if metric in e]
    return {
        "target": name,
        "metric": metric,
        "groups": out,
        "gap": float(max(scores) - min(scores)) if len(scores) > 1 else 0.0,
    }
