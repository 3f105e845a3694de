"""A search's trials: what they share, and how one trial is built, fitted in its folder and scored.

KerasTuner calls `Search.run_trial` for each trial (`dlflow.train.tuner`); a trial's folder is
trials/<trial>/ in the tune directory (config.yaml, history.csv, metrics.json, logs/).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlflow.config.search_space import encoded_choices, from_text, one_line_yaml, short_names, trial_config
from dlflow.errors import ConfigError, DlflowError
from dlflow.log import Log, quiet
from dlflow.runs.leaderboard import write_hparams
from dlflow.runs.manifest import write_json, write_text
from dlflow.train.tuner import TUNE_DIR_KEY, fatal_error, first_line, mean_best

HYPERBAND_KEYS = "tuner/"  # KerasTuner's own values in a Hyperband trial (epochs, initial epoch, parent)
WEIGHTS = "model.weights.h5"  # a Hyperband trial's weights, continued by the trials of later rounds


@dataclass
class Search:
    """What the trials share: the base config, the data, the tune directory, what failed."""

    loaded: Any  # the base config, the user's overrides applied
    data: Any
    folder: Path
    direction: str
    log: Log
    tuner: Any = None
    fatal: DlflowError | None = None
    failures: dict[str, BaseException] = field(default_factory=dict)
    role: Any = None  # dlflow.train.tuning_role.TuningRole
    ran: dict[str, dict[str, Any]] = field(default_factory=dict)  # trial id -> status, score (a worker's report)

    @property
    def search(self) -> Any:
        return self.loaded.config.search

    def values(self, trial: Any) -> dict[str, Any]:
        """The trial's config values by path (KerasTuner's Hyperband bookkeeping left out)."""
        encoded = encoded_choices(self.search)
        out = {}
        for key, value in trial.hyperparameters.values.items():
            if key.startswith(HYPERBAND_KEYS) or key == TUNE_DIR_KEY:
                continue
            if key in encoded:
                value = from_text(value)
            elif isinstance(value, float):
                value = float(f"{value:.6g}")  # 0.30000000000000004 -> 0.3; learning rates keep 6 digits
            out[key] = value
        return out

    def _execute(self, trial: Any, values: dict[str, Any], execution: int, folder: Path, *, epochs: int) -> Any:
        """One execution of a trial (another seed after the first) in its folder; returns its History."""
        from dlflow.config import dump_config
        from dlflow.train.session import build_session, fit_in_folder, release_session

        hp = trial.hyperparameters.values
        seed = None if execution == 0 else self.loaded.config.seed + execution
        try:
            loaded = trial_config(self.loaded, values, seed)
        except ConfigError as error:
            self.fatal = error
            raise fatal_error(error) from error
        if execution == 0:
            write_text(folder / "config.yaml", dump_config(loaded.config))
            write_hparams(folder / "logs", trial.trial_id, values, self.search)
        where = folder if self.search.executions_per_trial == 1 else folder / f"execution-{execution + 1}"
        where.mkdir(parents=True, exist_ok=True)
        session = build_session(loaded, self.data.train, self.data.validation, quiet)
        if "tuner/trial_id" in hp:  # Hyperband continues an earlier round's trial: weights and optimizer
            session.model.optimizer.build(session.model.trainable_variables)
            session.model.load_weights(self.folder / "trials" / hp["tuner/trial_id"] / WEIGHTS)
        history = fit_in_folder(
            session,
            loaded,
            self.data.train,
            self.data.validation,
            where,
            epochs=epochs,
            tensorboard=folder / "logs" if execution == 0 else None,
        )
        if self.search.objective not in history.history:
            logged = ", ".join(sorted(history.history))
            self.fatal = ConfigError(
                f"{self.loaded.where(('search', 'objective'))}: '{self.search.objective}' "
                f"is not a metric the trials log; they log: {logged}"
            )
            raise fatal_error(self.fatal)
        if self.search.tuner == "hyperband" and execution == 0:
            session.model.save_weights(folder / WEIGHTS)
        release_session(session)
        return history

    def run_trial(self, trial: Any) -> Any:
        """Build, fit and score one trial; returns the Keras History (a list with several executions)."""
        from dlflow.train.history import summarize_history

        if self.role is not None and self.role.is_worker and TUNE_DIR_KEY in trial.hyperparameters.values:
            self.folder = self.folder.parent / trial.hyperparameters.values[TUNE_DIR_KEY]  # the chief's tune directory
        folder = self.folder / "trials" / trial.trial_id
        if folder.exists():
            shutil.rmtree(folder)  # an interrupted trial runs again from scratch
        folder.mkdir(parents=True)
        values = self.values(trial)
        hp = trial.hyperparameters.values
        epochs = int(hp.get("tuner/epochs", self.loaded.config.fit.epochs))
        initial = int(hp.get("tuner/initial_epoch", 0))
        number = len(self.tuner.oracle.trials) if hasattr(self.tuner.oracle, "trials") else "?"  # a worker's: remote
        short = short_names(list(values))
        self.log(
            f"trial {trial.trial_id} ({number}/{self.search.max_trials}): "
            + ", ".join(f"{short[k]}={one_line_yaml(v)}" for k, v in values.items())
            + (f" (epochs {initial + 1}-{epochs})" if "tuner/epochs" in hp else "")
        )
        started = time.time()
        histories = []
        try:
            for execution in range(self.search.executions_per_trial):
                histories.append(self._execute(trial, values, execution, folder, epochs=max(epochs - initial, 1)))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed trial is recorded, the search goes on
            if self.fatal is None:
                self._record_failure(trial.trial_id, folder, values, exc)
            raise
        metrics = summarize_history(
            folder / "history.csv" if len(histories) == 1 else folder / "execution-1" / "history.csv",
            self.search.objective,
        )
        score = mean_best(histories, self.search.objective, self.direction)
        metrics.update(
            status="completed",
            values=values,
            score=score,
            seconds=round(time.time() - started, 3),
            executions=len(histories),
            epochs=epochs,
            initial_epoch=initial,
        )
        write_json(folder / "metrics.json", metrics)
        self.ran[trial.trial_id] = {"status": "completed", "score": score, "values": values}
        self.log(
            f"trial {trial.trial_id}: {self.search.objective} {score:.4f} "
            f"({metrics.get('epochs_completed')} epochs, {metrics['seconds']:.1f}s)"
        )
        return histories if len(histories) > 1 else histories[0]

    def _record_failure(self, trial_id: str, folder: Path, values: dict[str, Any], exc: BaseException) -> None:
        """A failed trial: its metrics.json says why, the search goes on (KerasTuner marks it failed)."""
        message = first_line(exc)
        self.failures[trial_id] = exc
        write_json(folder / "metrics.json", {"status": "failed", "error": message, "values": values})
        self.log(f"trial {trial_id} failed: {message}")
        self.ran[trial_id] = {"status": "failed", "error": message, "values": values}
