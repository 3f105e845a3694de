"""The train stage: one training run from a config, into a new (or resumed) run directory."""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from dlflow.config import LoadedConfig
from dlflow.config.located import located_errors
from dlflow.errors import Interrupted, WorkFailed
from dlflow.log import Log, quiet
from dlflow.runs.files import atomic_path
from dlflow.runs.layout import RunDir
from dlflow.runs.manifest import now_iso, update_manifest, write_json
from dlflow.train.history import summarize_history
from dlflow.train.session import Session, build_session, fit_session, sigterm_interrupts
from dlflow.workflow.begin import ConfigSource, begin, prepare_runtime, shown_name
from dlflow.workflow.final import final_config, train_and_validation
from dlflow.workflow.prepared_data import prepare_data
from dlflow.workflow.resume import resumable_run, resume_command, resumed_overrides, trim_history
from dlflow.workflow.train_run import new_run, reopen_run

# The training mechanics live in dlflow.train (session, history, class weights); their old names here stay.
__all__ = ["Session", "TrainResult", "build_session", "fit_session", "prepare_runtime", "summarize_history", "train"]


@dataclass
class TrainResult:
    """Where the run went and what it reached."""

    run: RunDir
    metrics: dict[str, Any]


def train(
    config_file: ConfigSource,
    overrides: Sequence[str] = (),
    *,
    runs_root: Path = Path("runs"),
    resume: str | None = None,
    log: Log = quiet,
    argv: Sequence[str] | None = None,
    final: bool = False,
    cluster: dict[str, Any] | None = None,
    stage: str = "train",
    quiet_tf: bool = False,
    summary: bool = False,
) -> TrainResult:
    """Train the model a config describes.

    Args:
        config_file: the experiment config (YAML), or one a calling stage loaded (`begin`).
        overrides: `PATH=VALUE` strings applied before validation (recorded in the manifest).
        runs_root: where run directories go (runs/<name>/<run-id>/).
        resume: a run directory (or experiment name) to continue where it stopped.
        log: receives progress lines (the CLI prints them to stderr).
        argv: the command line, recorded in the manifest.
        final: train on train + validation for the best epoch count of a completed run (`workflow.final`).
        cluster: for runtime.strategy multi_worker, `coordinator` (HOST:PORT), `num_workers` and
            `worker_index`; unset ones: see `dlflow.train.distributed`.
        stage: the command this run belongs to, recorded in the manifest (`develop`'s full run
            says develop: only `train` runs stand for the experiment, see `dlflow.runs.lookup`).
        quiet_tf: load TensorFlow with its start-up noise silenced (the CLI, unless --verbose).
        summary: log the model's summary (`model.summary()`: layers, shapes, parameters) before fit.
    """
    from dlflow.runs.mlflow_tracking import open_tracking
    from dlflow.train.distributed import follow_chief_run

    started = time.time()
    if resume and not isinstance(config_file, LoadedConfig):
        overrides = resumed_overrides(resume, runs_root, overrides, log)
    loaded, plan = _begin_train(
        config_file, overrides, runs_root=runs_root, final=final, cluster=cluster, quiet_tf=quiet_tf, log=log
    )
    config = loaded.config
    worker, runs_root = _join(loaded, cluster, runs_root)
    with contextlib.ExitStack() as held:  # the run directory's lock (see dlflow.runs.lock)
        run = resumable_run(resume, runs_root, config, log, held) if resume and worker.is_chief else None
        run = follow_chief_run(worker, run, runs_root)  # the others resume from a copy of the chief's state
        resuming = run is not None
        data, session = _data_and_session(loaded, runs_root, worker, plan, log)
        tracker = open_tracking(config, runs_root) if worker.is_chief else None  # a bad store: before the run exists
        if run is None:
            run = new_run(runs_root, loaded, data, session, plan, held, stage=stage, argv=argv, overrides=overrides)
        else:
            reopen_run(run, config, argv=argv, overrides=overrides)
        chief_run = _announce_run(run, config, worker, session, tracker, summary=summary, log=log)
        again = resume_command(shown_name(config_file), overrides, run, final)
        metrics = _fit_marked(
            loaded, data, session, run, resuming=resuming, log=log, started=started, tracker=tracker, resume_hint=again
        )
        return TrainResult(run if worker.is_chief else RunDir(Path(chief_run)), metrics)


def _join(loaded: Any, cluster: dict[str, Any] | None, runs_root: Path) -> tuple[Any, Path]:
    """This process's place among the workers (one unless runtime.strategy is multi_worker), and its runs root."""
    from dlflow.train.distributed import ClusterOptions, join_cluster

    with located_errors(loaded):
        worker = join_cluster(loaded.config.runtime, ClusterOptions.from_options(cluster))
    return worker, worker.runs_root(runs_root)  # only the chief writes the real run directory


def _announce_run(
    run: RunDir, config: Any, worker: Any, session: Session, tracker: Any, *, summary: bool, log: Log
) -> str:
    """Start tracking, say where the run is (and show the model's summary); the chief's run directory."""
    from dlflow.runs.mlflow_tracking import start_tracking
    from dlflow.train.distributed import share_text

    if tracker is not None:
        start_tracking(tracker, run, config, log)
    chief_run = share_text(worker, str(run.path))
    log(
        f"run: {run.path}"
        if worker.is_chief
        else f"run: {chief_run} (written by worker 0; this is worker {worker.index} of {worker.count})"
    )
    if summary and worker.is_chief:
        from dlflow.model.summary import summary_text

        log(summary_text(session.model))
    return chief_run


def _data_and_session(loaded: Any, runs_root: Path, worker: Any, plan: Any, log: Log) -> tuple[Any, Any]:
    """The prepared data (every worker on the chief's split) and the built model, dry-run on one batch:
    everything a config can get wrong is found here, before the run directory exists."""
    from dlflow.config import dump_config
    from dlflow.runs.layout import split_store
    from dlflow.train.distributed import agree, chief_first
    from dlflow.train.dry_build import dry_batch

    config = loaded.config
    with chief_first(worker, runs_root, [str(split_store(Path(), config.name))]):  # every worker: the chief's split
        data = prepare_data(loaded, runs_root, log)
    agree(
        worker, "the config, the data and its split", dump_config(config) + repr(sorted(data.split.describe().items()))
    )
    if plan is not None:
        data = train_and_validation(data)
    session = build_session(loaded, data.train, data.validation, log, worker=worker, stage="train")
    with located_errors(loaded):  # one batch, then every variable put back (dlflow.train.dry_build)
        dry_batch(session, config, data.train, data.validation)
    return data, session


def _begin_train(
    config_file: ConfigSource,
    overrides: Sequence[str],
    *,
    runs_root: Path,
    final: bool,
    cluster: dict[str, Any] | None,
    quiet_tf: bool,
    log: Log,
) -> tuple[Any, Any]:
    """The loaded config (with --final's overrides) and --final's plan (None without it), said in the log."""
    plans: list[Any] = []  # --final's plan, made before TensorFlow loads
    loaded = begin(
        config_file,
        overrides,
        quiet_tf=quiet_tf,
        cluster=cluster,
        check=functools.partial(final_config, runs_root=runs_root, plans=plans) if final else None,
    )
    plan = plans[0] if plans else None
    if plan is not None:
        log(f"final: {plan.epochs} epochs (the best epoch of {plan.source}) on train + validation")
        for notice in plan.notices:
            log(f"notice: {notice}")
    return loaded, plan


def _fit_marked(
    loaded: Any,
    data: Any,
    session: Session,
    run: RunDir,
    *,
    resuming: bool,
    log: Log,
    started: float,
    tracker: Any,
    resume_hint: str,
) -> dict[str, Any]:
    """`_fit`, with the manifest (and the tracker) marked interrupted or failed when it does not finish."""
    try:
        return _fit(loaded, data, session, run, resuming=resuming, log=log, started=started, tracker=tracker)
    except KeyboardInterrupt as exc:
        update_manifest(run.manifest, status="interrupted", ended=now_iso())
        if tracker is not None:
            tracker.fail("KILLED")
        raise Interrupted(f"interrupted; resume with: {resume_hint}") from exc
    except BaseException as exc:
        update_manifest(
            run.manifest,
            status="failed",
            ended=now_iso(),
            error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        if tracker is not None:
            tracker.fail()
        raise


def _fit(
    loaded: Any,
    data: Any,
    session: Session,
    run: RunDir,
    *,
    resuming: bool,
    log: Log,
    started: float,
    tracker: Any = None,
) -> dict[str, Any]:
    config = loaded.config
    callbacks = _callbacks(loaded, data, session, run, resuming=resuming, tracker=tracker, log=log)
    verbose = config.fit.verbose if config.fit.verbose != "auto" else (1 if sys.stderr.isatty() else 2)
    fit_started = time.time()
    try:
        with sigterm_interrupts():
            fit_session(session, config, data.train, data.validation, callbacks=callbacks, verbose=verbose, log=log)
    except KeyboardInterrupt:
        callbacks[0].save_interrupted()  # the last finished epoch, so that --resume loses none
        raise
    fit_seconds = time.time() - fit_started
    metrics = summarize_history(run.history, config.fit.monitor)
    if metrics.get("diverged_epoch") is not None:
        update_manifest(run.manifest, status="failed", ended=now_iso(), error="diverged")
        raise WorkFailed(
            f"training diverged: the loss became NaN or infinite at epoch {metrics['diverged_epoch']}; "
            f"lower the learning rate or check the inputs for NaN"
        )
    _complete(run, session, metrics, fit_seconds=fit_seconds, started=started, tracker=tracker, log=log)
    return metrics


def _callbacks(
    loaded: Any, data: Any, session: Session, run: RunDir, *, resuming: bool, tracker: Any, log: Log
) -> list[Any]:
    """The fit's callbacks (checkpoints first); a new run's HParams written, a resumed run's history trimmed."""
    from dlflow.config.load import flat_config
    from dlflow.runs.leaderboard import write_hparams
    from dlflow.train.callbacks import build_callbacks
    from dlflow.train.samples import sample_callbacks

    config = loaded.config
    with located_errors(loaded):
        callbacks = build_callbacks(run, config.fit, resuming=resuming)
    if tracker is not None:
        callbacks.append(tracker.epoch_callback())
    callbacks += sample_callbacks(run, session.model, data.train, config.seed)  # generative models: samples/
    if session.runtime.is_chief and not resuming:  # the run's config, for TensorBoard's HParams dashboard
        write_hparams(run.logs, f"{run.experiment}/{run.run_id}", flat_config(config))
    if resuming:
        trim_history(run, log)
    return callbacks


def _complete(
    run: RunDir,
    session: Session,
    metrics: dict[str, Any],
    *,
    fit_seconds: float,
    started: float,
    tracker: Any,
    log: Log,
) -> None:
    """The best (or last) checkpoint as the run's model, its metrics and report; the manifest marked completed."""
    source = run.best_checkpoint if run.best_checkpoint.exists() else run.last_checkpoint
    with atomic_path(run.model) as tmp:
        shutil.copyfile(source, tmp)
    write_json(run.metrics, metrics)
    if session.runtime.is_chief:  # the other workers' run directories are thrown away
        _write_report(run, log)
    manifest = update_manifest(
        run.manifest,
        status="completed",
        ended=now_iso(),
        timings={"fit_s": round(fit_seconds, 3), "total_s": round(time.time() - started, 3)},
    )
    if tracker is not None:
        tracker.finish(run, manifest)
    best = metrics.get("best_value")
    log(
        f"done: {metrics['epochs_completed']} epochs; best {metrics['monitor']} "
        f"{best:.4f} at epoch {metrics['best_epoch']}"
        if best is not None
        else "done"
    )


def _write_report(run: RunDir, log: Log) -> None:
    from dlflow.report import write_report

    log(f"report: {write_report(run)}")
