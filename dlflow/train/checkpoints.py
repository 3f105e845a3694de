"""Resumable training state and "best" without a full Keras save every epoch.

`Checkpoints` writes backup/ (the weights and optimizer state of the last finished epoch) at
most once per `fit.backup_every` interval, on Ctrl-C/SIGTERM (`save_interrupted`) and at the
end; it keeps the best weights by `fit.monitor` as an in-memory copy, written into the backup
with it and as checkpoints/best.keras at the end. checkpoints/last.keras is written at the end.

The backup is one `state.npz` (every variable of the model and of its optimizers, in order, with
their paths and the epoch), written to a temporary file and renamed: a run killed at any moment
resumes from the last complete backup. The optimizers are `model.optimizer` and every optimizer
the model holds as an attribute (a GAN's `d_optimizer` and `g_optimizer`: its own `train_step`
builds them on its first step); the backup records which model variables each was built on,
so that resuming builds them the same way before their iterations and slots are restored.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

from dlflow.runs.files import atomic_path, write_text

STATE = "state.npz"
METADATA = "training_metadata.json"  # the backed-up epoch, as Keras's BackupAndRestore writes it
KERAS_WEIGHTS = "latest.weights.h5"  # older backups of models with their own train_step


def optimizers(model: Any) -> list[Any]:
    """`model.optimizer` and the optimizers the model holds as attributes (by name), each once."""
    import keras

    found = [getattr(model, "optimizer", None)]
    found += [value for _, value in sorted(vars(model).items()) if isinstance(value, keras.optimizers.Optimizer)]
    unique: dict[int, Any] = {id(o): o for o in found if isinstance(o, keras.optimizers.Optimizer)}
    return list(unique.values())


def _variables(model: Any) -> list[Any]:
    return list(model.variables) + [v for optimizer in optimizers(model) for v in optimizer.variables]


def _comparable(paths: list[str], own: int) -> list[str]:
    """Variable paths with the optimizer's name left out (`adam_1/iteration` -> `optimizer/iteration`):
    each phase of fit.phases compiles a new optimizer, which Keras names adam, adam_1, ..."""
    return paths[:own] + [f"optimizer/{p.split('/', 1)[-1]}" for p in paths[own:]]


def _arrays(variables: list[Any]) -> list[Any]:
    import keras

    return [keras.ops.convert_to_numpy(v) for v in variables]


def _built_on(model: Any) -> list[list[int] | None]:
    """For each optimizer, the indices in `model.variables` of the variables it was built on (None: unbuilt)."""
    index = {id(v): i for i, v in enumerate(model.variables)}
    return [
        [index[id(v)] for v in optimizer._trainable_variables] if optimizer.built else None
        for optimizer in optimizers(model)
    ]


def _build_optimizers(model: Any, built_on: list[list[int] | None] | None) -> None:
    """Build each optimizer as it was when backed up (a model's own train_step builds its own lazily);
    for an older backup (None), `model.optimizer` on the trainable variables, as Keras's fit does."""
    if built_on is None:
        built_on = [None] * len(optimizers(model))
        if getattr(model, "optimizer", None) is not None:
            built_on[0] = [i for i, v in enumerate(model.variables) if v.trainable]
    variables = list(model.variables)
    for optimizer, indices in zip(optimizers(model), built_on, strict=False):
        if indices is not None and not optimizer.built:
            optimizer.build([variables[i] for i in indices])


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    write_text(path, json.dumps(data))


def backed_up_epoch(backup: Path) -> int | None:
    """The epochs a run's backup/ holds (state.npz; training_metadata.json for older runs), None if none."""
    import numpy as np

    state, metadata = Path(backup) / STATE, Path(backup) / METADATA
    if state.exists():
        with np.load(state) as saved:
            return int(json.loads(saved["meta"].tobytes().decode())["epoch"])
    return int(json.loads(metadata.read_text())["epoch"]) if metadata.exists() else None


def write_state(folder: Path, model: Any, epoch: int, arrays: list[Any] | None, best: tuple[Any, Any]) -> None:
    """Write backup/state.npz (and training_metadata.json): the state after `epoch` epochs.

    Args:
        arrays: the values of `_variables(model)` (a copy taken at the epoch's end), or None for now's.
        best: (the best value of the monitor, the best weights), or (None, None).
    """
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    variables = _variables(model)
    extra = {f"v{i}": a for i, a in enumerate(arrays if arrays is not None else _arrays(variables))}
    extra.update({f"b{i}": a for i, a in enumerate(best[1] or [])})
    meta = {
        "epoch": epoch,
        "paths": [v.path for v in variables],
        "best_value": best[0],
        "best_count": len(best[1] or []),
        "optimizers_built_on": _built_on(model),
    }
    with atomic_path(folder / STATE) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **extra)
    _atomic_json(folder / METADATA, {"epoch": epoch, "batch": 0})


def read_state(folder: Path, model: Any, *, phase_start: int | None = None) -> tuple[int, Any, Any]:
    """Restore the model and its optimizers from backup/; (epochs held, best value, best weights).

    Args:
        phase_start: the first epoch of the current phase of fit.phases (None without phases): a
            backup taken exactly there restores the model's variables only, the phase's optimizer is new.

    Raises:
        UsageError: the backed-up variables are not this model's.
    """
    import numpy as np

    if not (folder / STATE).exists():
        return 0, None, None
    with np.load(folder / STATE) as saved:
        meta = json.loads(saved["meta"].tobytes().decode())
        new_phase = phase_start is not None and phase_start == meta["epoch"]
        if not new_phase:
            _build_optimizers(model, meta.get("optimizers_built_on"))
        if "v0" not in saved.files and (folder / KERAS_WEIGHTS).exists():
            model.load_weights(folder / KERAS_WEIGHTS)  # an older backup of a model with its own train_step
        else:
            own = len(model.variables)
            variables = _variables(model)[:own] if new_phase else _variables(model)
            paths = [v.path for v in variables]
            if _comparable(meta["paths"][: len(paths)], own) != _comparable(paths, own):
                from dlflow.errors import UsageError

                raise UsageError(
                    f"{folder}: the backed-up state does not fit this model (its variables differ); start a new run"
                )
            for i, variable in enumerate(variables):
                variable.assign(saved[f"v{i}"])
        best = [saved[f"b{i}"] for i in range(meta.get("best_count") or 0)] or None
    return int(meta["epoch"]), meta["best_value"] if best else None, best


def _save_model(model: Any, path: Path, weights: list[Any] | None = None) -> None:
    """model.save to `path` atomically; with `weights` set for the save only (the model keeps its own)."""
    current = model.get_weights() if weights is not None else None
    if weights is not None:
        model.set_weights(weights)
    try:
        with atomic_path(Path(path), suffix=".keras") as tmp:
            model.save(tmp)
    finally:
        if current is not None:
            model.set_weights(current)


def _copy(source: Path, path: Path) -> None:
    with atomic_path(Path(path)) as tmp:
        shutil.copyfile(source, tmp)


class _CheckpointEvents:
    """Backup on an interval, best kept in memory, last and best written at the end.

    The events of a Keras callback; `_checkpoints_class` joins them to `keras.callbacks.Callback`
    (Keras imported lazily).
    """

    def __init__(self, run: Any, monitor: str, every: tuple[str, float], *, best_value: float | None):
        from dlflow.train.monitoring import monitor_mode

        super().__init__()
        self.run, self.monitor, self.every, self.maximize = run, monitor, every, monitor_mode(monitor) == "max"
        self.best_value, self.best_weights, self.best_written, self.best_epoch = best_value, None, True, None
        self.epoch, self.saved_epoch, self.saved_at, self.snapshot = 0, 0, time.monotonic(), None
        self.restored = False  # the backup is restored by the first fit only (fit.phases fits several times)
        self.phase_start = None  # where the current phase of fit.phases starts (its optimizer is new there)

    def on_train_begin(self, logs=None):
        if not self.restored:  # the first fit only (fit.phases fits once per phase)
            self.epoch, best_value, best_weights = read_state(
                Path(self.run.backup), self.model, phase_start=self.phase_start
            )
            if best_weights is not None:
                self.best_value, self.best_weights = best_value, best_weights
            self.model._initial_epoch = self.saved_epoch = self.epoch  # fit starts from there
            self.restored = True
        self.saved_at = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch, value = epoch + 1, (logs or {}).get(self.monitor)
        if (
            isinstance(value, (int, float))
            and not math.isnan(value)
            and (self.best_value is None or (value > self.best_value if self.maximize else value < self.best_value))
        ):
            self.best_value, self.best_weights, self.best_written = float(value), self.model.get_weights(), False
            self.best_epoch = self.epoch
        unit, amount = self.every
        if (self.epoch - self.saved_epoch if unit == "epochs" else time.monotonic() - self.saved_at) >= amount:
            self.save()
        else:  # in memory, for Ctrl-C/SIGTERM before the next backup
            self.snapshot = (self.epoch, _arrays(_variables(self.model)))

    def on_train_end(self, logs=None):
        if self.saved_epoch != self.epoch:
            self.save()
        _save_model(self.model, self.run.last_checkpoint)
        if not self.best_written and self.best_epoch == self.epoch:  # best is last: a copy
            _copy(self.run.last_checkpoint, self.run.best_checkpoint)
            self.best_written = True
        self.write_best()

    def save(self, arrays: list[Any] | None = None) -> None:
        """Back up the state after `self.epoch` epochs (the model's variables, or `arrays`)."""
        write_state(Path(self.run.backup), self.model, self.epoch, arrays, (self.best_value, self.best_weights))
        self.saved_epoch, self.saved_at = self.epoch, time.monotonic()

    def save_interrupted(self) -> None:
        """On Ctrl-C/SIGTERM: back up the last finished epoch (its state was copied in memory)."""
        if self.snapshot is not None and self.snapshot[0] == self.epoch and self.saved_epoch != self.epoch:
            self.save(self.snapshot[1])
        self.write_best()

    def write_best(self) -> None:
        if self.best_weights is not None and not self.best_written:
            _save_model(self.model, self.run.best_checkpoint, self.best_weights)
            self.best_written = True

    def resume_epoch(self) -> int:
        """The epochs the run's backup holds (where a resumed run starts), 0 when none."""
        return backed_up_epoch(self.run.backup) or 0


def _checkpoints_class():
    import keras

    class Checkpoints(_CheckpointEvents, keras.callbacks.Callback):
        """Backup on an interval, best kept in memory, last and best written at the end."""

    return Checkpoints


def Checkpoints(run: Any, monitor: str, every: tuple[str, float], *, best_value: float | None = None) -> Any:  # noqa: N802
    """The checkpointing callback (Keras imported lazily); see the module docstring."""
    return _checkpoints_class()(run, monitor, every, best_value=best_value)
