"""The tune stage: a hyperparameter search (KerasTuner) over the config's `search:` block.

Each key of `search.space` is a config path, as for `--set`; a trial is the config with the
trial's values set at those paths, validated like any config, then built and fitted as
`dlflow train` would (build_session, fit_session) on the frozen split's training part and scored
on its validation part. The test split is never read.

```
runs/<name>/tune-<UTC id>/
  manifest.json          kind: tune, status, command, search, best trial
  config.yaml            the resolved config the search started from
  tuner/                 KerasTuner's oracle and trial state (what --resume reloads)
  trials/                TensorBoard HParams dashboard: dlflow tensorboard runs/<name>/tune-<id>/trials
  trials/<trial>/        config.yaml, history.csv, metrics.json, logs/ (train/, validation/, hparams)
  leaderboard.json/.csv  every trial, best first
  best.yaml              the best trial's full config: dlflow train best.yaml
```
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from dlflow.errors import ConfigError, DlflowError, Interrupted, UsageError, WorkFailed
from dlflow.runs.manifest import now_iso, read_json, update_manifest, versions, write_json, write_text
from dlflow.workflow.common import Log, located_errors, prepare_data, quiet
from dlflow.runs.files import atomic_path

# Config entries a resumed search may change: more trials, where it runs, how it prints.
RESUMABLE_CHANGES = ("search.max_trials", "fit.verbose", "runtime.", "export.")
# Config paths a trial cannot vary: trials share the loaded data, its frozen split, the name.
FIXED_PATHS = ("name", "search", "data", "runtime", "export")
VARIABLE_DATA_PATHS = ("augment",)  # data.augment builds layers inside the model: it may vary
HYPERBAND_KEYS = "tuner/"  # KerasTuner's own values in a Hyperband trial (epochs, initial epoch, parent)
WEIGHTS = "model.weights.h5"  # a Hyperband trial's weights, continued by the trials of later rounds
TUNE_DIR_KEY = "dlflow/tune_dir"  # a fixed value in every trial: the chief's tune directory, for its workers


@dataclass
class TuneResult:
    """Where the search went, its leaderboard (best first) and the best trial."""

    path: Path
    objective: str
    direction: str
    leaderboard: list[dict[str, Any]]
    best: dict[str, Any] | None
    best_config: Path | None
    resumed: bool = False
    tuner_id: str | None = None  # a distributed search's process: chief, or the worker that ran `leaderboard`


def load_search_config(config_file: str | Path, overrides: Sequence[str] = ()) -> Any:
    """Load a config for tuning: it needs a `search:` block whose paths lead into the config.

    Imports no TensorFlow, so the CLI reports config problems before TensorFlow loads.

    Raises:
        ConfigError: no search block, a path that does not lead into the config (an index out
            of range, a class other than the one written there), or a value of the space that
            makes the config invalid.
    """
    from dlflow.config import load_config

    loaded = load_config(config_file, overrides)
    if loaded.config.search is None:
        raise ConfigError(f"{loaded.path}: expected a search: block for dlflow tune, e.g.\n"
                          f"search:\n  tuner: random\n  max_trials: 8\n  space:\n"
                          f"    compile.optimizer.Adam.learning_rate: {{float: [1.0e-4, 1.0e-2], log: true}}")
    check_search_space(loaded, overrides)
    return loaded


def check_search_space(loaded: Any, overrides: Sequence[str] = ()) -> None:
    """Check that each key of `search.space` leads into the config and each value range is valid there.

    A key must name a place the config has (or a keyword argument of a class it has): an index
    in range, the class written at that index. The low and high ends of each range and every
    choice are set at their path and the config validated, as a trial would be.

    Raises:
        ConfigError: one located line per problem.
    """
    from dlflow.config import config_to_dict, parse_path

    config = loaded.config
    resolved = config_to_dict(config)
    problems = []
    for key, dimension in config.search.space.items():
        here = ("search", "space", key)
        try:
            path = parse_path(key)
        except ValueError:
            continue  # reported when the config was loaded
        problem = _fixed_path_problem(path) or _path_problem(resolved, path)
        if problem is None:
            for value in _corner_values(dimension):
                try:
                    trial_config(loaded, overrides, {key: value})
                except ConfigError as error:
                    problem = f"with {one_line_yaml(value)}: {error.problems[0].removeprefix(f'--set {key}: ')}"
                    break
        if problem:
            problems.append(f"{loaded.where(here)}: {problem}")
    objective = config.search.objective
    if objective.startswith("val_") and config.data.split.validation == 0:
        problems.append(f"{loaded.where(('search', 'objective'))}: '{objective}' needs validation data, "
                        f"but data.split.validation is 0")
    if problems:
        raise ConfigError(problems)


def trial_config(loaded: Any, overrides: Sequence[str], values: dict[str, Any], seed: int | None = None,
                 text: str | None = None) -> Any:
    """The config with `values` set at their paths (`--set` semantics), validated like any config.

    Args:
        loaded: the base config.
        overrides: the user's `--set` overrides, applied first.
        values: config path -> value (plain YAML values, Keras objects included).
        seed: a seed for this execution (another initialisation of the same trial).
        text: the config file's text as the search read it (so later edits of the file do not
            reach the trials); read from `loaded.path` when None.
    """
    from dlflow.config import loads_config

    sets = [f"{key}={one_line_yaml(value)}" for key, value in values.items()]
    if seed is not None:
        sets.append(f"seed={seed}")
    if text is None:
        text = Path(loaded.path).read_text(encoding="utf-8")
    return loads_config(text, str(loaded.path), [*overrides, *sets], base_dir=loaded.base_dir, path=loaded.path)


def tune(config_file: str | Path, overrides: Sequence[str] = (), *, runs_root: Path = Path("runs"),
         resume: str | None = None, log: Log = quiet, argv: Sequence[str] | None = None,
         tuning: dict[str, Any] | None = None) -> TuneResult:
    """Search the config's `search.space` with KerasTuner and rank the trials.

    Args:
        config_file: the experiment config (YAML) with a `search:` block.
        overrides: `PATH=VALUE` strings applied before validation (and to every trial).
        runs_root: where experiments live; the search goes to runs/<name>/tune-<UTC id>/.
        resume: a tune directory (or its name under runs/<name>/) to continue: finished trials
            are kept, an unfinished one runs again, the rest follow.
        log: receives progress lines.
        argv: the command line, recorded in the manifest.
        tuning: for a search over several processes (KerasTuner's distributed tuning), `oracle`
            (HOST:PORT) and `tuner_id` (`chief` serves the oracle and writes the tune directory;
            tuner0, tuner1, ... run trials); unset ones come from the KERASTUNER_* variables.

    Raises:
        ConfigError: the search block or a trial's config has problems.
        WorkFailed: every trial failed, or several in a row did.
        Interrupted: Ctrl-C; the search resumes with `--resume`.
    """
    from dlflow.config import dump_config
    from dlflow.train.distributed import TuningRole
    from dlflow.train.runtime import select_backend

    started = time.time()
    loaded = load_search_config(config_file, overrides)
    config = loaded.config
    with located_errors(loaded):
        select_backend(config.runtime.backend, config.runtime)
    role = TuningRole.from_options(tuning)
    role.activate()
    if role.is_worker:
        return _tune_worker(loaded, list(overrides), role, runs_root, log)
    folder = _resumable_search(resume, runs_root, config) if resume else None
    data = prepare_data(loaded, runs_root, log)
    if len(data.validation) == 0:
        raise ConfigError(f"{loaded.where(('data', 'split', 'validation'))}: trials are scored on the validation "
                          f"split, which is empty; set data.split.validation above 0")
    search = config.search
    direction = search.direction or _direction(search.objective)
    if folder is None:
        from dlflow.workflow.cv import stage_dir

        folder = stage_dir(runs_root.resolve(), config.name, "tune")
        manifest_path = folder / "manifest.json"
        write_text(folder / "config.yaml", dump_config(config))
        update_manifest(manifest_path, kind="tune", experiment=config.name, status="running", created=now_iso(),
                        command=list(argv or sys.argv), versions=versions(), seed=config.seed,
                        config_file=str(loaded.path), overrides=list(overrides),
                        search={**search.model_dump(mode="json"), "direction": direction},
                        data={"source": data.dataset.source, **data.split.describe(),
                              "trained_on": "train", "scored_on": "validation"}, resumes=0,
                        **({"distributed": role.describe()} if role.distributed else {}))
        _write_hparams_config(folder / "trials", search, direction)
    else:
        manifest_path = folder / "manifest.json"
        manifest = update_manifest(manifest_path, status="running")
        update_manifest(manifest_path, resumes=int(manifest.get("resumes", 0)) + 1, resumed=now_iso(),
                        command=list(argv or sys.argv), search={**search.model_dump(mode="json"), "direction": direction})
        write_text(folder / "config.yaml", dump_config(config))
    log(f"tune: {folder}: {search.tuner} search, up to {search.max_trials} trials, "
        f"{search.objective} ({direction}) on the validation split")
    if role.is_chief:
        log(f"tune: serving the oracle at {role.oracle}; trials run on the workers: dlflow tune {config_file} "
            f"--oracle {role.oracle} --tuner-id tuner0 (tuner1, ...)")
    state = _Search(loaded, list(overrides), Path(loaded.path).read_text(encoding="utf-8"), data, folder, direction,
                    log, role=role)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # KerasTuner prints its own progress to stdout
            tuner = _make_tuner(state)
            state.tuner = tuner
            done_before = _completed(tuner.oracle)
            if resume:
                log(f"resuming: {done_before} finished trial(s) kept")
            _run_search(tuner, state)
    except KeyboardInterrupt as exc:
        update_manifest(manifest_path, status="interrupted", ended=now_iso())
        sets = "".join(f" --set {o}" for o in overrides)
        raise Interrupted(f"interrupted; resume with: dlflow tune {config_file}{sets} --resume {folder}") from exc
    except BaseException as exc:
        update_manifest(manifest_path, status="failed", ended=now_iso(),
                        error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    leaderboard = _leaderboard(tuner.oracle, state)
    _write_leaderboard(folder, leaderboard, list(search.space))
    best = next((row for row in leaderboard if row["status"] == "completed"), None)
    if best is None:
        update_manifest(manifest_path, status="failed", ended=now_iso(), error="every trial failed")
        first = next((row.get("error") for row in leaderboard if row.get("error")), "no trial ran")
        raise WorkFailed(f"every trial failed; the first: {first}")
    best_config = _write_best_config(folder, state, best)
    update_manifest(manifest_path, status="completed", ended=now_iso(),
                    trials={"completed": sum(r["status"] == "completed" for r in leaderboard),
                            "failed": sum(r["status"] != "completed" for r in leaderboard)},
                    best={"trial": best["trial"], "score": best["score"], "values": best["values"]},
                    timings={"total_s": round(time.time() - started, 3)})
    return TuneResult(folder, search.objective, direction, leaderboard, best, best_config, resumed=resume is not None,
                      tuner_id=role.tuner_id)


def _tune_worker(loaded: Any, overrides: list[str], role: Any, runs_root: Path, log: Log) -> TuneResult:
    """Run the chief's trials until its oracle has none left (KerasTuner's distributed tuning).

    Each trial's folder goes into the chief's tune directory, named in the trial (TUNE_DIR_KEY):
    the same folder on a shared file system, a same-named one on this machine otherwise. The
    chief ranks the trials and writes the leaderboard; this returns the trials run here.
    """
    import tempfile

    config = loaded.config
    data = prepare_data(loaded, runs_root, log)
    search = config.search
    direction = search.direction or _direction(search.objective)
    log(f"tune: tuner {role.tuner_id}: running the trials of the oracle at {role.oracle}")
    until_told = runs_root.resolve() / config.name / f"tune-{role.tuner_id}"  # each trial names the chief's folder
    state = _Search(loaded, overrides, Path(loaded.path).read_text(encoding="utf-8"), data, until_told, direction, log,
                    role=role)
    with tempfile.TemporaryDirectory(prefix=f"dlflow-{role.tuner_id}-") as scratch:  # KerasTuner's own files
        with contextlib.redirect_stdout(sys.stderr):
            state.tuner = _make_tuner(state, directory=Path(scratch))
            _run_search(state.tuner, state)
    ran = [{"trial": trial_id, **entry} for trial_id, entry in state.ran.items()]
    return TuneResult(state.folder, search.objective, direction, ran, None, None, tuner_id=role.tuner_id)


@dataclass
class _Search:
    """What the trials share: the base config, the data, the tune directory, what failed."""

    loaded: Any
    overrides: list[str]
    text: str  # the config file as read when the search started
    data: Any
    folder: Path
    direction: str
    log: Log
    tuner: Any = None
    fatal: DlflowError | None = None
    failures: dict[str, BaseException] = field(default_factory=dict)
    role: Any = None  # dlflow.train.distributed.TuningRole
    ran: dict[str, dict[str, Any]] = field(default_factory=dict)  # trial id -> status, score (a worker's report)

    @property
    def search(self) -> Any:
        return self.loaded.config.search

    def values(self, trial: Any) -> dict[str, Any]:
        """The trial's config values by path (KerasTuner's Hyperband bookkeeping left out)."""
        encoded = _encoded_choices(self.search)
        out = {}
        for key, value in trial.hyperparameters.values.items():
            if key.startswith(HYPERBAND_KEYS) or key == TUNE_DIR_KEY:
                continue
            if key in encoded:
                value = _from_text(value)
            elif isinstance(value, float):
                value = float(f"{value:.6g}")  # 0.30000000000000004 -> 0.3; learning rates keep 6 digits
            out[key] = value
        return out

    def run_trial(self, trial: Any) -> Any:
        """Build, fit and score one trial; returns the Keras History (a list with several executions)."""
        from dlflow.config import dump_config
        from dlflow.workflow.cv import fit_in_folder, release_session
        from dlflow.workflow.train import build_session, summarize_history

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
        self.log(f"trial {trial.trial_id} ({number}/{self.search.max_trials}): "
                 + ", ".join(f"{short[k]}={one_line_yaml(v)}" for k, v in values.items())
                 + (f" (epochs {initial + 1}-{epochs})" if "tuner/epochs" in hp else ""))
        started = time.time()
        histories = []
        try:
            for execution in range(self.search.executions_per_trial):
                seed = None if execution == 0 else self.loaded.config.seed + execution
                try:
                    loaded = trial_config(self.loaded, self.overrides, values, seed, text=self.text)
                except ConfigError as error:
                    self.fatal = error
                    raise _fatal(error) from error
                if execution == 0:
                    write_text(folder / "config.yaml", dump_config(loaded.config))
                    _write_hparams(folder / "logs", trial.trial_id, values, self.search)
                where = folder if self.search.executions_per_trial == 1 else folder / f"execution-{execution + 1}"
                where.mkdir(parents=True, exist_ok=True)
                session = build_session(loaded, self.data.train, self.data.validation, quiet)
                if "tuner/trial_id" in hp:  # Hyperband continues an earlier round's trial: weights and optimizer
                    session.model.optimizer.build(session.model.trainable_variables)
                    session.model.load_weights(self.folder / "trials" / hp["tuner/trial_id"] / WEIGHTS)
                history = fit_in_folder(session, loaded, self.data.train, self.data.validation, where,
                                        epochs=max(epochs - initial, 1),
                                        tensorboard=folder / "logs" if execution == 0 else None)
                if self.search.objective not in history.history:
                    logged = ", ".join(sorted(history.history))
                    self.fatal = ConfigError(f"{self.loaded.where(('search', 'objective'))}: '{self.search.objective}' "
                                             f"is not a metric the trials log; they log: {logged}")
                    raise _fatal(self.fatal)
                if self.search.tuner == "hyperband" and execution == 0:
                    session.model.save_weights(folder / WEIGHTS)
                histories.append(history)
                release_session(session)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed trial is recorded, the search goes on
            if self.fatal is not None:
                raise
            message = _first_line(exc)
            self.failures[trial.trial_id] = exc
            write_json(folder / "metrics.json", {"status": "failed", "error": message, "values": values})
            self.log(f"trial {trial.trial_id} failed: {message}")
            self.ran[trial.trial_id] = {"status": "failed", "error": message, "values": values}
            raise
        metrics = summarize_history(folder / "history.csv" if len(histories) == 1
                                    else folder / "execution-1" / "history.csv", self.search.objective)
        score = _mean_best(histories, self.search.objective, self.direction)
        metrics.update(status="completed", values=values, score=score, seconds=round(time.time() - started, 3),
                       executions=len(histories), epochs=epochs, initial_epoch=initial)
        write_json(folder / "metrics.json", metrics)
        self.ran[trial.trial_id] = {"status": "completed", "score": score, "values": values}
        self.log(f"trial {trial.trial_id}: {self.search.objective} {score:.4f} "
                 f"({metrics.get('epochs_completed')} epochs, {metrics['seconds']:.1f}s)")
        return histories if len(histories) > 1 else histories[0]


def _run_search(tuner: Any, state: _Search) -> None:
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
        raise WorkFailed(f"{count} trials in a row failed; the last: {_first_line(last)}") from None


def _make_tuner(state: _Search, directory: Path | None = None) -> Any:
    """A KerasTuner tuner with the config's oracle over the search space, in the tune directory.

    Args:
        directory: where KerasTuner keeps its state (default: the tune directory's tuner/).
    """
    import keras_tuner

    search, config = state.search, state.loaded.config
    objective = keras_tuner.Objective(search.objective, direction=state.direction)
    hyperparameters = _hyperparameters(search)
    if state.role is not None and state.role.is_chief:  # tells the workers where the trials go
        hyperparameters.Fixed(TUNE_DIR_KEY, state.folder.name)
    common = dict(objective=objective, hyperparameters=hyperparameters, seed=config.seed,
                  tune_new_entries=False, allow_new_entries=False)
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
    return _tuner_class()(oracle, state=state, directory=str(directory or state.folder), project_name="tuner",
                          overwrite=False)


def _tuner_class() -> type:
    """The KerasTuner Tuner running dlflow trials (defined lazily: keras_tuner imports Keras)."""
    import keras_tuner

    class ConfigTuner(keras_tuner.Tuner):
        """Runs each trial as dlflow trains: the trial's config, build_session, fit_session."""

        def __init__(self, oracle: Any, *, state: _Search, **kwargs: Any):
            self.state = state
            super().__init__(oracle, hypermodel=None, **kwargs)

        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            return self.state.run_trial(trial)

    return ConfigTuner


def _fatal(error: DlflowError) -> Exception:
    """An error that stops KerasTuner's search (it would record any other as a failed trial)."""
    import keras_tuner

    return keras_tuner.errors.FatalError(error.message)


def _hyperparameters(search: Any) -> Any:
    """KerasTuner's HyperParameters for the space; names are the config paths."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    encoded = _encoded_choices(search)
    for key, dim in search.space.items():
        sampling = "log" if dim.log else "linear"
        if dim.kind == "int":
            hp.Int(key, dim.int[0], dim.int[1], step=int(dim.step) if dim.step else None, sampling=sampling)
        elif dim.kind == "float":
            hp.Float(key, dim.float[0], dim.float[1], step=dim.step, sampling=sampling)
        else:
            hp.Choice(key, [one_line_yaml(v) for v in dim.choice] if key in encoded else list(dim.choice))
    return hp


def _encoded_choices(search: Any) -> set[str]:
    """Choices KerasTuner cannot hold as they are (mappings, lists, mixed types): tried as YAML text."""
    out = set()
    for key, dim in search.space.items():
        if dim.kind != "choice":
            continue
        types = {type(v) for v in dim.choice}
        if len(types) > 1 or not types <= {int, float, str, bool}:
            out.add(key)
    return out


def _corner_values(dimension: Any) -> list[Any]:
    """The values that bound a dimension: both ends of a range, every choice."""
    return list(dimension.bounds) if dimension.kind != "choice" else list(dimension.choice)


def _fixed_path_problem(path: tuple) -> str | None:
    if path[0] not in FIXED_PATHS or (path[0] == "data" and len(path) > 1 and path[1] in VARIABLE_DATA_PATHS):
        return None
    if path[0] == "data":
        return ("trials share the experiment's loaded data and frozen split, so data settings cannot vary "
                "per trial (data.augment can)")
    return f"'{path[0]}' cannot vary per trial: expected a path into data.augment, model, compile or fit"


def _path_problem(resolved: dict, path: tuple) -> str | None:
    """Why `path` does not lead into the resolved config, or None when it does.

    Missing mappings on the way are fine (keyword arguments left at their defaults); an index
    out of range, a class other than the one written there, or a plain value on the way are not.
    """
    from dlflow.config import format_path

    node: Any = resolved
    for i, key in enumerate(path):
        here = format_path(path[:i])
        if isinstance(key, str) and key[:1].isupper() and i > 0 and _class_written(node) is not None:
            written = _class_written(node)
            if _normalized(written) != _normalized(key):
                return f"{here} is {written}, not {key}"
            node = node.get(written) if isinstance(node, dict) else None
        elif isinstance(node, list):
            if not isinstance(key, int):
                return f"{here} is a list: expected an index such as [0], received {key!r}"
            if not -len(node) <= key < len(node):
                return f"index {key} is out of range: {here} has {len(node)} items"
            node = node[key]
        elif isinstance(node, dict):
            node = node.get(key)
        elif node is not None and i < len(path):
            return f"cannot go into {here}: it is the value {node!r}"
        if node is None:
            return None  # created by the override, as with --set
    return None


def _class_written(node: Any) -> str | None:
    """The Keras class or identifier written at a config node: `adam`, `{Adam: {...}}`, `Flatten`."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        name = next(iter(node))
        if isinstance(name, str) and name[:1].isupper():
            return name
    return None


def _normalized(name: str) -> str:
    return name.replace("_", "").lower()


def _resumable_search(resume: str, runs_root: Path, config: Any) -> Path:
    """The tune directory to resume, after checking the config still describes its search."""
    from dlflow.config import load_config
    from dlflow.workflow.resume import config_changes

    candidates = [Path(resume), runs_root / config.name / resume]
    folder = next((c for c in candidates if (c / "manifest.json").is_file()), None)
    if folder is None:
        raise UsageError(f"no tune directory '{resume}': expected a runs/{config.name}/tune-<id>/ folder")
    manifest = read_json(folder / "manifest.json")
    if manifest.get("kind") != "tune":
        raise UsageError(f"{folder} is not a tune directory (it has no kind: tune in its manifest.json)")
    if manifest.get("experiment") != config.name:
        raise UsageError(f"{folder} belongs to experiment '{manifest.get('experiment')}', not '{config.name}'")
    previous = load_config(folder / "config.yaml").config
    changes = config_changes(previous.model_dump(mode="json"), config.model_dump(mode="json"))
    blocking = [c for c in changes if not c[0].startswith(RESUMABLE_CHANGES)]
    if blocking:
        lines = [f"  {path}: {old!r} -> {new!r}" for path, old, new in blocking]
        raise UsageError(f"cannot resume {folder}: the config changed in ways its trials do not share "
                         f"(only search.max_trials, runtime and export may change); pass the same --set "
                         f"options as the first time", details=lines)
    return folder.resolve()


def _leaderboard(oracle: Any, state: _Search) -> list[dict[str, Any]]:
    """One row per trial, completed trials best first, then the failed ones."""
    rows = []
    for trial in oracle.trials.values():
        folder = state.folder / "trials" / trial.trial_id
        metrics = read_json(folder / "metrics.json") if (folder / "metrics.json").is_file() else {}
        completed = str(trial.status) == "COMPLETED" and trial.score is not None
        row = {"trial": trial.trial_id, "status": "completed" if completed else str(trial.status).lower(),
               "values": state.values(trial), "score": float(trial.score) if completed else None,
               "best_epoch": (int(metrics.get("initial_epoch") or 0) + int(trial.best_step) + 1)
               if completed and trial.best_step is not None else None,
               "epochs": metrics.get("epochs_completed"), "seconds": metrics.get("seconds")}
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


def _write_leaderboard(folder: Path, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """leaderboard.json and leaderboard.csv (one column per searched path)."""
    write_json(folder / "leaderboard.json", {"trials": rows})
    columns = ["rank", "trial", "status", *keys, "score", "best_epoch", "epochs", "seconds"]
    with atomic_path(folder / "leaderboard.csv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row["rank"], row["trial"], row["status"], *[one_line_yaml(row["values"].get(k)) for k in keys],
                             row["score"], row["best_epoch"], row["epochs"], row["seconds"]])


def _write_best_config(folder: Path, state: _Search, best: dict[str, Any]) -> Path:
    """best.yaml: the best trial's full resolved config, runnable with `dlflow train`."""
    from dlflow.config import dump_config

    config = trial_config(state.loaded, state.overrides, best["values"], text=state.text).config
    path = folder / "best.yaml"
    lines = [f"# The best trial ({best['trial']}) of {folder}:",
             f"#   {config.search.objective} {best['score']:.6g} at epoch {best['best_epoch']}",
             *[f"#   {key}: {one_line_yaml(value)}" for key, value in best["values"].items()],
             f"# Train it: dlflow train {path}"]
    if config.model.factory:
        lines.append(f"# model.factory '{config.model.factory}' is imported from {state.loaded.base_dir}: run "
                     f"with PYTHONPATH={state.loaded.base_dir} (or copy this file next to the original config)")
    write_text(path, "\n".join(lines) + "\n" + dump_config(config))
    return path


def _write_hparams_config(folder: Path, search: Any, direction: str) -> None:
    """The HParams dashboard's experiment: the searched paths and the metrics to compare."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    encoded = _encoded_choices(search)
    hparams = []
    for key, dim in search.space.items():
        if dim.kind == "choice":
            domain = hp_api.Discrete([one_line_yaml(v) for v in dim.choice] if key in encoded else list(dim.choice))
        elif dim.kind == "int" and not dim.log:
            low, high = int(dim.int[0]), int(dim.int[1])
            domain = hp_api.Discrete(list(range(low, high + 1, int(dim.step)))) if dim.step else hp_api.IntInterval(low, high)
        elif dim.kind == "int":
            domain = None  # log-spaced integers: shown as they come
        else:
            domain = hp_api.RealInterval(float(dim.float[0]), float(dim.float[1]))
        hparams.append(hp_api.HParam(key, domain))
    metrics = [hp_api.Metric("epoch_loss", group="validation", display_name="val_loss"),
               hp_api.Metric("epoch_loss", group="train", display_name="loss")]
    objective = search.objective
    if objective not in ("loss", "val_loss"):
        group = "validation" if objective.startswith("val_") else "train"
        metrics.insert(0, hp_api.Metric(f"epoch_{objective.removeprefix('val_')}", group=group,
                                        display_name=f"{objective} ({direction})"))
    folder.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        hp_api.hparams_config(hparams=hparams, metrics=metrics)
    writer.close()


def _write_hparams(folder: Path, trial_id: str, values: dict[str, Any], search: Any) -> None:
    """One trial's values for the HParams dashboard, next to its TensorBoard logs."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    encoded = _encoded_choices(search)
    shown = {key: (one_line_yaml(v) if key in encoded else v) for key, v in values.items()}
    folder.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        hp_api.hparams(shown, trial_id=f"trial {trial_id}")
    writer.close()


def _mean_best(histories: list[Any], objective: str, direction: str) -> float:
    """The objective's best epoch value, averaged over executions (KerasTuner's own rule)."""
    import math

    pick = max if direction == "max" else min
    bests = []
    for history in histories:
        values = [v for v in history.history.get(objective, []) if not math.isnan(v)]
        bests.append(pick(values) if values else float("nan"))
    return float(sum(bests) / len(bests))


def _completed(oracle: Any) -> int:
    return sum(str(t.status) == "COMPLETED" for t in oracle.trials.values())


def _direction(objective: str) -> str:
    from dlflow.train.callbacks import monitor_mode

    return monitor_mode(objective)


def one_line_yaml(value: Any) -> str:
    """A value as one line of YAML: `64`, `0.001`, `relu`, `{Adam: {learning_rate: 0.001}}`."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


def _from_text(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """The shortest distinct tail of each searched path, for tables and progress lines.

    `model.sequential[1].Dense.units` -> `Dense.units`, or `[1].Dense.units` when another key
    also ends in `Dense.units`.
    """
    from dlflow.config import format_path, parse_path

    paths = {}
    for key in keys:
        try:
            paths[key] = parse_path(key)
        except ValueError:
            paths[key] = (key,)
    out = {}
    for key, path in paths.items():
        for size in range(min(2, len(path)), len(path) + 1):
            tail = path[-size:]
            if sum(p[-size:] == tail for p in paths.values()) == 1 or size == len(path):
                out[key] = format_path(tail) if not isinstance(tail[0], int) else format_path(("_",) + tail)[1:]
                break
    return out


def _first_line(error: BaseException) -> str:
    if isinstance(error, DlflowError):
        return error.message
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
