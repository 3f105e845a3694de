"""dlflow's own callbacks (always on) and the config's callbacks, in that order."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dlflow.config.safety import confine_callback
from dlflow.model.resolve import resolve
from dlflow.runs.layout import RunDir


def monitor_mode(monitor: str) -> str:
    """'max' for accuracy-like metrics, 'min' for losses and errors (Keras's own rule)."""
    name = monitor.removeprefix("val_")
    if any(word in name for word in ("acc", "auc", "precision", "recall", "f1", "iou", "r2")):
        return "max"
    return "min"


def best_so_far(history_csv: Path, monitor: str) -> float | None:
    """The best value of `monitor` in an existing history.csv (for resumed runs)."""
    from dlflow.runs.history import read_history

    if not history_csv.exists():
        return None
    values = [v for v in read_history(history_csv).get(monitor, []) if not math.isnan(v)]
    if not values:
        return None
    return max(values) if monitor_mode(monitor) == "max" else min(values)


MONITORING_CALLBACKS = ("EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint")


def check_monitors(fit_config: Any, logged: list[str] | None, *, validation: bool) -> None:
    """Refuse a `fit.monitor` (or a callback's `monitor`) that training will never log.

    Keras only warns about an unknown monitor, and then never saves a best checkpoint or stops early.

    Args:
        logged: the names training logs (`dlflow.model.build.logged_names`), without `val_`; None when
            only the model's own steps know (a factory model compiled by its factory): not checked.
        validation: whether there is validation data (`val_` names exist only then).
    """
    from dlflow.config.problems import did_you_mean
    from dlflow.errors import ConfigError

    if logged is None:
        return
    known = [*logged, *(f"val_{name}" for name in logged if validation)]
    watched = [(fit_config.monitor, ("fit", "monitor"))]
    for index, spec in enumerate(fit_config.callbacks):
        if isinstance(spec, dict) and next(iter(spec)) in MONITORING_CALLBACKS:
            name, kwargs = next(iter(spec.items()))
            if isinstance((kwargs or {}).get("monitor"), str):
                watched.append((kwargs["monitor"], ("fit", "callbacks", index, name, "monitor")))
    for monitor, path in watched:
        if monitor not in known:
            raise ConfigError(f"training logs no '{monitor}'{did_you_mean(monitor, known)}; expected one of: "
                              f"{', '.join(known)}", config_path=path)


def build_callbacks(run: RunDir, fit_config: Any, *, resuming: bool) -> list[Any]:
    """Checkpoints (best by fit.monitor, last), TensorBoard, CSV log, backup, NaN guard, then the config's."""
    import keras

    monitor = fit_config.monitor
    own = [
        keras.callbacks.BackupAndRestore(str(run.backup), double_checkpoint=True, delete_checkpoint=False),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(
            str(run.best_checkpoint), monitor=monitor, mode=monitor_mode(monitor), save_best_only=True,
            initial_value_threshold=best_so_far(run.history, monitor) if resuming else None, verbose=0,
        ),
        SaveLast(run.last_checkpoint),
        keras.callbacks.CSVLogger(str(run.history), append=resuming),
        keras.callbacks.TensorBoard(log_dir=str(run.logs), histogram_freq=0, write_graph=False,
                                    update_freq="epoch"),
    ]
    user = [resolve("callbacks", confine_callback(spec, run.path), ("fit", "callbacks", i))
            for i, spec in enumerate(fit_config.callbacks)]
    return own + user


def _save_last_class():
    import keras

    class SaveLast(keras.callbacks.Callback):
        """Save the model as it is at the end of training (checkpoints/last.keras).

        Saving once at the end, not every epoch, keeps checkpoint I/O out of the epoch loop;
        the per-epoch resumable state is BackupAndRestore's.
        """

        def __init__(self, path: Path):
            super().__init__()
            self.path = Path(path)

        def on_train_end(self, logs=None):
            tmp = self.path.with_name(f".{self.path.stem}.tmp.keras")
            self.model.save(tmp)
            tmp.replace(self.path)

    return SaveLast


def SaveLast(path: Path) -> Any:  # noqa: N802 - a factory that reads like the class it builds
    """A callback saving checkpoints/last.keras at the end of training (Keras imported lazily)."""
    return _save_last_class()(path)
