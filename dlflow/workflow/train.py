"""The train stage: one training run from a config, into a new (or resumed) run directory."""

from __future__ import annotations

import contextlib
import csv
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from dlflow.errors import Interrupted, WorkFailed
from dlflow.runs.layout import RunDir, create_run
from dlflow.runs.manifest import now_iso, update_manifest, versions, write_json, write_text
from dlflow.workflow.common import Log, located_errors, prepare_data, quiet
from dlflow.workflow.resume import resumable_run, resume_command, resumed_overrides, trim_history


@dataclass
class TrainResult:
    """Where the run went and what it reached."""

    run: RunDir
    metrics: dict[str, Any]


def train(config_file: str | Path, overrides: Sequence[str] = (), *, runs_root: Path = Path("runs"),
          resume: str | None = None, log: Log = quiet, argv: Sequence[str] | None = None,
          final: bool = False, cluster: dict[str, Any] | None = None, stage: str = "train") -> TrainResult:
    """Train the model a config describes.

    Args:
        config_file: the experiment config (YAML).
        overrides: `PATH=VALUE` strings applied before validation.
        runs_root: where run directories go (runs/<name>/<run-id>/).
        resume: a run directory (or experiment name) to continue where it stopped.
        log: receives progress lines (the CLI prints them to stderr).
        argv: the command line, recorded in the manifest.
        final: train on train + validation for the best epoch count of the experiment's latest
            completed run (see `dlflow.workflow.final`).
        cluster: for runtime.strategy multi_worker, `coordinator` (HOST:PORT), `num_workers` and
            `worker_index`; unset ones come from the KERAS_DISTRIBUTION_* variables or JAX's
            cluster detection (see `dlflow.train.distributed`).
        stage: the command this run belongs to, recorded in the manifest (`develop`'s full run
            says develop: only `train` runs stand for the experiment, see `dlflow.runs.lookup`).
    """
    from dlflow.config import dump_config, load_config
    from dlflow.runs.layout import split_store
    from dlflow.runs.lock import run_lock
    from dlflow.runs.mlflow_tracking import open_tracking, start_tracking
    from dlflow.train.distributed import ClusterOptions, agree, chief_first, follow_chief_run, join_cluster, share_text
    from dlflow.train.runtime import select_backend

    started = time.time()
    if resume:
        overrides = resumed_overrides(resume, runs_root, overrides, log)
    loaded = load_config(config_file, overrides)
    plan = None
    if final:
        from dlflow.workflow.final import plan_final

        plan = plan_final(loaded.config, runs_root)
        loaded = load_config(config_file, [*overrides, *plan.overrides])
        log(f"final: {plan.epochs} epochs (the best epoch of {plan.source}) on train + validation")
        for notice in plan.notices:
            log(f"notice: {notice}")
    config = loaded.config
    with located_errors(loaded):
        select_backend(config.runtime.backend, config.runtime)
        worker = join_cluster(config.runtime, ClusterOptions.from_options(cluster))
    runs_root = worker.runs_root(runs_root)  # only the chief writes the real run directory
    with contextlib.ExitStack() as held:  # the run directory's lock (see dlflow.runs.lock)
        run = resumable_run(resume, runs_root, config, log, held) if resume and worker.is_chief else None
        run = follow_chief_run(worker, run, runs_root)  # the others resume from a copy of the chief's state
        resuming = run is not None
        with chief_first(worker, runs_root, [str(split_store(Path(), config.name))]):  # every worker: the chief's split
            data = prepare_data(loaded, runs_root, log)
        agree(worker, "the config, the data and its split",
              dump_config(config) + repr(sorted(data.split.describe().items())))
        if plan is not None:
            from dlflow.workflow.final import train_and_validation

            data = train_and_validation(data)
        # Everything a config can get wrong is found before the run directory exists.
        session = build_session(loaded, data.train, data.validation, log, worker=worker, stage="train")
        tracker = open_tracking(config, runs_root) if worker.is_chief else None  # a bad store: before the run exists
        if run is None:
            run = create_run(runs_root.resolve(), config.name)
            held.enter_context(run_lock(run))
            write_text(run.config, dump_config(config))
            update_manifest(run.manifest, experiment=config.name, run_id=run.run_id, status="running",
                            created=now_iso(), stage=stage, command=list(argv or sys.argv), overrides=list(overrides),
                            versions=versions(), seed=config.seed,
                            model_api=config.model.api, monitor=config.fit.monitor, config_dir=str(loaded.base_dir),
                            data={"source": data.dataset.source, "kind": data.dataset.kind, "task": data.dataset.task,
                                  **data.split.describe(),
                                  **data.dataset.signature(),
                                  **{k: data.dataset.info[k] for k in ("cache", "skipped_files", "files_keyed")
                                     if k in data.dataset.info}},
                            resumes=0, runtime=session.runtime.describe(), **session.choices.describe(),
                            **({"final": plan.describe()} if plan else {}), **_as_is_fields(session.model, config, loaded.base_dir))
        else:
            manifest = update_manifest(run.manifest, status="running")
            update_manifest(run.manifest, resumes=int(manifest.get("resumes", 0)) + 1,
                            command=list(argv or sys.argv), overrides=list(overrides), resumed=now_iso())
            write_text(run.config, dump_config(config))
        if tracker is not None:
            start_tracking(tracker, run, config, log)
        chief_run = share_text(worker, str(run.path))
        log(f"run: {run.path}" if worker.is_chief else f"run: {chief_run} (written by worker 0; this is worker "
                                                       f"{worker.index} of {worker.count})")
        try:
            metrics = _fit(loaded, data, session, run, resuming=resuming, log=log, started=started, tracker=tracker)
        except KeyboardInterrupt as exc:
            update_manifest(run.manifest, status="interrupted", ended=now_iso())
            if tracker is not None:
                tracker.fail("KILLED")
            raise Interrupted(f"interrupted; resume with: {resume_command(config_file, overrides, run, final)}") from exc
        except BaseException as exc:
            update_manifest(run.manifest, status="failed", ended=now_iso(), error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            if tracker is not None:
                tracker.fail()
            raise
        return TrainResult(run if worker.is_chief else RunDir(Path(chief_run)), metrics)


def _as_is_fields(model: Any, config: Any, base_dir: Any) -> dict[str, Any]:
    """For a factory's model: its module's file and digest, and `fitted_as_is` when it has its own loop; the
    files and digests of your modules that dotted class names come from (`modules`)."""
    from dlflow.model.custom_classes import config_modules
    from dlflow.model.factory import factory_record, fitted_as_is, installed_module

    exclude = (str(base_dir),) if base_dir is not None else ()
    records = [factory_record(m, base_dir) for m in config_modules(config) if not installed_module(m, exclude)]
    if config.model.api != "factory":
        return {"modules": records} if records else {}
    own = fitted_as_is(model)
    return {"factory": factory_record(config.model.factory, base_dir), **({"fitted_as_is": own} if own else {}),
            **({"modules": records} if records else {})}


def prepare_runtime(loaded: Any, cluster: dict[str, Any] | None = None) -> None:
    """Settle, before TensorFlow loads, what must be: Keras's backend (importing TensorFlow imports
    Keras, which fixes it then), JAX's devices, and whether strategy and cluster options fit.

    Commands call this right after loading the config; `train` repeats it (a no-op then).

    Args:
        cluster: `dlflow train`'s --coordinator, --num-workers and --worker-index values.
    """
    from dlflow.train.distributed import ClusterOptions, check_cluster
    from dlflow.train.runtime import select_backend

    with located_errors(loaded):
        select_backend(loaded.config.runtime.backend, loaded.config.runtime)
        check_cluster(loaded.config.runtime, ClusterOptions.from_options(cluster))


@dataclass
class Session:
    """The configured runtime and the compiled model, ready to fit."""

    runtime: Any
    model: Any
    class_weight: dict[int, float] | None
    choices: Any = None  # dlflow.model.choices.ModelChoices: the data-dependent defaults applied


def build_session(loaded: Any, train: Any, validation: Any, log: Log = quiet, *, worker: Any = None,
                  stage: str | None = None) -> Session:
    """Configure the runtime, then build and compile the config's model on `train`.

    Config problems found here (a layer that cannot apply, an output that does not fit the
    target) are raised as located config errors. Stages that train without a run directory
    (develop's overfit check, cv folds, tuning trials) use this and `fit_session`.

    Args:
        worker: this process's place among multi_worker workers (`join_cluster`); one when None.
        stage: `train` for `dlflow train` (its runs may hold a factory model fitted as it is); the
            stages that score models through dlflow's outputs refuse such a model.
    """
    from dlflow.errors import ConfigError
    from dlflow.model.build import build_model, compile_model
    from dlflow.model.choices import model_choices
    from dlflow.train.callbacks import check_monitors
    from dlflow.train.runtime import check_backend_supports, configure_runtime, record_jit_compile, strategy_scope

    config = loaded.config
    with located_errors(loaded):
        if config.fit.monitor.startswith("val_") and len(validation) == 0:
            raise ConfigError(f"'{config.fit.monitor}' needs validation data, but data.split.validation is 0",
                              config_path=("fit", "monitor"))
        choices = model_choices(config, train)
        runtime = configure_runtime(config.runtime, config.seed, worker=worker, batch_size=config.fit.batch_size)
        with strategy_scope(runtime):
            model = build_model(config, train, float32_output=runtime.mixed_precision != "off",
                                base_dir=loaded.base_dir, choices=choices)
            check_backend_supports(runtime, model)
            logged = compile_model(model, config, train.target_specs, jit_compile=runtime.jit_compile)
        check_monitors(config.fit, logged, validation=len(validation) > 0)
        record_jit_compile(runtime, model)
        _check_as_is(model, config, log, stage)
        log(f"runtime: {runtime.backend}, {runtime.strategy_name} over {', '.join(runtime.devices)}; "
            f"precision {runtime.mixed_precision}, XLA {'on' if runtime.jit_compile else 'off'}")
        class_weight = _class_weight(config.fit.class_weight, train)
    for default in choices.defaults:
        log(default.line())
    return Session(runtime, model, class_weight, choices)


def _check_as_is(model: Any, config: Any, log: Log, stage: str | None) -> None:
    """Say that a factory model with its own training loop is fitted as it is; refuse it outside train."""
    from dlflow.errors import ConfigError
    from dlflow.model.factory import fitted_as_is

    own = fitted_as_is(model) if config.model.api == "factory" else None
    if own is None:
        return
    if stage != "train":
        raise ConfigError(f"{own['class']} has its own {', '.join(own['methods'])}: `dlflow train` fits it as it is, "
                          f"but this stage scores models through dlflow's inputs and named outputs",
                          config_path=("model", "factory"))
    log(f"model: {own['class']} has its own {', '.join(own['methods'])}: fitted as it is, on raw (x, y) batches "
        f"(preprocessing only through the factory's `preprocess`); evaluate/export/predict/serve will refuse it")


def fit_session(session: Session, config: Any, train: Any, validation: Any, *, epochs: int | None = None,
                callbacks: Sequence[Any] = (), verbose: Any = 0) -> Any:
    """model.fit on in-memory splits with the config's batch size and seeded shuffle; returns the History.

    Under a Keras distribution each process feeds its equal share of every batch (`input_pipeline`).
    """
    from dlflow.data.image_stream import naming_bad_images
    from dlflow.data.pipeline import to_tf_dataset
    from dlflow.data.streaming import streamed_part
    from dlflow.train.runtime import input_pipeline, release_distribution

    batch = config.fit.batch_size

    def batches(part: Any, shuffle: bool) -> tuple[Any, int | None]:
        samples = None if streamed_part(part) is not None else len(part)
        dataset = input_pipeline(session.runtime, to_tf_dataset(part, batch_size=batch, shuffle=shuffle,
                                                                seed=config.seed), batch_size=batch, samples=samples)
        if samples is None or session.runtime.distribution is not None:
            return dataset, None
        # Repeated, with the steps of one pass given: Keras keeps one iterator for the whole fit
        # instead of starting the pipeline again every epoch (0.1-0.4 s an epoch on 2 busy cores);
        # `shuffle` reshuffles on every pass, as before.
        return dataset.repeat(), -(-samples // batch)

    train_ds, steps = batches(train, True)
    val_ds, val_steps = batches(validation, False) if len(validation) else (None, None)
    with contextlib.redirect_stdout(sys.stderr), naming_bad_images(train, validation):  # progress bar: stderr
        try:
            return session.model.fit(train_ds, validation_data=val_ds, epochs=epochs or config.fit.epochs,
                                     steps_per_epoch=steps, validation_steps=val_steps,
                                     callbacks=list(callbacks), class_weight=session.class_weight, verbose=verbose,
                                     shuffle=False)  # tf.data shuffles
        finally:
            release_distribution(session.runtime)  # what follows (saving, scoring) needs no other device


def _fit(loaded: Any, data: Any, session: Session, run: RunDir, *, resuming: bool, log: Log,
         started: float, tracker: Any = None) -> dict[str, Any]:
    from dlflow.config.load import flat_config
    from dlflow.runs.leaderboard import write_hparams
    from dlflow.train.callbacks import build_callbacks

    from dlflow.model.factory import fitted_as_is

    config = loaded.config
    own_loop = config.model.api == "factory" and fitted_as_is(session.model) is not None
    with located_errors(loaded):
        callbacks = build_callbacks(run, config.fit, resuming=resuming, own_loop=own_loop)
    if tracker is not None:
        callbacks.append(tracker.epoch_callback())
    if session.runtime.is_chief and not resuming:  # the run's config, for TensorBoard's HParams dashboard
        write_hparams(run.logs, f"{run.experiment}/{run.run_id}", flat_config(config))
    if resuming:
        trim_history(run, log)
    verbose = config.fit.verbose if config.fit.verbose != "auto" else (1 if sys.stderr.isatty() else 2)
    fit_started = time.time()
    try:
        with _sigterm_interrupts():
            fit_session(session, config, data.train, data.validation, callbacks=callbacks, verbose=verbose)
    except KeyboardInterrupt:
        callbacks[0].save_interrupted()  # the last finished epoch, so that --resume loses none
        raise
    fit_seconds = time.time() - fit_started
    metrics = summarize_history(run.history, config.fit.monitor)
    if metrics.get("diverged_epoch") is not None:
        update_manifest(run.manifest, status="failed", ended=now_iso(), error="diverged")
        raise WorkFailed(f"training diverged: the loss became NaN or infinite at epoch {metrics['diverged_epoch']}; "
                         f"lower the learning rate or check the inputs for NaN")
    source = run.best_checkpoint if run.best_checkpoint.exists() else run.last_checkpoint
    shutil.copyfile(source, run.model.with_suffix(".keras.tmp"))
    os.replace(run.model.with_suffix(".keras.tmp"), run.model)
    write_json(run.metrics, metrics)
    if session.runtime.is_chief:  # the other workers' run directories are thrown away
        _write_report(run, log)
    manifest = update_manifest(run.manifest, status="completed", ended=now_iso(),
                               timings={"fit_s": round(fit_seconds, 3), "total_s": round(time.time() - started, 3)})
    if tracker is not None:
        tracker.finish(run, manifest)
    best = metrics.get("best_value")
    log(f"done: {metrics['epochs_completed']} epochs; best {metrics['monitor']} "
        f"{best:.4f} at epoch {metrics['best_epoch']}" if best is not None else "done")
    return metrics


@contextlib.contextmanager
def _sigterm_interrupts():
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


def summarize_history(history_csv: Path, monitor: str) -> dict[str, Any]:
    """metrics.json from history.csv: best epoch by `monitor`, the rows at best and last epoch."""
    from dlflow.train.monitoring import monitor_mode

    with open(history_csv, newline="") as handle:
        # Keras writes NA in val_ columns when there is no validation data (dlflow train --final).
        rows = [{k: _number(v) for k, v in row.items() if v != "NA"} for row in csv.DictReader(handle)]
    out: dict[str, Any] = {"monitor": monitor, "mode": monitor_mode(monitor), "epochs_completed": len(rows)}
    diverged = next((int(r["epoch"]) + 1 for r in rows  # `loss`, or a custom step's own (d_loss, g_loss)
                     if any(isinstance(v, float) and not math.isfinite(v) for k, v in r.items()
                            if k == "loss" or (k.endswith("_loss") and not k.startswith("val_")))), None)
    if not rows or diverged is not None:
        out["diverged_epoch"] = diverged
        return out
    scored = [r for r in rows if isinstance(r.get(monitor), float) and not math.isnan(r[monitor])]
    if scored:
        pick = max if out["mode"] == "max" else min
        best = pick(scored, key=lambda r: r[monitor])
        out.update(best_epoch=int(best["epoch"]) + 1, best_value=best[monitor], best=best)
    out["last"] = rows[-1]
    return out


def _number(value: str) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _class_weight(setting: Any, train: Any) -> dict[int, float] | None:
    if setting is None:
        return None
    if len(train.target_specs) != 1 or train.task not in ("binary", "multiclass"):
        from dlflow.errors import ConfigError

        raise ConfigError("class_weight needs a single binary or multiclass target", config_path=("fit", "class_weight"))
    import numpy as np

    labels = np.asarray(next(iter(train.targets.values()))).reshape(-1).astype(int)
    spec = next(iter(train.target_specs.values()))
    if setting == "balanced":
        from sklearn.utils.class_weight import compute_class_weight

        present = np.unique(labels)
        weights = compute_class_weight("balanced", classes=present, y=labels)
        return {int(c): float(w) for c, w in zip(present, weights)}
    index = {str(label): i for i, label in enumerate(spec.classes)}
    out = {}
    for label, weight in setting.items():
        if str(label) not in index:
            from dlflow.errors import ConfigError

            raise ConfigError(f"unknown class '{label}'; classes are: {', '.join(map(str, spec.classes))}",
                              config_path=("fit", "class_weight", label))
        out[index[str(label)]] = float(weight)
    return out


def _write_report(run: RunDir, log: Log) -> None:
    from dlflow.report import write_report

    log(f"report: {write_report(run)}")
