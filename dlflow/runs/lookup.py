"""Turning a RUN argument into a run directory: a path, or an experiment name meaning its latest run."""

from __future__ import annotations

from pathlib import Path

from dlflow.errors import UsageError
from dlflow.runs.layout import RunDir


def find_run(run: str, runs_root: Path) -> RunDir:
    """The run directory `run` names.

    Args:
        run: a run directory (has a manifest.json), an experiment directory or name (its latest run),
            or `EXPERIMENT/RUN_ID`.
        runs_root: where experiments live (default ./runs).
    """
    for candidate in (Path(run), runs_root / run):
        if is_run_dir(candidate):
            return RunDir(candidate.resolve())
        if candidate.is_dir():
            latest = latest_run(candidate)
            if latest is not None:
                return latest
    for candidate in (Path(run), runs_root / run):
        if _lost_manifest(candidate):
            raise UsageError(f"{candidate / 'manifest.json'}: missing, so '{run}' is a damaged run directory; "
                             f"restore its manifest.json, or train again")
    known = sorted(p.name for p in runs_root.iterdir() if p.is_dir()) if runs_root.is_dir() else []
    hint = f"; experiments in {runs_root}: {', '.join(known)}" if known else f"; {runs_root} has no runs yet"
    raise UsageError(f"no run or experiment '{run}'{hint}")


def is_run_dir(path: Path) -> bool:
    """A training run's directory: a UTC run id (tune-*/cv-* stage folders are not runs)."""
    return path.name[:1].isdigit() and (path / "manifest.json").is_file()


def _lost_manifest(path: Path) -> bool:
    """A run directory (run id, config or checkpoints) whose manifest.json is gone."""
    return (path.name[:1].isdigit() and path.is_dir() and not (path / "manifest.json").exists()
            and ((path / "config.yaml").is_file() or (path / "checkpoints").is_dir()))


def latest_run(experiment_dir: Path) -> RunDir | None:
    """The newest run of an experiment directory (run ids sort by time)."""
    runs = sorted((p for p in experiment_dir.iterdir() if is_run_dir(p)), key=_run_key)
    return RunDir(runs[-1].resolve()) if runs else None


def _run_key(path: Path) -> tuple[str, int]:
    """Sort key for run ids like 20261122-101500 and 20261122-101500-2."""
    stamp, _, suffix = path.name[:15], None, path.name[16:]
    return stamp, int(suffix) if suffix.isdigit() else 1
