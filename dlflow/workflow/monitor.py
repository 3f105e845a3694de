"""The monitor stage: live inputs and predictions against the training split, thresholds from the config.

Live data is serve's prediction log (`<run>/serving/`, or `--log DIR`) or a file (`--data`,
which the model predicts on here). The reference is the run's training split (its frozen
split), turned into the log's columns (`dlflow.serve.logcolumns`); predicted classes are
compared with the model's predictions on the validation split. With labels, live accuracy is
compared with evaluation.json's.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from dlflow.config.task_kinds import is_classification
from dlflow.errors import DataError, UsageError
from dlflow.log import Log, quiet
from dlflow.monitor.drift import Thresholds, feature_drift, label_drift
from dlflow.serve.logcolumns import drift_features, log_columns
from dlflow.workflow.opened_run import load_run_model, open_run, run_signature

LOG_FOLDER = "serving"


def monitor(
    run_ref: str,
    *,
    log_dir: str | Path | None = None,
    data_file: str | Path | None = None,
    labels: str | Path | None = None,
    output: str | Path | None = None,
    runs_root: Path = Path("runs"),
    log: Log = quiet,
) -> dict[str, Any]:
    """Compare live data with the run's training split; write the HTML page; return the result.

    `result["alerts"]` lists every threshold crossed (the CLI exits 1 when it is not empty).
    """
    if log_dir is not None and data_file is not None:
        raise UsageError("give --log or --data, not both")
    opened = open_run(run_ref, runs_root, log)
    config, train = opened.loaded.config, opened.data.train
    limits = Thresholds(**config.monitor.model_dump(exclude={"accuracy_drop"}))
    specs, targets = list(train.input_specs.values()), list(train.target_specs.values())
    model = None
    if data_file is not None:
        model = load_run_model(opened)
        live, source = _predict_file(opened, model, Path(data_file), targets), str(data_file)
    else:
        folder = Path(log_dir) if log_dir is not None else opened.run.path / LOG_FOLDER
        live, source = read_log(folder), str(folder)
    rows = len(next(iter(live.values()))) if live else 0
    reference = drift_features(log_columns(train.inputs, specs), specs)
    current = drift_features(live, specs)
    features = {
        name: feature_drift(values, current.get(name, np.array([], dtype=values.dtype)), limits)
        for name, values in reference.items()
    }
    result: dict[str, Any] = {
        "run": str(opened.run.path),
        "source": source,
        "rows": rows,
        "thresholds": {**asdict(limits), "accuracy_drop": config.monitor.accuracy_drop},
        "features": features,
    }
    result["predictions"] = _prediction_drift(opened, model, live, targets, limits, log)
    if labels is not None:
        result["accuracy"] = _live_accuracy(
            opened, live, Path(labels), targets, by_id=data_file is None, drop=config.monitor.accuracy_drop
        )
    result["drifted_features"] = [name for name, f in features.items() if f["drifted"]]
    result["alerts"] = _alerts(result, rows, limits)
    out = Path(output) if output else opened.run.path / "monitor" / "report.html"
    result["report"] = str(_write_page(result, reference, current, out))
    return result


def read_log(folder: Path) -> dict[str, np.ndarray]:
    """Every row of a prediction log folder, as columns."""
    import pandas as pd
    import pyarrow.parquet as pq

    from dlflow.serve.predlog import FILE_GLOB

    if not folder.is_dir():
        raise UsageError(
            f"no prediction log folder '{folder}' (dlflow serve writes <run>/{LOG_FOLDER}/; "
            f"or give --log DIR or --data FILE)"
        )
    files = sorted(folder.glob(FILE_GLOB))
    if not files:
        raise UsageError(f"'{folder}' holds no prediction log files ({FILE_GLOB})")
    try:
        frame = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    except Exception as error:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
        raise DataError(f"'{folder}': cannot read the prediction log: {error}") from error
    return {name: _column(frame[name]) for name in frame.columns}


def _column(series: Any) -> np.ndarray:
    values = series.to_numpy()
    return values if values.dtype.kind != "O" else np.array([v if v is not None else "" for v in values], dtype=object)


def _predict(model: Any, inputs: dict[str, np.ndarray], targets: list[Any], batch_size: int) -> dict[str, np.ndarray]:
    from dlflow.data.tasks import decode_predictions
    from dlflow.workflow.predict import _string_tensors

    with contextlib.redirect_stdout(sys.stderr):
        raw = model.predict(_string_tensors(inputs), verbose=0, batch_size=batch_size)
    outputs = raw if isinstance(raw, dict) else {targets[0].name: raw}
    return {spec.name: decode_predictions(spec, np.asarray(outputs[spec.name]))[0] for spec in targets}


def _predict_file(opened: Any, model: Any, path: Path, targets: list[Any]) -> dict[str, np.ndarray]:
    from dlflow.workflow.predict import read_inputs

    signature = run_signature(opened)
    inputs, _ = read_inputs(path, signature)
    columns = log_columns(inputs, signature.inputs)
    predicted = _predict(model, inputs, targets, opened.loaded.config.fit.batch_size)
    columns.update({f"_pred.{name}": values for name, values in predicted.items()})
    return columns


def _prediction_drift(
    opened: Any, model: Any, live: dict, targets: list[Any], limits: Thresholds, log: Log
) -> dict[str, Any]:
    """Predicted classes, live against the model's on the validation split."""
    wanted = [t for t in targets if is_classification(t.task) and f"_pred.{t.name}" in live]
    validation = opened.data.validation
    if not wanted or validation is None or len(validation) == 0:
        return {}
    model = model or load_run_model(opened)
    reference = _predict(model, validation.inputs, wanted, opened.loaded.config.fit.batch_size)
    return {t.name: label_drift(reference[t.name], live[f"_pred.{t.name}"], limits) for t in wanted}


def _live_accuracy(
    opened: Any, live: dict, path: Path, targets: list[Any], *, by_id: bool, drop: float
) -> dict[str, Any]:
    """Accuracy on the labelled live rows, per classification target, against the evaluation's."""
    import json

    import pandas as pd

    try:
        labels = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"--labels '{path}': cannot read it as CSV ({error})") from error
    if by_id:
        if "request_id" not in labels.columns:
            raise UsageError(
                f"--labels '{path}': needs a request_id column (the X-Request-Id of each request) "
                f"and a row column when requests sent several rows"
            )
        keys = [f"{r}#{w}" for r, w in zip(live["_request_id"], live["_row"])]
        rows = labels["row"] if "row" in labels.columns else ["0"] * len(labels)
        index = dict(zip((f"{r}#{int(w)}" for r, w in zip(labels["request_id"], rows)), range(len(labels))))
        where = [index.get(k, -1) for k in keys]
    elif len(labels) != len(next(iter(live.values()))):
        raise UsageError(
            f"--labels '{path}': {len(labels)} rows, --data has {len(next(iter(live.values())))}; "
            f"labels go in the data's row order"
        )
    else:
        where = list(range(len(labels)))
    evaluation = json.loads(opened.run.evaluation.read_text()) if opened.run.evaluation.exists() else {}
    scores = evaluation.get("metrics", {})
    out = {}
    for spec in targets:
        if not is_classification(spec.task) or spec.name not in labels.columns:
            continue
        truth = labels[spec.name].to_numpy()
        pairs = [(str(live[f"_pred.{spec.name}"][i]), truth[j]) for i, j in enumerate(where) if j >= 0]
        accuracy = float(np.mean([p == t for p, t in pairs])) if pairs else None
        reference = scores.get("accuracy", scores.get(f"{spec.name}_accuracy"))
        out[spec.name] = {
            "rows": len(pairs),
            "live": accuracy,
            "evaluation": reference,
            "dropped": bool(accuracy is not None and reference is not None and reference - accuracy > drop),
        }
    if not out:
        raise UsageError(
            f"--labels '{path}': no column named after a classification target ({', '.join(t.name for t in targets)})"
        )
    return out


def _alerts(result: dict[str, Any], rows: int, limits: Thresholds) -> list[str]:
    alerts = [f"{name}: {'; '.join(f['crossed'])}" for name, f in result["features"].items() if f["drifted"]]
    alerts += [
        f"predicted {name}: {'; '.join(p['crossed'])}" for name, p in result["predictions"].items() if p["drifted"]
    ]
    alerts += [
        f"accuracy of {name}: {a['live']:.3f} vs {a['evaluation']:.3f} in evaluation"
        for name, a in result.get("accuracy", {}).items()
        if a["dropped"]
    ]
    if rows < limits.min_rows:
        result["note"] = f"only {rows} live rows (monitor.min_rows: {limits.min_rows}): nothing tested"
    return alerts


def _write_page(result: dict[str, Any], reference: dict, current: dict, out: Path) -> Path:
    from dlflow.report.monitor import drift_plot, write_monitor_page

    plots = [
        drift_plot(name, reference[name], current[name], out.parent / "plots") for name in result["drifted_features"]
    ]
    result["plots"] = [str(p) for p in plots]
    return write_monitor_page(result, plots, out)
