"""Turning a RUN argument into a run directory: a path, or an experiment name meaning its latest
completed `train` run (DESIGN.md §1).

A run directory given as a path is used as it is. An experiment name (or folder) stands for its
latest run whose manifest says `status: completed` and whose stage is `train` (`dlflow train`,
also `--final`); the full run of `dlflow develop`, tune and cv folders never stand for the
experiment, and a run still training, failed or interrupted is skipped. Whenever a name was
resolved, `log` is told which run was chosen and why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from dlflow.errors import UsageError
from dlflow.runs.layout import RunDir

STAGES = ("train", "develop")  # the commands that write run directories; their manifests say which


def find_run(
    run: str, runs_root: Path, log: Callable[[str], None] | None = None, *, completed_train: bool = True
) -> RunDir:
    """The run directory `run` names.

    Args:
        run: a run directory (has a manifest.json), an experiment directory or name, or
            `EXPERIMENT/RUN_ID`.
        runs_root: where experiments live (default ./runs).
        log: told which run an experiment name resolved to, and why (the CLI prints it to stderr).
        completed_train: an experiment name means its latest completed `train` run (False: its
            latest run of any stage and status, e.g. for `train --resume NAME`).
    """
    for candidate in (Path(run), runs_root / run):
        if is_run_dir(candidate):
            return RunDir(candidate.resolve())
        if candidate.is_dir() and any(is_run_dir(p) for p in candidate.iterdir()):
            chosen, why = _pick(candidate, completed_train)
            if log is not None:
                log(f"using run {_shown(chosen.path)} ({why} of '{candidate.name}')")
            return chosen
    for candidate in (Path(run), runs_root / run):
        if _lost_manifest(candidate):
            raise UsageError(
                f"{candidate / 'manifest.json'}: missing, so '{run}' is a damaged run directory; "
                f"restore its manifest.json, or train again"
            )
    known = sorted(p.name for p in runs_root.iterdir() if p.is_dir()) if runs_root.is_dir() else []
    hint = f"; experiments in {runs_root}: {', '.join(known)}" if known else f"; {runs_root} has no runs yet"
    raise UsageError(f"no run or experiment '{run}'{hint}")


def is_run_dir(path: Path) -> bool:
    """A training run's directory: a UTC run id (tune-*/cv-* stage folders are not runs)."""
    return path.name[:1].isdigit() and (path / "manifest.json").is_file()


def _lost_manifest(path: Path) -> bool:
    """A run directory (run id, config or checkpoints) whose manifest.json is gone."""
    return (
        path.name[:1].isdigit()
        and path.is_dir()
        and not (path / "manifest.json").exists()
        and ((path / "config.yaml").is_file() or (path / "checkpoints").is_dir())
    )


def latest_run(experiment_dir: Path) -> RunDir | None:
    """The newest run of an experiment directory, whatever its stage and status (run ids sort by time)."""
    runs = sorted((p for p in experiment_dir.iterdir() if is_run_dir(p)), key=_run_key)
    return RunDir(runs[-1].resolve()) if runs else None


def latest_completed_train_run(experiment_dir: Path) -> RunDir | None:
    """The newest run of an experiment that `dlflow train` completed, or None."""
    runs = sorted((p for p in experiment_dir.iterdir() if is_run_dir(p)), key=_run_key)
    for path in reversed(runs):
        manifest = _manifest(path)
        if manifest.get("status") == "completed" and run_stage(manifest) == "train":
            return RunDir(path.resolve())
    return None


def run_stage(manifest: dict) -> str:
    """Which command wrote a run: its manifest's `stage`, else the command line's subcommand."""
    if manifest.get("stage") in STAGES:
        return manifest["stage"]
    command = manifest.get("command") or []
    return next((word for word in command[1:] if word in STAGES), "train")


def recorded_overrides(run: RunDir) -> list[str]:
    """The `--set` overrides a run was started with: its manifest's `overrides`, else (runs made
    before dlflow recorded them) the `--set` values of its command line."""
    manifest = _manifest(run.path)
    if isinstance(manifest.get("overrides"), list):
        return [str(o) for o in manifest["overrides"]]
    command, found = [str(w) for w in manifest.get("command") or []], []
    for i, word in enumerate(command):
        if word == "--set" and i + 1 < len(command):
            found.append(command[i + 1])
        elif word.startswith("--set="):
            found.append(word[len("--set=") :])
    return found


def _pick(experiment_dir: Path, completed_train: bool) -> tuple[RunDir, str]:
    if not completed_train:
        return latest_run(experiment_dir), "latest run"
    chosen = latest_completed_train_run(experiment_dir)
    if chosen is not None:
        return chosen, "latest completed train run"
    runs = sorted((p for p in experiment_dir.iterdir() if is_run_dir(p)), key=_run_key)
    listed = [
        f"  {p.name}: {run_stage(m := _manifest(p))} run, {m.get('status', 'no readable manifest')}" for p in runs
    ]
    raise UsageError(
        f"experiment '{experiment_dir.name}' has no completed train run (its develop, tune and cv "
        f"runs and unfinished runs do not stand for it); run `dlflow train`, `--resume` one of "
        f"these, or name a run directory",
        details=listed,
    )


def _manifest(path: Path) -> dict:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _shown(path: Path) -> str:
    """The run's path relative to the working folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _run_key(path: Path) -> tuple[str, int]:
    """Sort key for run ids like 20261122-101500 and 20261122-101500-2."""
    stamp, _, suffix = path.name[:15], None, path.name[16:]
    return stamp, int(suffix) if suffix.isdigit() else 1
