"""`dlflow train --final`: the last run before deploying, on training + validation data.

Once the model and its hyperparameters are settled, the validation data has done its job; the
final run trains on it too, for the best epoch count an earlier completed run of the
experiment found (its metrics.json `best_epoch`). With no validation data left, "best" is
judged on the training loss and callbacks that watch a validation metric are dropped. The
test split stays untouched: `dlflow evaluate` on the final run works as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlflow.config.keras_object import split_object
from dlflow.errors import UsageError
from dlflow.runs.manifest import read_json

# Keras callbacks watch `monitor`, which defaults to val_loss when it is not written.
DEFAULT_MONITOR = "val_loss"


@dataclass
class FinalPlan:
    """Where the epoch count comes from, and the overrides that make the final config."""

    source: Path
    epochs: int
    overrides: list[str]
    notices: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for the final run's manifest."""
        return {
            "from_run": str(self.source),
            "epochs": self.epochs,
            "trained_on": "train+validation",
            "notices": self.notices,
        }


def plan_final(config: Any, runs_root: Path) -> FinalPlan:
    """The final run's epoch count and config overrides, from the experiment's latest usable run.

    Args:
        config: the experiment config (validated).
        runs_root: where experiments live.

    Raises:
        UsageError: no completed, non-final run with a best epoch exists for the experiment.
    """
    source, best_epoch = best_epoch_source(runs_root / config.name)
    if source is None:
        raise UsageError(
            f"dlflow train --final takes its epoch count from a completed run of experiment "
            f"'{config.name}', and there is none in {runs_root / config.name}; train first: "
            f"dlflow train CONFIG"
        )
    overrides, notices = [f"fit.epochs={best_epoch}"], []
    changed = _changes_since(source, config)
    if changed:
        notices.append(
            f"the config differs from that run's ({', '.join(changed[:3])}"
            f"{', ...' if len(changed) > 3 else ''}): its best epoch may not carry over"
        )
    if config.fit.monitor.startswith("val_"):
        overrides.append("fit.monitor=loss")
        notices.append(f"no validation data: fit.monitor {config.fit.monitor} -> loss")
    kept = []
    for spec in config.fit.callbacks:
        watched = _monitor_of(spec)
        if watched is not None and watched.startswith("val_"):
            notices.append(f"no validation data: dropped callback {_name_of(spec)} (it monitors {watched})")
        else:
            kept.append(spec)
    if len(kept) != len(config.fit.callbacks):
        from dlflow.config.search_space import one_line_yaml

        overrides.append(f"fit.callbacks={one_line_yaml(kept)}")
    return FinalPlan(source, best_epoch, overrides, notices)


def final_config(loaded: Any, *, runs_root: Path, plans: list[FinalPlan]) -> Any:
    """The loaded config with the final run's overrides applied (`begin`'s check for `train --final`).

    The plan is appended to `plans`; the config file is not read again.
    """
    from dlflow.config import with_overrides

    plan = plan_final(loaded.config, runs_root)
    plans.append(plan)
    return with_overrides(loaded, plan.overrides)


def best_epoch_source(experiment_dir: Path) -> tuple[Path | None, int]:
    """The latest completed, non-final run of an experiment with a best epoch, and that epoch.

    Tune and cv directories (no metrics.json) and final runs are skipped.
    """
    candidates = []
    if experiment_dir.is_dir():
        for run in experiment_dir.iterdir():
            if not ((run / "manifest.json").is_file() and (run / "metrics.json").is_file()):
                continue
            manifest = read_json(run / "manifest.json")
            if manifest.get("status") != "completed" or manifest.get("final") or manifest.get("kind"):
                continue
            best = read_json(run / "metrics.json").get("best_epoch")
            if isinstance(best, int) and best > 0:
                candidates.append((str(manifest.get("created", "")), run.name, run, best))
    if not candidates:
        return None, 0
    _, _, run, best = max(candidates)
    return run.resolve(), best


def _changes_since(source: Path, config: Any) -> list[str]:
    """Config paths that differ from the source run's, beyond what the final run changes itself."""
    from dlflow.config import load_config
    from dlflow.config.changes import config_changes
    from dlflow.errors import ConfigError

    try:
        previous = load_config(source / "config.yaml").config
    except ConfigError:
        return ["its config.yaml no longer loads"]
    ignored = ("fit.epochs", "fit.monitor", "fit.callbacks", "fit.verbose", "runtime.", "export.", "search")
    changes = config_changes(previous.model_dump(mode="json"), config.model_dump(mode="json"))
    return [path for path, _, _ in changes if not path.startswith(ignored)]


def train_and_validation(data: Any) -> Any:
    """The prepared data with training = train + validation samples and no validation samples."""
    from dataclasses import replace

    from dlflow.errors import DataError

    if getattr(data, "stream", None) is not None:
        raise DataError(
            f"{data.dataset.source}: dlflow train --final needs the table in memory, but it is "
            f"streamed; set data.streaming.enabled: false",
            config_path=("data", "streaming"),
        )
    split = data.split
    together = np.sort(np.concatenate([split.train, split.validation]))
    return replace(data, train=data.dataset.take(together), validation=data.dataset.take(together[:0]))


def _monitor_of(spec: Any) -> str | None:
    """What a callback spec monitors: its `monitor` argument, or Keras's default when it takes one."""
    name, kwargs = split_object(spec) or (_name_of(spec), {})
    if "monitor" in kwargs:
        return str(kwargs["monitor"])
    return DEFAULT_MONITOR if _takes_monitor(str(name)) else None


def _takes_monitor(name: str) -> bool:
    from dlflow.config.catalogue import load_catalogue

    info = load_catalogue()["callbacks"].classes.get(name)
    return info is not None and "monitor" in info.args


def _name_of(spec: Any) -> str:
    return next(iter(spec)) if isinstance(spec, dict) else str(spec)
