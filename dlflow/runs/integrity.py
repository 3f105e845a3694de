"""Checking a run's files before use: a damaged model is one clear line saying what to do, not a traceback."""

from __future__ import annotations

import zipfile
from pathlib import Path

from dlflow.errors import UsageError
from dlflow.runs.layout import RunDir

KERAS_MEMBERS = ("config.json", "model.weights.h5")  # what `model.save("x.keras")` always writes


def keras_archive_problem(path: Path) -> str | None:
    """Why `path` is not a whole `.keras` archive (empty, truncated, not a zip, a bad member), or None."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty file"
    try:
        with zipfile.ZipFile(path) as archive:
            absent = [m for m in KERAS_MEMBERS if m not in archive.namelist()]
            if absent:
                return f"not a Keras model archive (no {', '.join(absent)})"
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return f"not a readable Keras model archive: {exc}"
    return f"corrupt member {bad}" if bad else None


def check_run_model(run: RunDir, status: str | None) -> None:
    """Refuse a run whose model.keras is missing or damaged, saying how to get a usable one back."""
    problem = keras_archive_problem(run.model)
    if problem is None:
        return
    if problem == "missing":
        raise UsageError(f"{run.model}: missing (status: {status or '?'}); {recovery(run, status)}")
    raise UsageError(f"{run.model}: damaged ({problem}); {recovery(run, status)}")


def recovery(run: RunDir, status: str | None) -> str:
    """What to do about a run without a usable model.keras, by the run's status."""
    resume = f"dlflow train CONFIG --resume {run.path}"
    if status == "interrupted":
        return f"resume the run: {resume}"
    if status == "running":
        return f"the run is still training, or was killed: then resume it: {resume}"
    if status == "completed" and keras_archive_problem(run.best_checkpoint) is None:
        return f"restore the best epoch's model: cp {run.best_checkpoint} {run.model}; or train the run again"
    if status == "completed":
        return "its checkpoints are damaged too: train the run again"
    return "train or resume the run first"
