"""A training session: the runtime configured, the model built and compiled, and fit on the splits.

Every stage that trains goes through here: `dlflow train` (a run directory), develop's overfit
check, cv folds and tuning trials (`fit_in_folder`, no run directory).

```python
session = build_session(loaded, data.train, data.validation, log)
history = fit_session(session, loaded.config, data.train, data.validation, epochs=2)
```
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from dlflow.config.located import located_errors
from dlflow.errors import ConfigError
from dlflow.log import Log, quiet
from dlflow.train.class_weights import class_weights


@dataclass
class Session:
    """The configured runtime and the compiled model, ready to fit."""

    runtime: Any
    model: Any
    class_weight: dict[int, float] | None
    batch_size: int  # the global batch: fit.batch_size, read once (in build_session) on its way to model.fit
    choices: Any = None  # dlflow.model.choices.ModelChoices: the data-dependent defaults applied


def build_session(
    loaded: Any, train: Any, validation: Any, log: Log = quiet, *, worker: Any = None, stage: str | None = None
) -> Session:
    """Configure the runtime, then build and compile the config's model on `train`.

    Config problems found here (a layer that cannot apply, an output that does not fit the
    target) are raised as located config errors. Stages that train without a run directory
    (develop's overfit check, cv folds, tuning trials) use this and `fit_session`.

    Args:
        worker: this process's place among multi_worker workers (`join_cluster`); one when None.
        stage: `train` for `dlflow train` (its runs may hold a factory model fitted as it is); the
            stages that score models through dlflow's outputs refuse such a model.
    """
    from dlflow.model.build import build_model, compile_model
    from dlflow.model.choices import model_choices
    from dlflow.train.callbacks import check_monitors
    from dlflow.train.dry_build import keras_failures
    from dlflow.train.phases import check_phases
    from dlflow.train.runtime import check_backend_supports, configure_runtime, record_jit_compile, strategy_scope

    config = loaded.config
    with located_errors(loaded):
        if config.fit.monitor.startswith("val_") and len(validation) == 0:
            raise ConfigError(
                f"'{config.fit.monitor}' needs validation data, but data.split.validation is 0",
                config_path=("fit", "monitor"),
            )
        choices = model_choices(config, train)
        batch_size = config.fit.batch_size  # the one read of it on its way to model.fit (Session.batch_size)
        runtime = configure_runtime(config.runtime, config.seed, worker=worker, batch_size=batch_size)
        with strategy_scope(runtime), keras_failures(config, "the model cannot be built"):
            model = build_model(
                config,
                train,
                float32_output=runtime.mixed_precision != "off",
                base_dir=loaded.base_dir,
                choices=choices,
                log=log,
            )
            check_backend_supports(runtime, model)
            logged = compile_model(model, config, train.target_specs, jit_compile=runtime.jit_compile)
        check_monitors(config.fit, logged, validation=len(validation) > 0)
        check_phases(model, config)
        record_jit_compile(runtime, model)
        _check_as_is(model, config, log, stage)
        log(
            f"runtime: {runtime.backend}, {runtime.strategy_name} over {', '.join(runtime.devices)}; "
            f"precision {runtime.mixed_precision}, XLA {'on' if runtime.jit_compile else 'off'}"
        )
        class_weight = class_weights(config.fit.class_weight, train)
    for default in choices.defaults:
        log(default.line())
    return Session(runtime, model, class_weight, batch_size, choices)


def _check_as_is(model: Any, config: Any, log: Log, stage: str | None) -> None:
    """Say that a factory model with its own training loop is fitted as it is; refuse it outside train."""
    from dlflow.model.factory import fitted_as_is

    own = fitted_as_is(model) if config.model.api == "factory" else None
    if own is None:
        return
    if stage != "train":
        raise ConfigError(
            f"{own['class']} has its own {', '.join(own['methods'])}: `dlflow train` fits it as it is, "
            f"but this stage scores models through dlflow's inputs and named outputs",
            config_path=("model", "factory"),
        )
    batches = "x" if config.data.target == "none" else "(x, y)"  # data.target: none: the inputs alone
    log(
        f"model: {own['class']} has its own {', '.join(own['methods'])}: fitted as it is, on raw {batches} batches "
        f"(preprocessing only through the factory's `preprocess`); export/predict/serve will refuse it; evaluate "
        f"reports its own test_step's values, if it has one"
    )


def fit_session(
    session: Session,
    config: Any,
    train: Any,
    validation: Any,
    *,
    epochs: int | None = None,
    callbacks: Sequence[Any] = (),
    verbose: Any = 0,
    batch_size: int | None = None,
    log: Log = quiet,
) -> Any:
    """model.fit on in-memory splits with the session's batch size and seeded shuffle; returns the History.

    Under a Keras distribution each process feeds its equal share of every batch (`input_pipeline`).
    With fit.phases, one fit per phase (`dlflow.train.phases`).

    Args:
        epochs: fit.epochs unless given.
        batch_size: the session's (fit.batch_size) unless given (develop's overfit check: a smaller one).
    """
    from dlflow.data.image_stream import naming_bad_images
    from dlflow.train.phases import fit_epochs
    from dlflow.train.runtime import release_distribution

    batch = batch_size or session.batch_size
    train_ds, steps = _batches(session, train, batch, shuffle=True, seed=config.seed)
    val_ds, val_steps = (
        _batches(session, validation, batch, shuffle=False, seed=config.seed) if len(validation) else (None, None)
    )
    with contextlib.redirect_stdout(sys.stderr), naming_bad_images(train, validation):  # progress bar: stderr

        def fit_range(first: int, end: int) -> Any:
            return session.model.fit(
                train_ds,
                validation_data=val_ds,
                initial_epoch=first,
                epochs=end,
                steps_per_epoch=steps,
                validation_steps=val_steps,
                callbacks=list(callbacks),
                class_weight=session.class_weight,
                verbose=verbose,
                shuffle=False,
            )  # tf.data shuffles

        try:
            return fit_epochs(session, config, train, fit_range, list(callbacks), epochs or config.fit.epochs, log)
        finally:
            release_distribution(session.runtime)  # what follows (saving, scoring) needs no other device


def _batches(session: Session, part: Any, batch: int, *, shuffle: bool, seed: int) -> tuple[Any, int | None]:
    """A split as the batches this process feeds to fit, and the steps of one pass (None: not given)."""
    from dlflow.data.pipeline import to_tf_dataset
    from dlflow.data.streaming import streamed_part
    from dlflow.train.runtime import input_pipeline

    samples = None if streamed_part(part) is not None else len(part)
    dataset = input_pipeline(
        session.runtime,
        to_tf_dataset(part, batch_size=batch, shuffle=shuffle, seed=seed),
        batch_size=batch,
        samples=samples,
    )
    if samples is None or session.runtime.distribution is not None:
        return dataset, None
    # Repeated, with the steps of one pass given: Keras keeps one iterator for the whole fit
    # instead of starting the pipeline again every epoch (0.1-0.4 s an epoch on 2 busy cores);
    # `shuffle` reshuffles on every pass, as before.
    return dataset.repeat(), -(-samples // batch)


def fit_in_folder(
    session: Any,
    loaded: Any,
    train: Any,
    validation: Any,
    folder: Path,
    *,
    epochs: int | None = None,
    tensorboard: Path | None = None,
    extra_callbacks: Sequence[Any] = (),
) -> Any:
    """Fit a session for a stage that trains without a run directory (cv folds, tuning trials).

    Writes folder/history.csv; stops on NaN; the config's own callbacks (EarlyStopping,
    ReduceLROnPlateau...) run as in `dlflow train`.

    Args:
        tensorboard: a folder for TensorBoard logs (train/, validation/), or None for none.

    Returns:
        The Keras History.
    """
    import keras

    from dlflow.model.resolve import resolve

    config = loaded.config
    callbacks = [keras.callbacks.TerminateOnNaN(), keras.callbacks.CSVLogger(str(folder / "history.csv"))]
    if tensorboard is not None:
        callbacks.append(
            keras.callbacks.TensorBoard(
                log_dir=str(tensorboard), histogram_freq=0, write_graph=False, update_freq="epoch"
            )
        )
    with located_errors(loaded):
        callbacks += [
            resolve("callbacks", spec, ("fit", "callbacks", i)) for i, spec in enumerate(config.fit.callbacks)
        ]
    verbose = config.fit.verbose if config.fit.verbose != "auto" else (1 if sys.stderr.isatty() else 0)
    return fit_session(
        session, config, train, validation, epochs=epochs, callbacks=[*callbacks, *extra_callbacks], verbose=verbose
    )


@contextlib.contextmanager
def sigterm_interrupts():
    """SIGTERM during fit stops training as Ctrl-C does (state backed up, run marked interrupted)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def release_session(session: Any) -> None:
    """Free a fold's or a trial's model before the next one is built."""
    import gc

    import keras

    del session.model
    keras.backend.clear_session()
    gc.collect()
