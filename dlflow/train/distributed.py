"""Several processes, one training run: joining the cluster, who is chief, equal shards, shared state.

`runtime.strategy: multi_worker` trains on several machines through Keras's distribution API on
the JAX backend (`keras.distribution.initialize`, then `DataParallel` over every worker's devices).
The same `dlflow train` command runs on every machine; only the worker index changes:

```sh
dlflow train exp.yaml --coordinator 10.0.0.1:7777 --num-workers 2 --worker-index 0   # the chief
dlflow train exp.yaml --coordinator 10.0.0.1:7777 --num-workers 2 --worker-index 1
```

What holds the workers together (docs/distributed.md):
- every worker trains on the same data with the same seed, so each takes an equal, disjoint
  share of every global batch (`shard_batches`) and all take the same number of steps;
- only the chief (worker 0) writes the run directory. The others write into a private scratch
  folder that is removed when they exit (Keras's saves are collective under a distribution, so
  every worker saves: the others' copies are thrown away);
- whatever the chief decided from its files (the frozen split, the state of a run to resume)
  is sent to the others over the cluster (`chief_first`, `follow_chief_run`), so workers need
  no shared file system.

JAX is imported inside the functions that use it; this module is cheap to import.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from dlflow.errors import DataError, UsageError
from dlflow.runs.files import write_bytes

# The variables Keras reads in keras.distribution.initialize (documented equivalents of the options).
ENV_COORDINATOR = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_NUM_WORKERS = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_WORKER_INDEX = "KERAS_DISTRIBUTION_PROCESS_ID"

# The files of a run a resuming worker needs: its config, its history and the backed-up state.
RUN_STATE_FILES = ("config.yaml", "manifest.json", "history.csv")


@dataclass(frozen=True)
class ClusterOptions:
    """Where the cluster is, from `dlflow train`'s options or the KERAS_DISTRIBUTION_* variables.

    Args:
        coordinator: `HOST:PORT` of worker 0 (the chief), reachable from every worker.
        num_workers: how many worker processes train together.
        worker_index: this process's index, 0 to num_workers - 1; 0 is the chief.
    """

    coordinator: str | None = None
    num_workers: int | None = None
    worker_index: int | None = None

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> "ClusterOptions":
        """Options given on the command line, falling back to the KERAS_DISTRIBUTION_* variables."""
        options = dict(options or {})
        environ = os.environ if environ is None else environ

        def number(key: str, variable: str) -> int | None:
            value = options.get(key)
            if value is None and environ.get(variable, "").strip():
                try:
                    value = int(environ[variable])
                except ValueError:
                    raise UsageError(f"{variable}: expected an integer, received {environ[variable]!r}") from None
            return value

        coordinator = options.get("coordinator") or environ.get(ENV_COORDINATOR) or None
        return cls(coordinator, number("num_workers", ENV_NUM_WORKERS), number("worker_index", ENV_WORKER_INDEX))

    @property
    def given(self) -> bool:
        """True when any of the three is set."""
        return any(v is not None for v in (self.coordinator, self.num_workers, self.worker_index))


@dataclass(frozen=True)
class Worker:
    """This process's place among the workers (one worker, the chief, when not distributed)."""

    index: int = 0
    count: int = 1
    coordinator: str | None = None

    @property
    def is_chief(self) -> bool:
        """Worker 0: the one that writes the run directory."""
        return self.index == 0

    @property
    def distributed(self) -> bool:
        return self.count > 1

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for the manifest."""
        return {"count": self.count, "coordinator": self.coordinator}

    def runs_root(self, runs_root: Path) -> Path:
        """Where this worker writes runs: `runs_root` on the chief, a private scratch folder elsewhere.

        The scratch folder is removed when the process exits.
        """
        if self.is_chief:
            return runs_root
        scratch = Path(tempfile.mkdtemp(prefix=f"dlflow-worker{self.index}-"))
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        return scratch


def check_cluster(runtime: Any, options: ClusterOptions) -> None:
    """Raise a UsageError when the cluster options do not fit together or with runtime.strategy.

    Cheap (imports nothing): commands check before TensorFlow loads.
    """
    if runtime.strategy != "multi_worker":
        if options.given:
            raise UsageError(
                "--coordinator, --num-workers and --worker-index are for runtime.strategy "
                f"multi_worker, but the strategy is {runtime.strategy}; "
                "add --set runtime.strategy=multi_worker --set runtime.backend=jax"
            )
        return
    if not options.given:
        return  # JAX's cluster detection (SLURM, ...) fills everything in
    missing = [
        flag
        for flag, value in (
            ("--coordinator", options.coordinator),
            ("--num-workers", options.num_workers),
            ("--worker-index", options.worker_index),
        )
        if value is None
    ]
    if missing:
        raise UsageError(
            f"multi-worker training needs --coordinator, --num-workers and --worker-index together; "
            f"missing: {', '.join(missing)}"
        )
    host, _, port = options.coordinator.split(",")[0].rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--coordinator: expected HOST:PORT (the chief's address), received {options.coordinator!r}")
    if options.num_workers < 1:
        raise UsageError(f"--num-workers: expected 1 or more, received {options.num_workers}")
    if not 0 <= options.worker_index < options.num_workers:
        raise UsageError(f"--worker-index: expected 0 to {options.num_workers - 1}, received {options.worker_index}")


def join_cluster(runtime: Any, options: ClusterOptions | None = None) -> Worker:
    """Join the other workers (`keras.distribution.initialize`) when the config asks for multi_worker.

    Must run before anything computes with JAX. Unset options come from the KERAS_DISTRIBUTION_*
    variables, then from JAX's own cluster detection (SLURM, Open MPI, Kubernetes with jax[k8s]).

    Args:
        runtime: the config's runtime section (its strategy; the backend is jax, see
            `dlflow.train.backend.check_strategy`).
        options: `dlflow train`'s --coordinator, --num-workers and --worker-index.

    Returns:
        This process's Worker (index 0 of 1 when the strategy is not multi_worker).
    """
    options = options or ClusterOptions()
    check_cluster(runtime, options)
    if runtime.strategy != "multi_worker":
        return Worker()
    import jax

    if jax.distributed.is_initialized():
        return Worker(jax.process_index(), jax.process_count(), options.coordinator)
    import keras

    try:
        with _stdout_to_stderr():  # the first collective connects the workers; Gloo says so on stdout
            keras.distribution.initialize(
                job_addresses=options.coordinator, num_processes=options.num_workers, process_id=options.worker_index
            )
    except (ValueError, RuntimeError) as exc:
        if not options.given:
            raise UsageError(
                "runtime.strategy multi_worker needs to know the cluster: run the same command on "
                "every machine with --coordinator HOST:PORT --num-workers N --worker-index I (or set "
                f"{ENV_COORDINATOR}, {ENV_NUM_WORKERS}, {ENV_WORKER_INDEX}; SLURM is detected)"
            ) from exc
        raise UsageError(f"cannot join the workers at {options.coordinator}: {_first_line(exc)}") from exc
    return Worker(jax.process_index(), jax.process_count(), options.coordinator)


def shard_batches(dataset: Any, *, replicas: int, worker: Worker, batch_size: int, samples: int | None = None) -> Any:
    """This worker's equal share of every global batch, each share split evenly over its devices.

    Every worker builds the same pipeline (same data, same seed, same order). Each global batch
    is cut to a multiple of `replicas` (only a last, smaller batch loses samples: fewer than
    `replicas`) and worker i takes the i-th of `worker.count` equal slices, so every worker
    takes the same number of steps and no collective waits for a worker that ran out of data.

    Args:
        dataset: batches of (inputs, targets) from `to_tf_dataset`, `batch_size` samples each.
        replicas: devices over all workers (a multiple of `worker.count`).
        worker: this process's place.
        batch_size: the global batch size (a multiple of `replicas`).
        samples: samples in the dataset, when known: keeps its number of batches known to Keras.
    """
    import tensorflow as tf

    if replicas == 1:
        return dataset
    share_count, index = worker.count, worker.index

    def share(*batch: Any) -> Any:
        structure = batch if len(batch) > 1 else batch[0]
        size = tf.shape(tf.nest.flatten(structure)[0])[0]
        share_size = (size // replicas) * replicas // share_count
        start = index * share_size
        return tf.nest.map_structure(lambda t: t[start : start + share_size], structure)

    dataset = dataset.map(share, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    last = samples - (samples - 1) // batch_size * batch_size if samples else None
    if last is None or last < replicas:  # a last batch too small to share: drop it
        dataset = dataset.filter(lambda *batch: tf.shape(tf.nest.flatten(batch)[0])[0] > 0)
        if samples:
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(samples // batch_size))
    return dataset.prefetch(tf.data.AUTOTUNE)


@contextlib.contextmanager
def chief_first(worker: Worker, root: Path, shared: list[str]) -> Iterator[None]:
    """Run the block on the chief, send the files it wrote under `root`, then run it on the others.

    Each worker gets the chief's copy of `shared` (paths relative to `root`; missing ones are
    skipped) before its block runs, so a block that reads them (the frozen split) sees what the
    chief saw, with or without a shared file system.
    """
    if not worker.distributed:
        yield
        return
    if not worker.is_chief:
        _write_bundle(root, _broadcast_bytes(worker, None))
    yield
    if worker.is_chief:
        _broadcast_bytes(worker, _read_bundle(root, shared))


def follow_chief_run(worker: Worker, run: Any, runs_root: Path) -> Any:
    """The chief's run to resume (or None), as a private copy on the other workers.

    The chief sends its run's config, manifest, history and backed-up state (BackupAndRestore's
    files); every other worker writes them into its own scratch `runs_root`, so all restore the
    same weights, optimizer state and epoch. Every worker calls this, whatever its --resume said:
    the chief's decision counts.

    Args:
        worker: this process's place.
        run: on the chief, the RunDir being resumed or None; ignored elsewhere.
        runs_root: this worker's runs root (a scratch folder on non-chief workers).
    """
    from dlflow.runs.layout import RunDir

    if not worker.distributed:
        return run
    if worker.is_chief:
        label = f"{run.experiment}/{run.run_id}" if run is not None else ""
        files = (
            []
            if run is None
            else [
                *RUN_STATE_FILES,
                *(str(p.relative_to(run.path)) for p in sorted(run.backup.rglob("*")) if p.is_file()),
            ]
        )
        _broadcast_bytes(worker, label.encode())
        _broadcast_bytes(worker, _read_bundle(run.path, files) if run is not None else b"")
        return run
    label = _broadcast_bytes(worker, None).decode()
    bundle = _broadcast_bytes(worker, None)
    if not label:
        return None
    path = runs_root / label
    for sub in ("checkpoints", "logs"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    _write_bundle(path, bundle)
    return RunDir(path)


def share_text(worker: Worker, text: str | None) -> str:
    """The chief's `text` on every worker (e.g. the run directory, for the others' logs)."""
    if not worker.distributed:
        return text or ""
    return _broadcast_bytes(worker, (text or "").encode() if worker.is_chief else None).decode()


def agree(worker: Worker, what: str, value: str) -> None:
    """Raise a DataError on every worker unless all workers hold the same `value`.

    Args:
        what: what is compared, for the message (e.g. "the data and its split").
        value: this worker's value (e.g. a digest of its data).
    """
    if not worker.distributed:
        return
    import hashlib

    import numpy as np
    from jax.experimental import multihost_utils

    digest = np.frombuffer(hashlib.sha256(value.encode()).digest(), dtype=np.uint8)
    everyone = np.asarray(multihost_utils.process_allgather(digest))
    differ = [i for i, row in enumerate(everyone.reshape(worker.count, -1)) if not (row == everyone[:1]).all()]
    if differ:
        raise DataError(
            f"the workers do not agree on {what}: worker(s) {', '.join(map(str, differ))} differ from "
            f"worker 0; every worker must read the same data with the same config"
        )


def _broadcast_bytes(worker: Worker, payload: bytes | None) -> bytes:
    """The chief's `payload` on every worker (two collectives: its length, then its bytes)."""
    import numpy as np
    from jax.experimental import multihost_utils

    size = int(multihost_utils.broadcast_one_to_all(np.int64(len(payload) if worker.is_chief else 0)))
    if size == 0:
        return b""
    local = np.frombuffer(payload, dtype=np.uint8) if worker.is_chief else np.zeros(size, dtype=np.uint8)
    return np.asarray(multihost_utils.broadcast_one_to_all(local)).astype(np.uint8).tobytes()


def _read_bundle(root: Path, relative: list[str]) -> bytes:
    """Files under `root` as one byte string: a JSON header line (names, sizes), then their bytes."""
    present = [(name, (root / name).read_bytes()) for name in relative if (root / name).is_file()]
    header = json.dumps([[name, len(data)] for name, data in present]).encode()
    return header + b"\n" + b"".join(data for _, data in present)


def _write_bundle(root: Path, bundle: bytes) -> None:
    """Write a `_read_bundle` byte string's files under `root` (each atomically)."""
    if not bundle:
        return
    header, _, body = bundle.partition(b"\n")
    offset = 0
    for name, size in json.loads(header):
        target = (root / name).resolve()
        if root.resolve() not in target.parents:
            raise DataError(f"refusing to write {name!r} outside {root}")
        write_bytes(target, body[offset : offset + size])
        offset += size


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr for a while: stdout is for results (`--json`)."""
    import ctypes
    import sys

    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    libc.fflush(None)
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        libc.fflush(None)  # C and C++ writes buffered while stdout pointed at stderr go there
        os.dup2(saved, 1)
        os.close(saved)
