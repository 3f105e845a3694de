"""`dlflow runs`: one row per run, read from manifests and metrics (imports no TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlflow.config.overrides import flatten
from dlflow.errors import UsageError
from dlflow.runs.lookup import is_run_dir
from dlflow.runs.manifest import read_json


def list_runs(runs_root: Path, experiment: str | None = None) -> list[dict[str, Any]]:
    """Rows (experiment, run, status, monitor, best, epochs, duration_s, path), newest first per experiment."""
    rows = []
    if not runs_root.is_dir():
        return rows
    for manifest_path in sorted(runs_root.glob("*/*/manifest.json")):
        run_dir = manifest_path.parent
        if not is_run_dir(run_dir):
            continue  # tune-*/cv-* folders hold stages, not runs
        if experiment is not None and run_dir.parent.name != experiment:
            continue
        try:
            manifest = read_json(manifest_path)
        except UsageError:
            manifest = {"status": "damaged"}  # shown, not hidden: `dlflow evaluate` says what is wrong
        metrics = {}
        if (run_dir / "metrics.json").is_file():
            try:
                metrics = read_json(run_dir / "metrics.json")
            except UsageError:
                pass
        rows.append(
            {
                "experiment": run_dir.parent.name,
                "run": run_dir.name,
                "status": manifest.get("status", "?"),
                "monitor": metrics.get("monitor", manifest.get("monitor")),
                "best": metrics.get("best_value"),
                "best_epoch": metrics.get("best_epoch"),
                "epochs": metrics.get("epochs_completed"),
                "duration_s": (manifest.get("timings") or {}).get("total_s"),
                "path": str(run_dir),
            }
        )
    rows.sort(key=lambda r: (r["experiment"], r["run"]), reverse=False)
    if experiment is not None:
        rows = rank_runs(rows)
        _add_config_differences(rows)
    return rows


def rank_runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs sorted best first by their monitored metric (runs without a score last)."""

    def key(row: dict[str, Any]) -> tuple:
        best = row.get("best")
        if not isinstance(best, (int, float)):
            return (1, 0.0)
        name = str(row.get("monitor") or "")
        maximize = any(w in name.removeprefix("val_") for w in ("acc", "auc", "precision", "recall", "f1", "iou", "r2"))
        return (0, -best if maximize else best)

    return sorted(rows, key=key)


def _add_config_differences(rows: list[dict[str, Any]]) -> None:
    """Add row["differs"]: the config values (by dotted path) that are not the same in every run."""
    import yaml

    flat = []
    for row in rows:
        try:
            config = yaml.safe_load((Path(row["path"]) / "config.yaml").read_text()) or {}
        except (OSError, yaml.YAMLError):
            config = {}
        flat.append(flatten(config))
    paths = sorted({p for f in flat for p in f})
    differing = [p for p in paths if len({repr(f.get(p)) for f in flat}) > 1]
    for row, values in zip(rows, flat):
        row["differs"] = {p: values.get(p) for p in differing}
