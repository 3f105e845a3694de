"""dlflow's own callbacks (always on) and the config's callbacks, in that order."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

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
    if not history_csv.exists():
        return None
    with open(history_csv, newline="") as handle:
        values = [float(row[monitor]) for row in csv.DictReader(handle) if row.get(monitor) not in (None, "")]
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return None
    return max(values) if monitor_mode(monitor) == "max" else min(values)


def build_callbacks(run: RunDir, fit_config: Any, *, resuming: bool, own_loop: bool = False) -> list[Any]:
    """Checkpoints (backup on an interval, best, last), CSV log, TensorBoard, NaN guard, then the config's.

    Args:
        own_loop: the model has its own training loop (a factory's `train_step`): its backup is
            written with Keras's own `save_weights` (it may hold several optimizers).
    """
    import keras

    from dlflow.config.schema import backup_interval
    from dlflow.train.checkpoints import Checkpoints

    monitor = fit_config.monitor
    own = [
        Checkpoints(run, monitor, backup_interval(fit_config.backup_every),
                    best_value=best_so_far(run.history, monitor) if resuming else None, own_loop=own_loop),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(str(run.history), append=resuming),
        EpochTensorBoard(log_dir=str(run.logs)),
    ]
    user = [resolve("callbacks", spec, ("fit", "callbacks", i)) for i, spec in enumerate(fit_config.callbacks)]
    return own + user


def _epoch_tensorboard_class():
    import keras

    class EpochTensorBoard(keras.callbacks.TensorBoard):
        """Keras's TensorBoard with epoch summaries only.

        With `update_freq="epoch"` Keras still writes a `batch_*` scalar per metric at every
        step (about 2 ms a step on a small model) and a copy of the validation values per epoch;
        dlflow's logs are the `epoch_*` scalars (train/, validation/), learning rate included.
        """

        def __init__(self, log_dir: str):
            super().__init__(log_dir=log_dir, histogram_freq=0, write_graph=False, update_freq="epoch",
                             profile_batch=0)

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
