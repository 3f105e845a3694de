"""The KerasTuner adapter: dlflow trials as a KerasTuner Tuner, its oracle, and the ranked trials.

`make_tuner(state)` returns a Tuner whose `run_trial` calls `state.run_trial(trial)`: the stage
(`dlflow.workflow.tune`) owns what a trial is; this module owns how KerasTuner drives them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlflow.config.search_space import encoded_choices, one_line_yaml
from dlflow.errors import DlflowError, WorkFailed
from dlflow.runs.manifest import read_json

TUNE_DIR_KEY = "dlflow/tune_dir"  # a fixed value in every trial: the chief's tune directory, for its workers


def run_search(tuner: Any, state: Any) -> None:
    """tuner.search, turning KerasTuner's stops into dlflow errors."""
    import keras_tuner

    try:
        tuner.search(verbose=0)
    except keras_tuner.errors.FatalError:
        if state.fatal is not None:
            raise state.fatal from None
        raise
    except RuntimeError as exc:
        if "consecutive failures" not in str(exc) or not state.failures:
            raise
        last = list(state.failures.values())[-1]
        if isinstance(last, DlflowError):
            raise last from None
        count = tuner.oracle.max_consecutive_failed_trials
        raise WorkFailed(f"{count} trials in a row failed; the last: {first_line(last)}") from None


def make_tuner(state: Any, directory: Path | None = None) -> Any:
    """A KerasTuner tuner with the config's oracle over the search space, in the tune directory.

    Args:
        directory: where KerasTuner keeps its state (default: the tune directory's tuner/).
    """
    import keras_tuner

    search, config = state.search, state.loaded.config
    objective = keras_tuner.Objective(search.objective, direction=state.direction)
    hyperparameters = search_hyperparameters(search)
    if state.role is not None and state.role.is_chief:  # tells the workers where the trials go
        hyperparameters.Fixed(TUNE_DIR_KEY, state.folder.name)
    common = dict(
        objective=objective,
        hyperparameters=hyperparameters,
        seed=config.seed,
        tune_new_entries=False,
        allow_new_entries=False,
    )
    oracles = keras_tuner.oracles
    if search.tuner == "random":
        oracle = oracles.RandomSearchOracle(max_trials=search.max_trials, **common)
    elif search.tuner == "grid":
        oracle = oracles.GridSearchOracle(max_trials=search.max_trials, **common)
    elif search.tuner == "bayesian":
        oracle = oracles.BayesianOptimizationOracle(max_trials=search.max_trials, **common)
    else:
        oracle = oracles.HyperbandOracle(max_epochs=config.fit.epochs, **common)
        oracle.max_trials = search.max_trials  # Hyperband has no such argument; create_trial honours it
    return tuner_class()(
        oracle, state=state, directory=str(directory or state.folder), project_name="tuner", overwrite=False
    )


def tuner_class() -> type:
    """The KerasTuner Tuner running dlflow trials (defined lazily: keras_tuner imports Keras)."""
    import keras_tuner

    class ConfigTuner(keras_tuner.Tuner):
        """Runs each trial as dlflow trains: the trial's config, build_session, fit_session."""

        def __init__(self, oracle: Any, *, state: Any, **kwargs: Any):
            self.state = state
            super().__init__(oracle, hypermodel=None, **kwargs)

        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            return self.state.run_trial(trial)

    return ConfigTuner


def fatal_error(error: DlflowError) -> Exception:
    """An error that stops KerasTuner's search (it would record any other as a failed trial)."""
    import keras_tuner

    return keras_tuner.errors.FatalError(error.message)


def search_hyperparameters(search: Any) -> Any:
    """KerasTuner's HyperParameters for the space; names are the config paths."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    encoded = encoded_choices(search)
    for key, dim in search.space.items():
        sampling = "log" if dim.log else "linear"
        if dim.kind == "int":
            hp.Int(key, dim.int[0], dim.int[1], step=int(dim.step) if dim.step else None, sampling=sampling)
        elif dim.kind == "float":
            hp.Float(key, dim.float[0], dim.float[1], step=dim.step, sampling=sampling)
        else:
            hp.Choice(key, [one_line_yaml(v) for v in dim.choice] if key in encoded else list(dim.choice))
    return hp


def ranked_trials(oracle: Any, state: Any) -> list[dict[str, Any]]:
    """One row per trial, completed trials best first, then the failed ones."""
    rows = []
    for trial in oracle.trials.values():
        folder = state.folder / "trials" / trial.trial_id
        metrics = read_json(folder / "metrics.json") if (folder / "metrics.json").is_file() else {}
        completed = str(trial.status) == "COMPLETED" and trial.score is not None
        row = {
            "trial": trial.trial_id,
            "status": "completed" if completed else str(trial.status).lower(),
            "values": state.values(trial),
            "score": float(trial.score) if completed else None,
            "best_epoch": (int(metrics.get("initial_epoch") or 0) + int(trial.best_step) + 1)
            if completed and trial.best_step is not None
            else None,
            "epochs": metrics.get("epochs_completed"),
            "seconds": metrics.get("seconds"),
        }
        if "tuner/epochs" in trial.hyperparameters.values:
            row["hyperband_epochs"] = int(trial.hyperparameters.values["tuner/epochs"])
        if metrics.get("error"):
            row["error"] = metrics["error"]
        rows.append(row)
    sign = -1.0 if state.direction == "max" else 1.0
    rows.sort(key=lambda r: (r["score"] is None, sign * r["score"] if r["score"] is not None else 0.0, r["trial"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def mean_best(histories: list[Any], objective: str, direction: str) -> float:
    """The objective's best epoch value, averaged over executions (KerasTuner's own rule)."""
    import math

    pick = max if direction == "max" else min
    bests = []
    for history in histories:
        values = [v for v in history.history.get(objective, []) if not math.isnan(v)]
        bests.append(pick(values) if values else float("nan"))
    return float(sum(bests) / len(bests))


def completed_trials(oracle: Any) -> int:
    return sum(str(t.status) == "COMPLETED" for t in oracle.trials.values())


def first_line(error: BaseException) -> str:
    if isinstance(error, DlflowError):
        return error.message
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
