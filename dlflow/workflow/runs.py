"""Opening an existing run: its config, data (same frozen split) and model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlflow.errors import UsageError
from dlflow.runs.integrity import check_run_model
from dlflow.runs.layout import RunDir
from dlflow.runs.manifest import read_json
from dlflow.workflow.common import Log, PreparedData, prepare_data, quiet


@dataclass
class OpenedRun:
    """A run directory with its resolved config and its data."""

    run: RunDir
    loaded: Any
    data: PreparedData | None  # None when opened with with_data=False
    manifest: dict


def open_run(run_ref: str, runs_root: Path, log: Log = quiet, *, with_data: bool = True) -> OpenedRun:
    """Find a run, reload its config and its data with the experiment's frozen split.

    Refuses when the data changed since the run was trained (its test split would differ).

    Args:
        with_data: False opens only the run, config and manifest (`data` is None), for stages
            that need the model but not the training data (serving).
    """
    from dlflow.config import load_config
    from dlflow.runs.lookup import find_run
    from dlflow.train.runtime import select_backend

    run = find_run(run_ref, runs_root)
    manifest = read_json(run.manifest, advice="the run directory is damaged: restore manifest.json, or train again")
    check_run_model(run, manifest.get("status"))
    loaded = load_config(run.config)
    select_backend("tensorflow")  # exports and evaluation run on TensorFlow whatever trained the model
    if not with_data:
        return OpenedRun(run, loaded, None, manifest)
    root = run.experiment_dir.parent
    described = manifest.get("data") if isinstance(manifest.get("data"), dict) else None
    data = prepare_data(loaded, root, log, trained_on=described)
    trained_on = (described or {}).get("fingerprint")
    if trained_on and trained_on != data.split.fingerprint:
        raise UsageError(f"{run.path}: the data changed since this run was trained (fingerprint "
                         f"{trained_on} -> {data.split.fingerprint}); its test split no longer exists")
    return OpenedRun(run, loaded, data, manifest)


def load_run_model(opened: OpenedRun) -> Any:
    """Load the run's model.keras (importing a factory's module first, for its custom classes)."""
    import keras

    import dlflow.model.table_layers  # noqa: F401 - registers dlflow's own layers (FillMissing, ...) with Keras

    config = opened.loaded.config
    if config.model.factory:
        from dlflow.model.factory import import_factory

        folder = opened.manifest.get("config_dir")
        import_factory(config.model.factory, Path(folder) if folder else None)
    return keras.saving.load_model(opened.run.model)
