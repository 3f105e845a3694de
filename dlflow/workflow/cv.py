"""The cv stage: K-fold and iterated K-fold validation on the training and validation data.

The test split is never touched: folds are cut from the experiment's frozen train+validation
samples, reshuffled per repeat, stratified by class for single-target classification (and in
time order, expanding, for time series). Each fold trains a fresh model; the folds' validation
metrics are summarised as mean ± std.

```python
result = cv("configs/wine.yaml", folds=5, repeats=2)
result.summary["val_accuracy"]   # {"mean": 0.96, "std": 0.02, "min": ..., "max": ..., "values": [...]}
```
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dlflow.config.located import located_errors
from dlflow.errors import Interrupted, UsageError, WorkFailed
from dlflow.log import Log, quiet
from dlflow.runs.files import atomic_path
from dlflow.runs.manifest import now_iso, update_manifest, write_json
from dlflow.runs.stages import start_stage
from dlflow.workflow.prepared_data import prepare_data

# History columns that are not metrics of the model.
NOT_METRICS = ("epoch", "learning_rate", "lr")


@dataclass(frozen=True)
class Fold:
    """One fold: dataset indices to train on and to validate on (both from train+validation)."""

    repeat: int
    index: int
    train: np.ndarray
    validation: np.ndarray

    @property
    def name(self) -> str:
        """`r1-f1`, `r1-f2`, ...: the repeat and the fold, counted from 1."""
        return f"r{self.repeat + 1}-f{self.index + 1}"


@dataclass
class CvResult:
    """Where the cross-validation went and what it measured."""

    path: Path
    folds: list[dict[str, Any]]
    summary: dict[str, dict[str, Any]]
    monitor: str


def cv(
    config_file: str | Path,
    overrides: Sequence[str] = (),
    *,
    folds: int = 5,
    repeats: int = 1,
    runs_root: Path = Path("runs"),
    log: Log = quiet,
    argv: Sequence[str] | None = None,
    quiet_tf: bool = False,
) -> CvResult:
    """K-fold (repeats=1) or iterated K-fold validation of the model a config describes.

    Args:
        config_file: the experiment config (YAML).
        overrides: `PATH=VALUE` strings applied before validation.
        folds: K, the number of folds (at least 2).
        repeats: how many times to reshuffle and cut K folds again.
        runs_root: where experiments live; results go to runs/<name>/cv-<UTC id>/.
        log: receives progress lines.
        argv: the command line, recorded in the manifest.
        quiet_tf: load TensorFlow with its start-up noise silenced (the CLI, unless --verbose).

    Raises:
        DataError: a class has fewer samples than folds (stratified), too few samples, repeats on
            time-ordered data, or a streamed table.
        UsageError: folds below 2 or repeats below 1.
    """
    from dlflow.workflow.begin import begin

    started = time.time()
    check_fold_counts(folds, repeats)
    loaded = begin(config_file, overrides, quiet_tf=quiet_tf)
    config = loaded.config
    data = prepare_data(loaded, runs_root, log)
    with located_errors(loaded):
        plan = fold_indices(data.dataset, data.split, folds=folds, repeats=repeats, seed=config.seed)
    folder = _start_folder(runs_root, loaded, data, folds=folds, repeats=repeats, argv=argv, log=log)
    results = _run_folds(plan, loaded, data, folder, log)
    summary = _finish(folder, config, results, folds=folds, repeats=repeats, started=started)
    return CvResult(folder, results, summary, config.fit.monitor)


def _finish(
    folder: Path, config: Any, results: list[dict[str, Any]], *, folds: int, repeats: int, started: float
) -> dict[str, dict[str, Any]]:
    """Write cv.json and mark the manifest completed; the summary over folds (WorkFailed: every fold diverged)."""
    summary = summarize_folds(results)
    if all(r.get("diverged_epoch") for r in results):
        update_manifest(folder / "manifest.json", status="failed", ended=now_iso(), error="every fold diverged")
        raise WorkFailed(
            "training diverged in every fold: the loss became NaN or infinite; lower the learning "
            "rate or check the inputs for NaN"
        )
    write_json(
        folder / "cv.json",
        {
            "experiment": config.name,
            "folds": folds,
            "repeats": repeats,
            "monitor": config.fit.monitor,
            "std": "sample (ddof=1)",
            "summary": summary,
            "per_fold": results,
        },
    )
    update_manifest(
        folder / "manifest.json",
        status="completed",
        ended=now_iso(),
        timings={"total_s": round(time.time() - started, 3)},
    )
    return summary


def _run_folds(plan: list[Fold], loaded: Any, data: Any, folder: Path, log: Log) -> list[dict[str, Any]]:
    """Each fold in turn, its cv.json rows; the manifest says interrupted or failed when one stops."""
    results: list[dict[str, Any]] = []
    try:
        for fold in plan:
            results.append(_run_fold(fold, loaded, data, folder / "folds" / fold.name))
            log(f"fold {fold.name}: " + _describe_fold(results[-1], loaded.config.fit.monitor))
    except KeyboardInterrupt as exc:
        update_manifest(folder / "manifest.json", status="interrupted", ended=now_iso())
        raise Interrupted(f"interrupted after {len(results)} of {len(plan)} folds ({folder})") from exc
    except BaseException as exc:
        update_manifest(
            folder / "manifest.json",
            status="failed",
            ended=now_iso(),
            error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        raise
    return results


def _start_folder(
    runs_root: Path, loaded: Any, data: Any, *, folds: int, repeats: int, argv: Sequence[str] | None, log: Log
) -> Path:
    """A new runs/<name>/cv-<UTC id>/ folder with the resolved config and its manifest (status running)."""
    config = loaded.config
    pool = len(data.split.train) + len(data.split.validation)
    folder = start_stage(
        runs_root,
        config,
        "cv",
        argv,
        folds=folds,
        repeats=repeats,
        monitor=config.fit.monitor,
        data={"source": data.dataset.source, **data.split.describe(), "pool": "train+validation", "pool_size": pool},
    )
    log(
        f"cv: {folder}: {folds} folds x {repeats} repeat(s) over the {pool} train+validation samples; "
        f"the test split is not used"
    )
    return folder


def _run_fold(fold: Fold, loaded: Any, data: Any, fold_dir: Path) -> dict[str, Any]:
    """Train and score one fold in its folder (indices.npz, history.csv, metrics.json); its cv.json row."""
    from dlflow.train.history import summarize_history
    from dlflow.train.session import build_session, fit_in_folder, release_session

    fold_dir.mkdir(parents=True, exist_ok=True)
    _save_indices(fold_dir / "indices.npz", fold)
    train, validation = data.dataset.take(fold.train), data.dataset.take(fold.validation)
    fold_started = time.time()
    session = build_session(loaded, train, validation, quiet)
    fit_in_folder(session, loaded, train, validation, fold_dir)
    metrics = summarize_history(fold_dir / "history.csv", loaded.config.fit.monitor)
    metrics["seconds"] = round(time.time() - fold_started, 3)
    write_json(fold_dir / "metrics.json", metrics)
    release_session(session)
    return fold_record(fold, metrics)


def check_fold_counts(folds: int, repeats: int) -> None:
    """Raise UsageError unless folds >= 2 and repeats >= 1 (cheap: the CLI calls it before TensorFlow loads)."""
    if folds < 2 or repeats < 1:
        raise UsageError(f"expected --folds of at least 2 and --repeats of at least 1, received {folds} and {repeats}")


def fold_indices(dataset: Any, split: Any, *, folds: int, repeats: int, seed: int) -> list[Fold]:
    """The folds of (iterated) K-fold over a frozen split's train+validation samples (`kfold_splits`).

    Args:
        dataset: the whole data set (for its labels and its order).
        split: the experiment's frozen split; its test indices are left out.
        folds: K.
        repeats: reshuffles, each with its own seed (`seed + repeat`); time series get one.
        seed: the shuffles' seed.

    Returns:
        `folds * repeats` folds, repeat by repeat.

    Raises:
        DataError: fewer samples than folds, a class with fewer samples than folds (stratified),
            repeats on time-ordered data, or a streamed table.
    """
    from dlflow.data.kfold import kfold_splits

    cuts = list(kfold_splits(split, dataset, folds=folds, repeats=repeats, seed=seed))
    return [Fold(i // folds, i % folds, train, validation) for i, (train, validation) in enumerate(cuts)]


def fold_record(fold: Fold, metrics: dict[str, Any]) -> dict[str, Any]:
    """One fold's row of cv.json: sizes, epochs, and the metrics at its best epoch."""
    best = metrics.get("best") or {}
    return {
        "fold": fold.name,
        "repeat": fold.repeat + 1,
        "index": fold.index + 1,
        "train": int(len(fold.train)),
        "validation": int(len(fold.validation)),
        "epochs": metrics.get("epochs_completed"),
        "best_epoch": metrics.get("best_epoch"),
        "diverged_epoch": metrics.get("diverged_epoch"),
        "seconds": metrics.get("seconds"),
        "metrics": {k: v for k, v in best.items() if k not in NOT_METRICS and isinstance(v, float)},
    }


def summarize_folds(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """mean, std (sample, ddof=1), min, max and the values of each metric (and best_epoch) over folds.

    Validation metrics come first. A diverged fold has no metrics; it counts as missing.
    """
    names = sorted({k for r in results for k in r["metrics"]}, key=lambda k: (not k.startswith("val_"), k))
    columns = {name: [r["metrics"].get(name) for r in results] for name in names}
    columns["best_epoch"] = [r.get("best_epoch") for r in results]
    summary = {}
    for name, values in columns.items():
        present = np.array([v for v in values if isinstance(v, (int, float))], dtype="float64")
        if not len(present):
            continue
        summary[name] = {
            "mean": float(present.mean()),
            "std": float(present.std(ddof=1)) if len(present) > 1 else 0.0,
            "min": float(present.min()),
            "max": float(present.max()),
            "values": values,
            "missing": len(values) - len(present),
        }
    return summary


def _save_indices(path: Path, fold: Fold) -> None:
    """The fold's dataset indices, written atomically (for audits: none of them is a test index)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, train=fold.train, validation=fold.validation)


def _describe_fold(record: dict[str, Any], monitor: str) -> str:
    if record.get("diverged_epoch"):
        return f"diverged at epoch {record['diverged_epoch']}"
    shown = {k: v for k, v in record["metrics"].items() if k.startswith("val_")} or record["metrics"]
    values = ", ".join(f"{k} {v:.4f}" for k, v in shown.items())
    return f"{values} (best {monitor} at epoch {record['best_epoch']} of {record['epochs']})"
