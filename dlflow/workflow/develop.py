"""The develop stage: beat a baseline and prove capacity, then a full run and a verdict.

1. Baselines on the experiment's validation split: the common-sense one (majority class, mean,
   last value) and shallow scikit-learn models, with the metric the model is judged on.
2. The overfit check: the config's model must memorize a few batches (`dlflow.workflow.overfit`);
   when it cannot, its advice (learning rate, bottleneck, capacity, target scale) leads the verdict's.
3. A full run through the train stage: a real run directory.
4. The verdict: the model against the baselines on the validation metric, the epoch where
   validation loss turned up, and advice to regularize (overfitting) or add capacity (underfitting).

The result is written to `<run>/develop.json` (or `runs/<name>/develop.json` when there is no
run). It passes when the model beats the common-sense baseline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dlflow.config.located import located_errors
from dlflow.errors import WorkFailed
from dlflow.log import Log, quiet
from dlflow.runs.manifest import now_iso, read_json, write_json
from dlflow.workflow.baselines import COMMON_SENSE, SHALLOW, evaluate_baselines
from dlflow.workflow.overfit import MAX_EPOCHS, overfit_check
from dlflow.workflow.prepared_data import prepare_data
from dlflow.workflow.scores import (
    format_score,
    higher_is_better,
    is_better,
    primary_metric,
    primary_target,
    score_outputs,
)

RESULT_FILE = "develop.json"


@dataclass
class DevelopResult:
    """The whole result (what develop.json holds), where it was written, and whether it passed."""

    report: dict[str, Any]
    path: Path
    passed: bool


def develop(
    config_file: str | Path,
    overrides: Sequence[str] = (),
    *,
    runs_root: Path = Path("runs"),
    epochs: int | None = None,
    overfit_epochs: int = MAX_EPOCHS,
    skip_train: bool = False,
    shallow: bool = True,
    log: Log = quiet,
    argv: Sequence[str] | None = None,
    quiet_tf: bool = False,
) -> DevelopResult:
    """Baselines, the overfit check, a full run and the verdict for one config.

    Args:
        config_file: the experiment config (YAML).
        overrides: `PATH=VALUE` strings applied before validation.
        runs_root: where run directories go.
        epochs: the full run's epochs (overrides fit.epochs).
        overfit_epochs: the overfit check's epoch budget.
        skip_train: stop after the baselines and the overfit check (no run directory; the result goes
            to runs/<name>/develop.json).
        shallow: fit the shallow scikit-learn baselines (False: the common-sense one only).
        log: receives progress lines.
        argv: the command line, recorded in the run's manifest.
        quiet_tf: load TensorFlow with its start-up noise silenced (the CLI, unless --verbose).

    Returns:
        The result; `passed` is True when the model beats the common-sense baseline (with
        `skip_train`, when the overfit check passed).
    """
    from dlflow.workflow.begin import begin

    overrides = [*overrides, *([f"fit.epochs={epochs}"] if epochs else [])]
    loaded = begin(config_file, overrides, quiet_tf=quiet_tf)
    config = loaded.config
    data = prepare_data(loaded, runs_root, log)
    report, baselines, overfit = _before_training(loaded, data, shallow=shallow, overfit_epochs=overfit_epochs, log=log)
    run_path = None
    if skip_train:
        report["run_skipped"] = "--skip-train"
    else:
        run_path = _full_run(overrides, runs_root, log, argv, report, data, loaded)
    report["verdict"] = verdict(report, baselines, overfit, config)
    passed = bool(report["verdict"]["passed"])
    report["passed"] = passed
    path = (run_path / RESULT_FILE) if run_path else runs_root / config.name / RESULT_FILE
    write_json(path, report)
    log(f"develop: {path}")
    return DevelopResult(report, path, passed)


def _before_training(
    loaded: Any, data: Any, *, shallow: bool, overfit_epochs: int, log: Log
) -> tuple[dict[str, Any], list[Any], Any]:
    """The baselines and the overfit check; develop.json as it stands before the full run, and the two."""
    with located_errors(loaded):
        from dlflow.data.no_target import require_target

        require_target(data.train, "develop (its baselines and verdict score predictions of it)")
    _, spec = primary_target(data.train)
    metric = primary_metric(spec.task)
    log(f"baselines: scored on the validation split ({len(data.validation)} samples) by {metric}")
    baselines = evaluate_baselines(data.train, data.validation, seed=loaded.config.seed, shallow=shallow, log=log)
    overfit = overfit_check(loaded, data.train, data.validation, max_epochs=overfit_epochs, log=log)
    _release_models()
    return _start_report(loaded, data, spec, metric, baselines, overfit), baselines, overfit


def _start_report(loaded: Any, data: Any, spec: Any, metric: str, baselines: list[Any], overfit: Any) -> dict[str, Any]:
    """develop.json before the full run: the data, the baselines and the overfit check."""
    config = loaded.config
    return {
        "config": str(loaded.path),
        "experiment": config.name,
        "created": now_iso(),
        "task": spec.task,
        "target": spec.name,
        "metric": metric,
        "higher_is_better": higher_is_better(metric),
        "data": {"source": data.dataset.source, "kind": data.dataset.kind, **data.split.sizes()},
        "baselines": [b.describe() for b in baselines],
        "overfit_check": overfit.describe(),
        "run": None,
        "run_status": "skipped",
        "model": None,
        "curves": None,
    }


def _full_run(
    overrides: Sequence[str], runs_root: Path, log: Log, argv: Any, report: dict[str, Any], data: Any, loaded: Any
) -> Path | None:
    """Train through the train stage; fill the report's run, model score and curves."""
    from dlflow.runs.lookup import latest_run
    from dlflow.workflow.training import train

    log("develop: the full run")
    started = time.time()
    try:
        result = train(loaded, overrides, runs_root=runs_root, log=log, argv=argv, stage="develop")
    except WorkFailed as exc:  # diverged: the run directory exists, marked failed
        run = latest_run(runs_root / loaded.config.name)
        report.update(run=str(run.path) if run else None, run_status="diverged", run_error=exc.message)
        return run.path if run and read_json(run.manifest).get("created", "") >= _iso(started) else None
    run = result.run
    manifest = read_json(run.manifest)
    report.update(run=str(run.path), run_status="completed")
    report["model"] = {
        "name": f"the model ({loaded.config.model.api})",
        "score": _model_score(run, loaded, data),
        "fit_seconds": (manifest.get("timings") or {}).get("fit_s"),
        "best_epoch": result.metrics.get("best_epoch"),
        "epochs_completed": result.metrics.get("epochs_completed"),
    }
    report["curves"] = curves(run.history, loaded.config.fit.epochs)
    return run.path


def _model_score(run: Any, loaded: Any, data: Any) -> float:
    """The run's model (best weights) scored on the validation split with the baselines' metric."""
    import contextlib
    import sys

    from dlflow.data.pipeline import to_tf_dataset
    from dlflow.workflow.opened_run import OpenedRun, load_run_model

    config = loaded.config
    model = load_run_model(OpenedRun(run, loaded, data, read_json(run.manifest), trust_code=True))  # its own run
    name, spec = primary_target(data.validation)
    dataset = to_tf_dataset(data.validation, batch_size=config.fit.batch_size, shuffle=False, seed=config.seed)
    with contextlib.redirect_stdout(sys.stderr):
        outputs = model.predict(dataset, verbose=0)
    outputs = outputs[name] if isinstance(outputs, dict) else outputs
    return score_outputs(spec, np.asarray(data.validation.targets[name]), np.asarray(outputs))


def curves(history_csv: Path, epochs: int) -> dict[str, Any]:
    """What the learning curves say: where validation loss turned up, or that it was still falling."""
    from dlflow.report.plots import overfitting_epoch, read_history

    columns = read_history(history_csv)
    val_loss, loss = columns.get("val_loss", []), columns.get("loss", [])
    completed = len(loss)
    clean = [v for v in val_loss if not math.isnan(v)]
    best = (
        min(range(len(val_loss)), key=lambda i: val_loss[i] if not math.isnan(val_loss[i]) else math.inf) + 1
        if clean
        else None
    )
    turned = overfitting_epoch(val_loss) if clean else None
    still_improving = bool(clean) and best == completed and completed >= 2
    gap = None
    if best and loss and not math.isnan(val_loss[best - 1]) and loss[best - 1] > 0:
        gap = val_loss[best - 1] / loss[best - 1]
    return {
        "epochs_completed": completed,
        "epochs_allowed": epochs,
        "best_val_loss_epoch": best,
        "overfitting_epoch": turned,
        "still_improving": still_improving,
        "val_to_train_loss_at_best": round(gap, 4) if gap is not None else None,
    }


def verdict(report: dict[str, Any], baselines: list[Any], overfit: Any, config: Any) -> dict[str, Any]:
    """Pass/fail, a one-line summary and advice, from the baselines, the overfit check and the curves."""
    metric = report["metric"]
    common = next((b for b in baselines if b.kind == COMMON_SENSE), None)
    shallow = [b for b in baselines if b.kind == SHALLOW and b.score is not None]
    best_shallow = (max if higher_is_better(metric) else min)(shallow, key=lambda b: b.score) if shallow else None
    model = report.get("model")
    out: dict[str, Any] = {
        "beats_common_sense": None,
        "beats_best_shallow": None,
        "best_shallow": best_shallow.describe() if best_shallow else None,
        "advice": [],
    }
    advice = out["advice"]
    if not overfit.passed:
        advice += overfit.advice
    if model is None:
        return _verdict_without_model(out, report, overfit)
    score = model["score"]
    out["beats_common_sense"] = is_better(metric, score, common.score) if common and common.score is not None else True
    out["beats_best_shallow"] = is_better(metric, score, best_shallow.score) if best_shallow else None
    out["passed"] = bool(out["beats_common_sense"])
    curve_advice = _curve_advice(report.get("curves") or {}, config, report["data"]["kind"])
    if not out["beats_common_sense"]:
        out["summary"] = (
            f"the model ({metric} {format_score(metric, score)}) does not beat the common-sense "
            f"baseline ({common.name}: {format_score(metric, common.score)})"
        )
        if not (report.get("curves") or {}).get("still_improving"):
            advice += [
                "check the data and the labels (dlflow collect), that the loss fits the task and the last "
                "layer, and that the inputs carry signal: shallow models' scores say how much there is"
            ]
    else:
        out["summary"] = (
            f"the model ({metric} {format_score(metric, score)}) beats the common-sense baseline "
            f"({common.name}: {format_score(metric, common.score)})"
            if common and common.score is not None
            else f"the model scores {metric} {format_score(metric, score)}"
        )
    if best_shallow is not None and out["beats_best_shallow"] is False:
        advice.append(
            f"{best_shallow.name} ({metric} {format_score(metric, best_shallow.score)}, "
            f"{best_shallow.fit_seconds:.1f} s) "
            f"does as well or better: give the network more capacity or better features, or weigh "
            f"whether the shallow model is the better tool here"
        )
    advice += curve_advice
    if not overfit.passed:
        out["summary"] += "; the overfit check failed (see the advice)"
    return out


def _verdict_without_model(out: dict[str, Any], report: dict[str, Any], overfit: Any) -> dict[str, Any]:
    """The verdict when no model was scored: the full run diverged, or was skipped (the overfit check decides)."""
    if report["run_status"] == "diverged":
        out["passed"] = False
        out["summary"] = f"the full run diverged: {report.get('run_error', '')}"
        out["advice"].append("lower the learning rate, or check the inputs for NaN or huge values")
    else:
        out["passed"] = bool(overfit.passed)
        out["summary"] = (
            "the overfit check passed; run without --skip-train for the full run and the verdict"
            if overfit.passed
            else "the overfit check failed: the model cannot fit a few batches"
        )
    return out


def _curve_advice(curve: dict[str, Any], config: Any, kind: str) -> list[str]:
    turned, completed = curve.get("overfitting_epoch"), curve.get("epochs_completed")
    if turned:
        return [
            f"validation loss turned up after epoch {turned} of {completed}: the model overfits from there; "
            f"regularize: dropout, an L2 weight penalty (kernel_regularizer: {{L2: {{l2: 1.0e-4}}}}), a smaller "
            f"model, more data"
            + (", augmentation (data.augment)" if kind == "image" and not config.data.augment else "")
        ]
    if curve.get("still_improving"):
        return [
            f"validation loss was still falling at the last epoch ({completed}): the model underfits; "
            f"train longer (fit.epochs), then add capacity (more units or layers) until it overfits"
        ]
    return []


def _release_models() -> None:
    """Free the overfit check's model before the full run builds its own."""
    import keras

    keras.backend.clear_session()


def _iso(timestamp: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")
