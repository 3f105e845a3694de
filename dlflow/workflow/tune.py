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
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from dlflow.config.search_space import check_search_config
from dlflow.errors import ConfigError, Interrupted, UsageError, WorkFailed
from dlflow.log import Log, quiet
from dlflow.runs.leaderboard import write_best_config, write_hparams_config, write_leaderboard
from dlflow.runs.manifest import now_iso, read_json, update_manifest, write_text
from dlflow.train.monitoring import monitor_mode
from dlflow.train.tuner import completed_trials, make_tuner, ranked_trials, run_search
from dlflow.workflow.prepared_data import prepare_data
from dlflow.workflow.tune_trials import Search

# Config entries a resumed search may change: more trials, where it runs, how it prints.
RESUMABLE_CHANGES = ("search.max_trials", "fit.verbose", "runtime.", "export.")


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


def tune(
    config_file: str | Path,
    overrides: Sequence[str] = (),
    *,
    runs_root: Path = Path("runs"),
    resume: str | None = None,
    log: Log = quiet,
    argv: Sequence[str] | None = None,
    tuning: dict[str, Any] | None = None,
    quiet_tf: bool = False,
) -> TuneResult:
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
        quiet_tf: load TensorFlow with its start-up noise silenced (the CLI, unless --verbose).

    Raises:
        ConfigError: the search block or a trial's config has problems.
        WorkFailed: every trial failed, or several in a row did.
        Interrupted: Ctrl-C; the search resumes with `--resume`.
    """
    from dlflow.train.tuning_role import TuningRole
    from dlflow.workflow.begin import begin

    started = time.time()
    loaded = begin(config_file, overrides, quiet_tf=quiet_tf, check=check_search_config)
    role = TuningRole.from_options(tuning)
    role.activate()
    if role.is_worker:
        return _tune_worker(loaded, role, runs_root, log)
    state = _start_search(
        loaded, config_file, role, runs_root=runs_root, resume=resume, argv=argv, overrides=overrides, log=log
    )
    manifest_path = state.folder / "manifest.json"
    hint = f"dlflow tune {config_file}{''.join(f' --set {o}' for o in overrides)} --resume {state.folder}"
    tuner = _run_marked(state, manifest_path, resumed=bool(resume), resume_hint=hint)
    ranked = _rank(tuner, state, manifest_path, started)
    return TuneResult(
        state.folder,
        state.search.objective,
        state.direction,
        *ranked,
        resumed=resume is not None,
        tuner_id=role.tuner_id,
    )


def _start_search(
    loaded: Any,
    config_file: str | Path,
    role: Any,
    *,
    runs_root: Path,
    resume: str | None,
    argv: Sequence[str] | None,
    overrides: Sequence[str],
    log: Log,
) -> Search:
    """The chief's (or a lone process's) search: the data, the tune directory (new or resumed), said in the log."""
    config = loaded.config
    folder = _resumable_search(resume, runs_root, config) if resume else None
    data = prepare_data(loaded, runs_root, log)
    if len(data.validation) == 0:
        raise ConfigError(
            f"{loaded.where(('data', 'split', 'validation'))}: trials are scored on the validation "
            f"split, which is empty; set data.split.validation above 0"
        )
    search = config.search
    direction = search.direction or monitor_mode(search.objective)
    folder = _open_folder(folder, runs_root, loaded, data, direction, role, argv=argv, overrides=overrides)
    log(
        f"tune: {folder}: {search.tuner} search, up to {search.max_trials} trials, "
        f"{search.objective} ({direction}) on the validation split"
    )
    if role.is_chief:
        log(
            f"tune: serving the oracle at {role.oracle}; trials run on the workers: dlflow tune {config_file} "
            f"--oracle {role.oracle} --tuner-id tuner0 (tuner1, ...)"
        )
    return Search(loaded, data, folder, direction, log, role=role)


def _rank(tuner: Any, state: Any, manifest_path: Path, started: float) -> tuple[list, dict, Path]:
    """The leaderboard (written), the best trial and its config (best.yaml); the manifest marked completed.

    Raises:
        WorkFailed: every trial failed.
    """
    leaderboard = ranked_trials(tuner.oracle, state)
    write_leaderboard(state.folder, leaderboard, list(state.search.space))
    best = next((row for row in leaderboard if row["status"] == "completed"), None)
    if best is None:
        update_manifest(manifest_path, status="failed", ended=now_iso(), error="every trial failed")
        first = next((row.get("error") for row in leaderboard if row.get("error")), "no trial ran")
        raise WorkFailed(f"every trial failed; the first: {first}")
    best_config = write_best_config(state.folder, state, best)
    update_manifest(
        manifest_path,
        status="completed",
        ended=now_iso(),
        trials={
            "completed": sum(r["status"] == "completed" for r in leaderboard),
            "failed": sum(r["status"] != "completed" for r in leaderboard),
        },
        best={"trial": best["trial"], "score": best["score"], "values": best["values"]},
        timings={"total_s": round(time.time() - started, 3)},
    )
    return leaderboard, best, best_config


def _open_folder(
    folder: Path | None,
    runs_root: Path,
    loaded: Any,
    data: Any,
    direction: str,
    role: Any,
    *,
    argv: Sequence[str] | None,
    overrides: Sequence[str],
) -> Path:
    """A new tune directory (config.yaml, manifest, HParams set-up), or the resumed one marked running again."""
    from dlflow.config import dump_config
    from dlflow.runs.stages import start_stage

    config, search = loaded.config, loaded.config.search
    searched = {**search.model_dump(mode="json"), "direction": direction}
    if folder is not None:
        manifest = update_manifest(folder / "manifest.json", status="running")
        update_manifest(
            folder / "manifest.json",
            resumes=int(manifest.get("resumes", 0)) + 1,
            resumed=now_iso(),
            command=list(argv or sys.argv),
            search=searched,
        )
        write_text(folder / "config.yaml", dump_config(config))
        return folder
    folder = start_stage(
        runs_root,
        config,
        "tune",
        argv,
        config_file=str(loaded.path),
        overrides=list(overrides),
        search=searched,
        data={"source": data.dataset.source, **data.split.describe(), "trained_on": "train", "scored_on": "validation"},
        resumes=0,
        **({"distributed": role.describe()} if role.distributed else {}),
    )
    write_hparams_config(folder / "trials", search, direction)
    return folder


def _run_marked(state: Any, manifest_path: Path, *, resumed: bool, resume_hint: str) -> Any:
    """Make the tuner and run the search; the manifest marked interrupted or failed when it does not finish."""
    try:
        with contextlib.redirect_stdout(sys.stderr):  # KerasTuner prints its own progress to stdout
            tuner = make_tuner(state)
            state.tuner = tuner
            done_before = completed_trials(tuner.oracle)
            if resumed:
                state.log(f"resuming: {done_before} finished trial(s) kept")
            run_search(tuner, state)
        return tuner
    except KeyboardInterrupt as exc:
        update_manifest(manifest_path, status="interrupted", ended=now_iso())
        raise Interrupted(f"interrupted; resume with: {resume_hint}") from exc
    except BaseException as exc:
        update_manifest(
            manifest_path,
            status="failed",
            ended=now_iso(),
            error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        raise


def _tune_worker(loaded: Any, role: Any, runs_root: Path, log: Log) -> TuneResult:
    """Run the chief's trials until its oracle has none left (KerasTuner's distributed tuning).

    Each trial's folder goes into the chief's tune directory, named in the trial (TUNE_DIR_KEY):
    the same folder on a shared file system, a same-named one on this machine otherwise. The
    chief ranks the trials and writes the leaderboard; this returns the trials run here.
    """
    import tempfile

    config = loaded.config
    data = prepare_data(loaded, runs_root, log)
    search = config.search
    direction = search.direction or monitor_mode(search.objective)
    log(f"tune: tuner {role.tuner_id}: running the trials of the oracle at {role.oracle}")
    until_told = runs_root.resolve() / config.name / f"tune-{role.tuner_id}"  # each trial names the chief's folder
    state = Search(loaded, data, until_told, direction, log, role=role)
    with tempfile.TemporaryDirectory(prefix=f"dlflow-{role.tuner_id}-") as scratch:  # KerasTuner's own files
        with contextlib.redirect_stdout(sys.stderr):
            state.tuner = make_tuner(state, directory=Path(scratch))
            run_search(state.tuner, state)
    ran = [{"trial": trial_id, **entry} for trial_id, entry in state.ran.items()]
    return TuneResult(state.folder, search.objective, direction, ran, None, None, tuner_id=role.tuner_id)


def _resumable_search(resume: str, runs_root: Path, config: Any) -> Path:
    """The tune directory to resume, after checking the config still describes its search."""
    from dlflow.config import load_config
    from dlflow.config.changes import config_changes

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
        raise UsageError(
            f"cannot resume {folder}: the config changed in ways its trials do not share "
            f"(only search.max_trials, runtime and export may change); pass the same --set "
            f"options as the first time",
            details=lines,
        )
    return folder.resolve()
