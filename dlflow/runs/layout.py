"""The run directory (DESIGN.md §3): runs/<name>/<run-id>/ and every path inside it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RUNS_ROOT = Path("runs")


@dataclass(frozen=True)
class RunDir:
    """Paths of one run. The directory is created by `create_run`, never overwritten."""

    path: Path

    @property
    def experiment_dir(self) -> Path:
        return self.path.parent

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> str:
        return self.path.parent.name

    config = property(lambda self: self.path / "config.yaml")
    manifest = property(lambda self: self.path / "manifest.json")
    history = property(lambda self: self.path / "history.csv")
    metrics = property(lambda self: self.path / "metrics.json")
    evaluation = property(lambda self: self.path / "evaluation.json")
    checkpoints = property(lambda self: self.path / "checkpoints")
    best_checkpoint = property(lambda self: self.path / "checkpoints" / "best.keras")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.keras")
    backup = property(lambda self: self.path / "backup")
    logs = property(lambda self: self.path / "logs")
    model = property(lambda self: self.path / "model.keras")
    export = property(lambda self: self.path / "export")
    report = property(lambda self: self.path / "report.html")
    plots = property(lambda self: self.path / "plots")
    predictions = property(lambda self: self.path / "predictions.csv")
    samples = property(lambda self: self.path / "samples")  # generative models: a grid per epoch


def split_store(runs_root: Path, experiment: str) -> Path:
    """Where an experiment's frozen split lives (shared by all its runs, tune and cv)."""
    return runs_root / experiment / "split.npz"


def new_run_id(now: float | None = None) -> str:
    """A run id from the UTC time, e.g. 20261122-101500."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))


def create_run(runs_root: Path, experiment: str) -> RunDir:
    """Create a fresh run directory; a second run in the same second gets a -2, -3... suffix."""
    base = new_run_id()
    experiment_dir = runs_root / experiment
    experiment_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        path = experiment_dir / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        for sub in ("checkpoints", "logs"):
            (path / sub).mkdir()
        return RunDir(path)
    raise RuntimeError(f"cannot create a run directory under {experiment_dir}")


def stage_dir(runs_root: Path, experiment: str, prefix: str) -> Path:
    """A fresh runs/<experiment>/<prefix>-<UTC id>/ folder (a -2, -3... suffix within one second)."""
    parent = runs_root / experiment
    parent.mkdir(parents=True, exist_ok=True)
    base = f"{prefix}-{new_run_id()}"
    for attempt in range(1, 1000):
        path = parent / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a {prefix} directory under {parent}")
