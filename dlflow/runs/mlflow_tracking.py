"""MLflow tracking of train runs: `tracking: {mlflow: {uri, experiment}}` or `dlflow train --mlflow URI`.

A tracked run logs to one MLflow run (named by the run id, tagged with the run directory):

- params: the resolved config, flattened to `--set` paths (`fit.epochs`, `model.sequential.1.Dense.units`:
  MLflow names take no brackets, so `[i]` becomes `.i`);
- metrics: every epoch's `history.csv` row (`loss`, `val_accuracy`, ...) at step = epoch (0-based,
  as history.csv and TensorBoard count), through a Keras callback; `dlflow evaluate` adds the test
  metrics as `test_<name>` and `evaluation.json`;
- artifacts: `model.keras`, `metrics.json`, `data_card.json` (the manifest's data section: source,
  kind, task, split sizes, inputs and targets), `report.html` and `plots/`, `config.yaml`.

The MLflow run id goes in the manifest (`mlflow: {uri, experiment, run_id}`), so `evaluate` and a
resumed run log to the same MLflow run. Without a URI the store is SQLite, `mlruns.db`, in the
folder holding the runs folder (`mlflow ui --backend-store-uri sqlite:///mlruns.db` there shows the
runs); a SQLite store's artifacts go to `mlartifacts/` next to it. mlflow is imported here only, and
only when tracking is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlflow.errors import ConfigError, UsageError

DEFAULT_DB = "mlruns.db"
DEFAULT_ARTIFACTS = "mlartifacts"
PARAM_VALUE_LIMIT = 6000  # MLflow's longest param value
BATCH = 100  # MLflow's most params per log_batch call


@dataclass(frozen=True)
class MlflowTarget:
    """Where a run is tracked.

    Args:
        uri: the tracking URI.
        experiment: the MLflow experiment's name.
        artifacts: the artifact root given to an experiment dlflow creates: `mlartifacts/` next to a
            SQLite store (MLflow's default would be `./mlruns` in the working folder); None for a server.
        default: True when the URI is dlflow's default (it is then announced).
    """

    uri: str
    experiment: str
    artifacts: str | None = None
    default: bool = False


def resolve_target(config: Any, runs_root: Path) -> MlflowTarget | None:
    """The config's MLflow target, defaults filled; None when tracking is off.

    Raises:
        ConfigError: tracking is on but mlflow is not installed.
    """
    settings = config.tracking.mlflow if config.tracking is not None else None
    if settings is None:
        return None
    try:
        import mlflow  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "tracking.mlflow needs the mlflow package: pip install 'dlflow[mlflow]' (or mlflow)",
            config_path=("tracking", "mlflow"),
        ) from exc
    experiment = settings.experiment or config.name
    if settings.uri:
        database = settings.uri.removeprefix("sqlite:///") if settings.uri.startswith("sqlite:///") else None
        artifacts = (Path(database).resolve().parent / DEFAULT_ARTIFACTS).as_uri() if database else None
        return MlflowTarget(settings.uri, experiment, artifacts)
    home = Path(runs_root).resolve().parent
    return MlflowTarget(f"sqlite:///{home / DEFAULT_DB}", experiment, (home / DEFAULT_ARTIFACTS).as_uri(), True)


class MlflowRun:
    """One train run's MLflow run: open it, log epochs, then the run's files."""

    def __init__(self, target: MlflowTarget):
        """Connect and find (or create) the experiment, before the run directory exists.

        Raises:
            UsageError: the tracking store cannot be reached or the experiment cannot be made.
        """
        import logging

        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)  # its store set-up chatter is not progress
        self.target = target
        self.run_id: str | None = None
        try:
            self.client = MlflowClient(tracking_uri=target.uri)
            found = self.client.get_experiment_by_name(target.experiment)
            self.experiment_id = (
                found.experiment_id
                if found
                else self.client.create_experiment(target.experiment, artifact_location=target.artifacts)
            )
        except Exception as exc:  # noqa: BLE001 - MLflow's errors for a bad URI, store or server vary
            raise UsageError(f"tracking.mlflow: cannot use the tracking store {target.uri}: {_reason(exc)}") from exc

    def start(self, run_dir: Any, config: Any, *, resume_id: str | None = None) -> str:
        """Open the MLflow run (or reopen `resume_id`), tag it and log the config as params; its id."""
        from dlflow.config.load import flat_config

        if resume_id:
            self.run_id = resume_id
            self.client.update_run(resume_id, status="RUNNING")
            return resume_id
        run = self.client.create_run(
            self.experiment_id,
            run_name=run_dir.run_id,
            tags={"dlflow.run_dir": str(run_dir.path), "dlflow.experiment": config.name},
        )
        self.run_id = run.info.run_id
        self.log_params(flat_config(config))
        return self.run_id

    def log_params(self, values: dict[str, Any]) -> None:
        """Params by MLflow-safe names; values as one-line YAML, cut to MLflow's limit."""
        from mlflow.entities import Param

        from dlflow.config.search_space import one_line_yaml

        params = [
            Param(safe_name(key), (v if isinstance(v, str) else one_line_yaml(v))[:PARAM_VALUE_LIMIT])
            for key, v in values.items()
        ]
        for start in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[start : start + BATCH])

    def log_metrics(self, values: dict[str, Any], step: int = 0, prefix: str = "") -> None:
        """Numeric values as metrics at `step` (others are skipped)."""
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [
            Metric(safe_name(prefix + key), float(v), now, step)
            for key, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def epoch_callback(self) -> Any:
        """A Keras callback logging each epoch's logs (loss, metrics, validation) at step = epoch."""
        import keras

        tracker = self

        class MlflowEpochs(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                tracker.log_metrics({key: float(value) for key, value in (logs or {}).items()}, step=epoch)

        return MlflowEpochs()

    def finish(self, run_dir: Any, manifest: dict[str, Any], status: str = "FINISHED") -> None:
        """Log the run's model, metrics, data card, report and plots, config; close the MLflow run."""
        path = Path(run_dir.path)
        self.client.log_dict(self.run_id, manifest.get("data") or {}, "data_card.json")
        for name in ("model.keras", "metrics.json", "report.html", "config.yaml"):
            if (path / name).is_file():
                self.client.log_artifact(self.run_id, str(path / name))
        if (path / "plots").is_dir():
            self.client.log_artifacts(self.run_id, str(path / "plots"), "plots")
        self.client.set_terminated(self.run_id, status=status)

    def fail(self, status: str = "FAILED") -> None:
        """Close the MLflow run as failed (or KILLED, for an interrupted run); never raises."""
        try:
            self.client.set_terminated(self.run_id, status=status)
        except Exception:  # noqa: BLE001 - the run's own error is the one to report
            pass

    def describe(self) -> dict[str, Any]:
        """What the manifest records."""
        return {
            "uri": self.target.uri,
            "experiment": self.target.experiment,
            "experiment_id": self.experiment_id,
            "run_id": self.run_id,
        }


def open_tracking(config: Any, runs_root: Path) -> MlflowRun | None:
    """The config's MLflow run-to-be, or None when tracking is off (a bad store fails here, before the run)."""
    if config.tracking is None or config.tracking.mlflow is None:
        return None
    return MlflowRun(resolve_target(config, runs_root))


def start_tracking(tracker: MlflowRun, run: Any, config: Any, log: Any) -> None:
    """Open the MLflow run (a resumed run's own, when it was tracked to the same store) and record it."""
    from dlflow.runs.manifest import read_json, update_manifest

    before = read_json(run.manifest).get("mlflow") or {}
    same = before.get("uri") == tracker.target.uri and before.get("experiment") == tracker.target.experiment
    run_id = tracker.start(run, config, resume_id=before.get("run_id") if same else None)
    update_manifest(run.manifest, mlflow=tracker.describe())
    default = " (the default: tracking.mlflow.uri unset)" if tracker.target.default else ""
    log(f"mlflow: run {run_id} in experiment '{tracker.target.experiment}' at {tracker.target.uri}{default}")


def log_evaluation(recorded: dict[str, Any], evaluation: dict[str, Any], evaluation_file: Path) -> None:
    """Log `dlflow evaluate`'s test metrics (`test_<name>`) and evaluation.json to a tracked run's MLflow run.

    Args:
        recorded: the manifest's `mlflow` entry (`uri`, `experiment`, `run_id`).
    """
    target = MlflowTarget(recorded["uri"], recorded["experiment"])
    tracked = MlflowRun(target)
    tracked.run_id = recorded["run_id"]
    tracked.log_metrics(evaluation.get("metrics") or {}, prefix="test_")
    tracked.client.log_artifact(tracked.run_id, str(evaluation_file))


def safe_name(key: str) -> str:
    """A config path as an MLflow param or metric name: `[i]` as `.i`, other characters MLflow refuses as `_`."""
    key = re.sub(r"\[(\d+)\]", r".\1", key)
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", key)[:250]


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
