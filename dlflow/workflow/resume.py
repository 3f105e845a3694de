"""Resuming a training run: which run, with which overrides, and what may change."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Any, Sequence

from dlflow.config.changes import config_changes
from dlflow.errors import UsageError
from dlflow.log import Log, quiet
from dlflow.runs.files import atomic_path
from dlflow.runs.layout import RunDir

# Config entries a resumed run may change: they do not invalidate the backed-up training state.
RESUMABLE_CHANGES = ("fit.epochs", "fit.verbose", "fit.backup_every", "runtime.", "export.")


def resume_command(config_file: str | Path, overrides: Sequence[str], run: RunDir, final: bool = False) -> str:
    """The command line that resumes `run`: the same config, --final and --set overrides."""
    import shlex

    words = ["dlflow", "train", str(config_file), *(["--final"] if final else [])]
    for override in overrides:
        words += ["--set", override]
    return shlex.join([*words, "--resume", str(run.path)])


def resumed_overrides(resume: str, runs_root: Path, overrides: Sequence[str], log: Log = quiet) -> list[str]:
    """The run's own --set overrides, then this command's: `train --resume RUN` continues the run
    as it was started even when the overrides are not typed again (later ones win).

    A run that cannot be found here adds nothing (finding it fails later with a clear message;
    on multi_worker workers other than the chief, the chief's run counts).
    """
    from dlflow.runs.lookup import find_run, recorded_overrides

    try:
        run = find_run(resume, runs_root, completed_train=False)
    except UsageError:
        return list(overrides)
    earlier = recorded_overrides(run)
    if earlier:
        log(f"resume: the run's own overrides apply first: {' '.join(f'--set {o}' for o in earlier)}")
    combined = [*earlier, *overrides]
    return [o for i, o in enumerate(combined) if o not in combined[i + 1 :]]  # the last of exact repeats


def trim_history(run: RunDir, log: Log = quiet) -> None:
    """Drop history rows past the backed-up epoch (they will be trained again)."""
    from dlflow.train.checkpoints import backed_up_epoch

    epoch = backed_up_epoch(run.backup)
    if epoch is None or not run.history.exists():
        return
    with open(run.history, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        rows = [r for r in reader if r and int(float(r[0])) < epoch]
    if header is None:
        return
    with atomic_path(run.history) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def resumable_run(resume: str, runs_root: Path, config: Any, log: Log, held: contextlib.ExitStack) -> RunDir:
    """The run to resume, locked into `held`, after checking the config still fits its backed-up state."""
    from dlflow.config import load_config
    from dlflow.runs.lock import run_lock
    from dlflow.runs.lookup import find_run

    run = find_run(resume, runs_root, log, completed_train=False)
    held.enter_context(run_lock(run))  # before anything reads its state
    if not run.config.exists():
        raise UsageError(f"{run.path}: not a run directory (no config.yaml)")
    previous = load_config(run.config).config
    if previous.name != config.name:
        raise UsageError(f"{run.path} belongs to experiment '{previous.name}', not '{config.name}'")
    changes = config_changes(previous.model_dump(mode="json"), config.model_dump(mode="json"))
    blocking = [c for c in changes if not c[0].startswith(RESUMABLE_CHANGES)]
    if blocking:
        lines = [f"  {path}: {old!r} -> {new!r}" for path, old, new in blocking]
        raise UsageError(
            f"cannot resume {run.path}: the config changed in ways that invalidate its "
            f"backed-up state (only fit.epochs, runtime and export may change)",
            details=lines,
        )
    return run
