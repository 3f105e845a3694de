"""The dry build: one training step on one batch, so that what only a build can find is found before a run exists.

`build_session` builds and compiles the model; some config mistakes surface only when a batch
goes through it: a loss or metric that does not fit the output's shape, `loss_weights` of the
wrong length, an optimizer argument of the wrong type (`beta_1: high`), a callback argument
Keras only uses at the end of an epoch (`patience: [1, 2]`). `dry_batch` runs one
training step on the compiled model, then the config's callbacks through one epoch (built in a
temporary folder), and puts every variable back as it was: the model's weights, seeds and the
optimizer's state. The step goes through the function `fit` itself traces (`model.train_function`
on a batch iterator of the same structure), so `fit` reuses the trace instead of making a second
one: on the digits convnet fit's first epoch is then 0.6 s shorter.

A failure becomes a ConfigError at the config entry the failing Keras code belongs to (the
loss, a metric, the optimizer, a callback or the model), found from the traceback.

Example:

```python
session = build_session(loaded, data.train, data.validation)
dry_batch(session, loaded.config, data.train, data.validation)   # raises a located ConfigError, or returns the step's logs
```
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import traceback
from typing import Any, Iterator

import numpy as np

from dlflow.errors import ConfigError

MAX_MESSAGE = 300  # characters of Keras's or TensorFlow's message kept in the one-line error
# Where in Keras's source a failure comes from -> the config entry it belongs to (innermost first wins).
_KERAS_PARTS = (
    ("/keras/src/losses/", ("compile", "loss")),
    ("/keras/src/metrics/", ("compile", "metrics")),
    ("/keras/src/optimizers/", ("compile", "optimizer")),
    ("/keras/src/callbacks/", ("fit", "callbacks")),
    ("/keras/src/layers/", ("model",)),
    ("/keras/src/models/", ("model",)),
)
_MESSAGE_PARTS = (("loss_weights", ("compile", "loss_weights")),)  # a message that names the entry itself
_DLFLOW_SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def dry_batch(session: Any, config: Any, train: Any, validation: Any = ()) -> dict[str, float] | None:
    """Train the session's model on one batch of `train`, run the config's callbacks through one epoch,
    then restore every variable.

    Args:
        session: the built and compiled model (`dlflow.train.session.build_session`).
        config: the ExperimentConfig.
        train: the training split (its first `session.batch_size` samples make the batch).
        validation: the validation split; when it has samples, fit validates every epoch, so the
            callbacks also see a validation's begin and end (`SwapEMAWeights` fails there without
            an EMA optimizer).

    Returns:
        The step's logs (loss and metrics on that batch), or None when the step is left to `fit`:
        no training samples, a factory model with its own training loop, or a distribution
        strategy (the batch would have to be split over its devices).

    Raises:
        ConfigError: located at the loss, metrics, optimizer, callbacks or model.
    """
    from dlflow.model.factory import fitted_as_is

    runtime = session.runtime
    if (
        len(train) == 0
        or runtime.strategy is not None
        or runtime.distribution is not None
        or (config.model.api == "factory" and fitted_as_is(session.model) is not None)
    ):
        return None
    model = session.model
    batch = _one_batch(train, config, session.batch_size)
    # stdout stays the command's result (a callback's progress bar goes to stderr, as in fit)
    with (
        _restored(model),
        keras_failures(config, "the model cannot train on one batch"),
        contextlib.redirect_stdout(sys.stderr),
    ):
        logs = _train_step(model, batch, session.class_weight)
        _through_one_epoch(model, config, logs, validating=len(validation) > 0)
    return logs


def _one_batch(train: Any, config: Any, batch_size: int) -> Any:
    """The first `batch_size` training samples as a one-batch tf.data pipeline, built as fit's is (no disk cache)."""
    from dataclasses import replace

    from dlflow.data.image_stream import replace_cache
    from dlflow.data.pipeline import image_files, to_tf_dataset

    count = min(batch_size, len(train))
    subset = train.take(np.arange(count))
    files = image_files(subset)
    if files is not None:  # one batch is not worth a cache file
        subset = replace(subset, inputs={name: replace_cache(files) for name in subset.inputs})
    return to_tf_dataset(subset, batch_size=count, shuffle=False, seed=config.seed)


def _train_step(model: Any, batch: Any, class_weight: dict | None) -> dict[str, Any]:
    """One step of `model.train_function` on `batch` (a one-batch dataset); its logs as Python values.

    `fit` calls the same function on an iterator of its dataset, passed through Keras's data
    adapter (which adds the class weights); given an iterator of the same structure, its traced
    graph is reused. When that step fails, or Keras has moved its adapter, the step runs again
    through `train_on_batch`: traced on the batch's static shape, Keras's own checks (a loss that
    does not fit the output) fail there with a message naming the part, where the graph fails with
    TensorFlow's "Graph execution error". The first failure is raised if the second step passes.
    """
    try:
        from keras.src.trainers.data_adapters import get_data_adapter
    except ImportError:  # pragma: no cover - a Keras other than 3.x's layout
        get_data_adapter = None
    failure = None
    if get_data_adapter is not None:
        try:
            dataset = get_data_adapter(batch, class_weight=class_weight).get_tf_dataset()
            model.make_train_function()
            model.reset_metrics()
            return {name: _python(value) for name, value in model.train_function(iter(dataset)).items()}
        except Exception as error:  # noqa: BLE001 - raised below, after the step that names the failing part
            failure = error
    x, y = next(iter(batch))
    logs = model.train_on_batch(x, y, class_weight=class_weight, return_dict=True)
    if failure is not None:
        raise failure
    return logs


def _python(value: Any) -> Any:
    """A logged tensor as a float (one number) or a NumPy array (a metric with several values)."""
    array = np.asarray(value)
    return float(array) if array.size == 1 else array


def _through_one_epoch(model: Any, config: Any, logs: dict[str, Any], *, validating: bool) -> None:
    """The config's callbacks, built in a temporary run folder, through train begin, one epoch (with its
    validation, when fit validates) and train end, in the order `fit` calls them."""
    from dlflow.train.callbacks import user_callbacks

    if not config.fit.callbacks:
        return
    epoch_logs = {**logs, **{f"val_{name}": value for name, value in logs.items()}}
    with tempfile.TemporaryDirectory(prefix="dlflow-dry-") as folder:
        callbacks = user_callbacks(config.fit, folder)
        for callback in callbacks:
            callback.set_model(model)
            callback.set_params({"epochs": 1, "steps": 1, "verbose": 0})
        begun = []
        try:
            for callback in callbacks:
                callback.on_train_begin()
                begun.append(callback)
            for callback in callbacks:
                callback.on_epoch_begin(0)
            if validating:
                for callback in callbacks:
                    callback.on_test_begin()
                for callback in callbacks:
                    callback.on_test_end(dict(logs))
            for callback in callbacks:
                callback.on_epoch_end(0, dict(epoch_logs))
        except Exception:
            _ended_quietly(begun, epoch_logs)  # what they set up in the process (TensorBoard's summary writer) undone
            raise
        for callback in callbacks:
            callback.on_train_end(dict(epoch_logs))
    model.stop_training = False


def _ended_quietly(callbacks: list[Any], logs: dict[str, Any]) -> None:
    """`on_train_end` for callbacks whose epoch failed, their own failures ignored (the first one is raised).

    Keras's TensorBoard pushes a summary writer onto TensorFlow's process-wide state at train and
    validation begin; every one still pushed is popped, or the next training in the process fails.
    """
    for callback in callbacks:
        with contextlib.suppress(Exception):
            callback.on_train_end(dict(logs))
        pushed = getattr(callback, "_prev_summary_state", None) or []
        for _ in range(len(pushed)):
            with contextlib.suppress(Exception):
                callback._pop_writer()


@contextlib.contextmanager
def _restored(model: Any) -> Iterator[None]:
    """Put back the model's variables (weights, seeds) and its optimizer's (built first) on exit."""
    import keras

    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)  # fit builds it first thing anyway
    variables = list(model.variables) + (list(optimizer.variables) if optimizer is not None else [])
    saved = [keras.ops.convert_to_numpy(v.value) for v in variables]
    try:
        yield
    finally:
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)
        model.reset_metrics()
        model.stop_training = False


@contextlib.contextmanager
def keras_failures(config: Any, doing: str) -> Iterator[None]:
    """A failure of Keras or TensorFlow -> a ConfigError at the config entry it comes from.

    A failure inside dlflow's own code is a bug, not a config problem: it goes on as it is.

    Args:
        doing: what failed, the message's start (`the model cannot train on one batch`).
    """
    try:
        yield
    except (MemoryError, RecursionError, ConfigError):
        raise
    except Exception as exc:  # noqa: BLE001 - Keras and TensorFlow raise many kinds; all are located here
        frames = traceback.extract_tb(exc.__traceback__)
        if frames and frames[-1].filename.startswith(_DLFLOW_SOURCE):
            raise
        message = _one_line(exc)
        raise ConfigError(f"{doing}: {message}", config_path=_config_path(frames, config, message)) from exc


def _config_path(frames: list, config: Any, message: str) -> tuple:
    """The config entry of the innermost Keras part (loss, metric, optimizer, callback, layer) in `frames`."""
    for words, path in _MESSAGE_PARTS:
        if words in message and _written(config, path):
            return path
    for frame in reversed(frames):
        name = frame.filename.replace(os.sep, "/")
        for part, path in _KERAS_PARTS:
            if part in name:
                if path == ("model",):
                    return ("model", config.model.api)
                if path == ("fit", "callbacks") and len(config.fit.callbacks) == 1:
                    return ("fit", "callbacks", 0)
                return path if _written(config, path) else ("compile",)
    return ("model", config.model.api)


def _written(config: Any, path: tuple) -> bool:
    node = config
    for key in path:
        node = getattr(node, key, None)
    return node is not None


def _one_line(exc: BaseException) -> str:
    """The exception's first non-empty line, without TensorFlow's graph details, cut to MAX_MESSAGE."""
    text = getattr(exc, "message", None) or str(exc)
    lines = [part.strip() for part in str(text).splitlines() if part.strip()]
    while len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        lines.pop(0)  # Keras's wrapper line; the cause comes next
    line = lines[0] if lines else type(exc).__name__
    line = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", line.split(" [Op:")[0])  # TensorFlow's op location
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 3] + "..."
