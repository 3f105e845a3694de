"""Resumable training state and "best" without a full Keras save every epoch.

`Checkpoints` writes backup/ (the weights and optimizer state of the last finished epoch) at
most once per `fit.backup_every` interval, on Ctrl-C/SIGTERM (`save_interrupted`) and at the
end; it keeps the best weights by `fit.monitor` as an in-memory copy, written into the backup
with it and as checkpoints/best.keras at the end. checkpoints/last.keras is written at the end.

The backup is one `state.npz` (every variable of the model and its optimizer, in order, with
their paths and the epoch), written to a temporary file and renamed: a run killed at any moment
resumes from the last complete backup. Models with their own training loop (a factory's
`train_step`, possibly several optimizers) are backed up with Keras's own `save_weights`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

STATE = "state.npz"
METADATA = "training_metadata.json"  # the backed-up epoch, as Keras's BackupAndRestore writes it
KERAS_WEIGHTS = "latest.weights.h5"


def _variables(model: Any) -> list[Any]:
    optimizer = getattr(model, "optimizer", None)
    return list(model.variables) + (list(optimizer.variables) if optimizer is not None else [])


def _comparable(paths: list[str], own: int) -> list[str]:
    """Variable paths with the optimizer's name left out (`adam_1/iteration` -> `optimizer/iteration`):
    each phase of fit.phases compiles a new optimizer, which Keras names adam, adam_1, ..."""
    return paths[:own] + [f"optimizer/{p.split('/', 1)[-1]}" for p in paths[own:]]


def _arrays(variables: list[Any]) -> list[Any]:
    import keras

    return [keras.ops.convert_to_numpy(v) for v in variables]


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def backed_up_epoch(backup: Path) -> int | None:
    """The epochs a run's backup/ holds (state.npz; training_metadata.json for older runs), None if none."""
    import numpy as np

    state, metadata = Path(backup) / STATE, Path(backup) / METADATA
    if state.exists():
        with np.load(state) as saved:
            return int(json.loads(saved["meta"].tobytes().decode())["epoch"])
    return int(json.loads(metadata.read_text())["epoch"]) if metadata.exists() else None


def _checkpoints_class():
    import keras
    import numpy as np

    from dlflow.train.monitoring import monitor_mode

    class Checkpoints(keras.callbacks.Callback):
        """Backup on an interval, best kept in memory, last and best written at the end."""

        def __init__(self, run: Any, monitor: str, every: tuple[str, float], *, best_value: float | None,
                     own_loop: bool):
            super().__init__()
            self.run, self.monitor, self.every, self.own_loop = run, monitor, every, own_loop
            self.better = (lambda a, b: a > b) if monitor_mode(monitor) == "max" else (lambda a, b: a < b)
            self.best_value, self.best_weights, self.best_written, self.best_epoch = best_value, None, True, None
            self.epoch, self.saved_epoch, self.saved_at, self.snapshot = 0, 0, time.monotonic(), None
            self.restored = False  # the backup is restored by the first fit only (fit.phases fits several times)
            self.phase_start = None  # where the current phase of fit.phases starts (its optimizer is new there)

        # -- training events -------------------------------------------------------------------
        def on_train_begin(self, logs=None):
            self._optimizer_built()
            if not self.restored:
                self.epoch = self.saved_epoch = self._restore()
                self.restored = True
            self.saved_at = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch = epoch + 1
            value = (logs or {}).get(self.monitor)
            if isinstance(value, (int, float)) and not math.isnan(value) and (
                    self.best_value is None or self.better(value, self.best_value)):
                self.best_value, self.best_weights, self.best_written = float(value), self.model.get_weights(), False
                self.best_epoch = self.epoch
            if self._due():
                self.save()
            elif not self.own_loop:  # in memory, for Ctrl-C/SIGTERM before the next backup
                self.snapshot = (self.epoch, _arrays(_variables(self.model)))

        def on_train_end(self, logs=None):
            if self.saved_epoch != self.epoch:
                self.save()
            self._save_model(self.run.last_checkpoint)
            if not self.best_written and self.best_epoch == self.epoch:  # best is last: a copy
                tmp = Path(self.run.best_checkpoint).with_name(".best.tmp.keras")
                shutil.copyfile(self.run.last_checkpoint, tmp)
                os.replace(tmp, self.run.best_checkpoint)
                self.best_written = True
            self.write_best()

        # -- writing -----------------------------------------------------------------------------
        def _due(self) -> bool:
            unit, amount = self.every
            if unit == "epochs":
                return self.epoch - self.saved_epoch >= amount
            return time.monotonic() - self.saved_at >= amount

        def save(self, arrays: list[Any] | None = None) -> None:
            """Back up the state after `self.epoch` epochs (the model's variables, or `arrays`)."""
            folder = Path(self.run.backup)
            folder.mkdir(parents=True, exist_ok=True)
            if self.own_loop:
                tmp = folder / f".tmp.{KERAS_WEIGHTS}"
                self.model.save_weights(tmp, overwrite=True)
                os.replace(tmp, folder / KERAS_WEIGHTS)
            variables = _variables(self.model)
            extra = {} if self.own_loop else {f"v{i}": a for i, a in enumerate(arrays or _arrays(variables))}
            if self.best_weights is not None:
                extra.update({f"b{i}": a for i, a in enumerate(self.best_weights)})
            meta = {"epoch": self.epoch, "paths": [v.path for v in variables], "best_value": self.best_value,
                    "best_count": len(self.best_weights or [])}
            tmp = folder / f".tmp.{STATE}"
            with open(tmp, "wb") as handle:
                np.savez(handle, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **extra)
            os.replace(tmp, folder / STATE)
            _atomic_json(folder / METADATA, {"epoch": self.epoch, "batch": 0})
            self.saved_epoch, self.saved_at = self.epoch, time.monotonic()

        def save_interrupted(self) -> None:
            """On Ctrl-C/SIGTERM: back up the last finished epoch (its state was copied in memory)."""
            if self.snapshot is not None and self.snapshot[0] == self.epoch and self.saved_epoch != self.epoch:
                self.save(self.snapshot[1])
            self.write_best()

        def write_best(self) -> None:
            if self.best_weights is None or self.best_written:
                return
            current = self.model.get_weights()
            self.model.set_weights(self.best_weights)
            try:
                self._save_model(self.run.best_checkpoint)
            finally:
                self.model.set_weights(current)
            self.best_written = True

        def _save_model(self, path: Path) -> None:
            tmp = Path(path).with_name(f".{Path(path).stem}.tmp.keras")
            self.model.save(tmp)
            os.replace(tmp, path)

        # -- resuming ----------------------------------------------------------------------------
        def _optimizer_built(self) -> None:
            optimizer = getattr(self.model, "optimizer", None)
            if optimizer is not None and not optimizer.built:
                optimizer.build(self.model.trainable_variables)

        def _restore(self) -> int:
            """Load backup/ if there is one; the number of epochs it holds (0 when none)."""
            folder = Path(self.run.backup)
            if not (folder / STATE).exists():
                return 0
            with np.load(folder / STATE) as saved:
                meta = json.loads(saved["meta"].tobytes().decode())
                if self.own_loop:
                    self.model.load_weights(folder / KERAS_WEIGHTS)
                else:
                    variables = _variables(self.model)
                    own = len(self.model.variables)
                    if self.phase_start is not None and self.phase_start == meta["epoch"]:
                        variables = variables[:own]  # a phase starts here, with a new optimizer
                    paths = [v.path for v in variables]
                    if _comparable(meta["paths"][:len(paths)], own) != _comparable(paths, own):
                        from dlflow.errors import UsageError

                        raise UsageError(f"{folder}: the backed-up state does not fit this model "
                                         f"(its variables differ); start a new run")
                    for i, variable in enumerate(variables):
                        variable.assign(saved[f"v{i}"])
                if meta.get("best_count"):
                    self.best_weights = [saved[f"b{i}"] for i in range(meta["best_count"])]
                    self.best_value = meta["best_value"]
            self.model._initial_epoch = int(meta["epoch"])
            return int(meta["epoch"])

        def resume_epoch(self) -> int:
            """The epochs the run's backup holds (where a resumed run starts), 0 when none."""
            return backed_up_epoch(self.run.backup) or 0

    return Checkpoints


def Checkpoints(run: Any, monitor: str, every: tuple[str, float], *, best_value: float | None = None,  # noqa: N802
                own_loop: bool = False) -> Any:
    """The checkpointing callback (Keras imported lazily); see the module docstring."""
    return _checkpoints_class()(run, monitor, every, best_value=best_value, own_loop=own_loop)
