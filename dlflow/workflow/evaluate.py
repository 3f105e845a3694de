"""The evaluate stage: score the pristine test split once the work is done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlflow.errors import UsageError
from dlflow.runs.manifest import now_iso, read_json, update_manifest, write_json
from dlflow.workflow.common import Log, quiet
from dlflow.workflow.runs import load_run_model, open_run


def evaluate(run_ref: str, *, runs_root: Path = Path("runs"), log: Log = quiet) -> dict[str, Any]:
    """Evaluate a run's model on the experiment's test split; writes evaluation.json.

    Returns:
        The evaluation: metrics on the test split, and for classification a confusion
        matrix and per-class precision/recall/F1.
    """
    from dlflow.data.pipeline import to_tf_dataset

    opened = open_run(run_ref, runs_root, log)
    run, data, config = opened.run, opened.data, opened.loaded.config
    test = data.test()
    if len(test) == 0:
        raise UsageError(f"{run.path}: the experiment has no test split (data.split.test is 0)")
    model = load_run_model(opened)
    dataset = to_tf_dataset(test, batch_size=config.fit.batch_size, shuffle=False, seed=config.seed)
    import contextlib
    import sys

    with contextlib.redirect_stdout(sys.stderr):
        scores = model.evaluate(dataset, verbose=0, return_dict=True)
        predictions = model.predict(dataset, verbose=0)
    result: dict[str, Any] = {"run": str(run.path), "split": "test", "samples": len(test),
                              "metrics": {k: float(v) for k, v in scores.items()}, "evaluated": now_iso()}
    outputs = predictions if isinstance(predictions, dict) else {next(iter(test.target_specs)): predictions}
    result["targets"] = {name: _target_report(spec, test.targets[name], np.asarray(outputs[name]))
                         for name, spec in test.target_specs.items() if name in outputs}
    manifest = read_json(run.manifest)
    looks = int(manifest.get("test_evaluations", 0)) + 1
    result["test_evaluations"] = looks
    if looks > 1:
        result["warning"] = (f"the test split has now been evaluated {looks} times for this run: it is no "
                             f"longer an unbiased estimate if those results guided any change")
    write_json(run.evaluation, result)
    update_manifest(run.manifest, test_evaluations=looks, last_evaluated=result["evaluated"])
    return result


def _target_report(spec: Any, truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Confusion matrix and per-class scores (classification) or error distribution (regression)."""
    from dlflow.data.tasks import decode_predictions

    if spec.task in ("binary", "multiclass"):
        from sklearn.metrics import classification_report, confusion_matrix

        labels, _ = decode_predictions(spec, predicted)
        classes = list(spec.classes)
        true_labels = np.asarray(classes, dtype=object)[np.asarray(truth).reshape(-1).astype(int)]
        names = [str(c) for c in classes]
        matrix = confusion_matrix([str(x) for x in true_labels], [str(x) for x in labels], labels=names)
        report = classification_report([str(x) for x in true_labels], [str(x) for x in labels], labels=names,
                                       output_dict=True, zero_division=0)
        return {"task": spec.task, "classes": names, "confusion_matrix": matrix.tolist(),
                "per_class": {n: {k: float(v) for k, v in report[n].items()} for n in names},
                "accuracy": float(np.mean(true_labels.astype(str) == np.asarray(labels).astype(str)))}
    if spec.task == "regression":
        errors = (predicted.reshape(len(predicted), -1) - np.asarray(truth).reshape(len(truth), -1)).reshape(-1)
        quantiles = np.quantile(np.abs(errors), [0.5, 0.9, 0.99]).tolist()
        return {"task": "regression", "mae": float(np.mean(np.abs(errors))),
                "rmse": float(np.sqrt(np.mean(errors ** 2))), "bias": float(np.mean(errors)),
                "abs_error_p50_p90_p99": quantiles}
    return {"task": spec.task}
