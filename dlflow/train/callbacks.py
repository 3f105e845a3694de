"""dlflow's own callbacks (always on) and the config's callbacks, in that order."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dlflow.config.keras_object import split_object
from dlflow.config.safety import confine_callback
from dlflow.model.resolve import resolve
from dlflow.runs.layout import RunDir
from dlflow.train.monitoring import monitor_mode


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
        name, kwargs = split_object(spec) or ("", {})
        if isinstance(spec, dict) and name in MONITORING_CALLBACKS:
            if isinstance(kwargs.get("monitor"), str):
                watched.append((kwargs["monitor"], ("fit", "callbacks", index, name, "monitor")))
    for monitor, path in watched:
        if monitor not in known:
            raise ConfigError(
                f"training logs no '{monitor}'{did_you_mean(monitor, known)}; expected one of: {', '.join(known)}",
                config_path=path,
            )


def build_callbacks(run: RunDir, fit_config: Any, *, resuming: bool) -> list[Any]:
    """Checkpoints (backup on an interval, best, last), CSV log, TensorBoard, NaN guard, then the config's."""
    import keras

    from dlflow.config.schema import backup_interval
    from dlflow.train.checkpoints import Checkpoints

    monitor = fit_config.monitor
    own = [
        Checkpoints(
            run,
            monitor,
            backup_interval(fit_config.backup_every),
            best_value=best_so_far(run.history, monitor) if resuming else None,
        ),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(str(run.history), append=resuming),
        EpochTensorBoard(log_dir=str(run.logs)),
    ]
    return own + user_callbacks(fit_config, run.path)


def user_callbacks(fit_config: Any, run_path: Any) -> list[Any]:
    """The config's callbacks, their path arguments confined inside `run_path`."""
    return [
        resolve("callbacks", confine_callback(spec, run_path), ("fit", "callbacks", i))
        for i, spec in enumerate(fit_config.callbacks)
    ]


def _epoch_tensorboard_class():
    import keras

    class EpochTensorBoard(keras.callbacks.TensorBoard):
        """Keras's TensorBoard with epoch summaries only.

        With `update_freq="epoch"` Keras still writes a `batch_*` scalar per metric at every
        step (about 2 ms a step on a small model) and a copy of the validation values per epoch;
        dlflow's logs are the `epoch_*` scalars (train/, validation/), learning rate included.
        """

        def __init__(self, log_dir: str):
            super().__init__(log_dir=log_dir, histogram_freq=0, write_graph=False, update_freq="epoch", profile_batch=0)

        def on_train_batch_begin(self, batch, logs=None):
            pass

        def on_train_batch_end(self, batch, logs=None):
            pass

        def on_test_begin(self, logs=None):  # the epoch's validation values are written at epoch end
            pass

        def on_test_end(self, logs=None):  # (Keras adds an `evaluation_*_vs_iterations` copy of them)
            pass

    return EpochTensorBoard


def EpochTensorBoard(log_dir: str) -> Any:  # noqa: N802 - a factory that reads like the class it builds
    """TensorBoard logs per epoch under `log_dir` (train/, validation/); Keras imported lazily."""
    return _epoch_tensorboard_class()(log_dir)
