"""The prediction log: a sample of what the server saw and answered, written off the request path.

`record()` is all a request pays: a coin toss (`sample`) and an append to a bounded deque;
when it is full the examples are dropped and counted (`dlflow_serve_log_dropped_rows`). No
request wakes the log's thread (a `queue.Queue` did, on every put: a thread switch per request,
a quarter of the server's CPU); the thread wakes by itself every `COLLECT_SECONDS`, turns what
queued into columns (`dlflow.serve.logcolumns`: inputs, `_pred.<target>` and `_conf.<target>`,
`_request_id`, `_row`, `_time`, `_latency_ms`, `_version`) in small steps (it holds the GIL
meanwhile, so one big step would stall requests), and every `flush_seconds` writes them as one
parquet file
`predictions-<UTC time>-<n>.parquet` (written to a temporary name, then renamed: a reader
never sees half a file). The folder is kept under `max_bytes` by deleting its oldest files.
After each file, the drift gauges are recomputed over the last `drift_rows` logged rows.

A folder that cannot be written (full disk, read-only, not a folder) is reported once on
stderr; requests never fail for it, their rows are counted as dropped ("write_error").
"""

from __future__ import annotations

import collections
import itertools
import os
import random
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from dlflow.runs.files import atomic_path
from dlflow.serve.logcolumns import log_columns

FILE_GLOB = "predictions-*.parquet"
QUEUE_REQUESTS = 2048
COLLECT_SECONDS = 0.25  # how often the thread turns queued requests into columns
DRIFT_ROWS = 1000
RELIST_SECONDS = 60.0  # how often the size budget re-lists the folder (`_rotate`)


class PredictionLog:
    """Samples requests into rotating parquet files under `folder` (see the module's docstring).

    Args:
        folder: where the files go (created on the first write).
        inputs, outputs: the model's input and target specs.
        decode: `(target spec, raw outputs) -> (labels, confidence or None)`.
        version: the model version recorded with each row.
        sample: the share of requests logged, 0..1.
        max_bytes: the most the folder's log files may weigh; the oldest are deleted past it.
        metrics: a `ServerMetrics` for the row counters and drift gauges (optional).
        drift: `{feature: 1-D array} -> {feature: PSI}` for the gauges (optional, see workflow.serving).
        warn: where the one-time messages go (stderr).
    """

    def __init__(
        self,
        folder: Path,
        inputs: Sequence[Any],
        outputs: Sequence[Any],
        decode: Callable[[Any, np.ndarray], tuple[np.ndarray, Any]],
        *,
        version: str = "1",
        sample: float = 1.0,
        max_bytes: int = 100 * 2**20,
        metrics: Any = None,
        drift: Callable[[dict[str, np.ndarray]], dict[str, float]] | None = None,
        warn: Callable[[str], None] | None = None,
        flush_seconds: float = 2.0,
        queue_requests: int = QUEUE_REQUESTS,
    ):
        self.folder = Path(folder)
        self.inputs, self.outputs, self.decode, self.version = list(inputs), list(outputs), decode, version
        self.sample, self.max_bytes, self.metrics, self.drift = sample, max_bytes, metrics, drift
        self.warn = warn or (lambda message: print(message, file=sys.stderr, flush=True))
        self.flush_seconds = flush_seconds
        self.dropped = 0
        self.queue_requests = queue_requests
        self._queue: collections.deque = collections.deque()  # append and popleft are atomic: no lock
        self._stopping = threading.Event()
        self._ids = itertools.count()
        self._prefix = uuid.uuid4().hex[:8]
        self._files = itertools.count()
        self._recent: list[dict[str, np.ndarray]] = []
        self._warned: set[str] = set()
        self._on_disk: collections.deque[tuple[Path, int]] | None = None  # the log files, oldest first (`_rotate`)
        self._disk_bytes = 0
        self._listed_at = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dlflow-prediction-log", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued and end the thread."""
        if self._thread is not None:
            self._stopping.set()
            self._thread.join(timeout)
            self._thread = None
            self._stopping.clear()

    def record(
        self, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray], rows: int, latency: float
    ) -> str | None:
        """Queue one answered request; its request id, or None when not sampled or dropped."""
        if self.sample < 1.0 and random.random() >= self.sample:
            return None
        if len(self._queue) >= self.queue_requests:
            self._drop(rows, "queue_full")
            return None
        request_id = f"{self._prefix}-{next(self._ids)}"
        self._queue.append((request_id, time.time(), latency, inputs, outputs, rows))
        return request_id

    def _drop(self, rows: int, reason: str) -> None:
        self.dropped += rows
        if self.metrics is not None:
            self.metrics.dropped_rows.labels(reason=reason).inc(rows)

    def _run(self) -> None:
        pending: list[tuple[dict[str, np.ndarray], int]] = []  # (columns, rows) collected since the last file
        deadline = time.monotonic() + self.flush_seconds
        while True:
            stopping = self._stopping.wait(min(COLLECT_SECONDS, self.flush_seconds))
            self._collect(pending)
            if pending and (stopping or time.monotonic() >= deadline):
                self._flush(pending)
                pending = []
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + self.flush_seconds
            if stopping:
                return

    def _collect(self, pending: list[tuple[dict[str, np.ndarray], int]]) -> None:
        """Turn the requests queued so far into columns, appended to `pending`."""
        items = []
        while self._queue:
            items.append(self._queue.popleft())
        if not items:
            return
        rows = sum(item[5] for item in items)
        try:
            pending.append((self._columns(items), rows))
        except Exception as error:  # noqa: BLE001 - a log never takes the server down
            self._warn_once("columns", f"prediction log: cannot record requests ({type(error).__name__}: {error})")
            self._drop(rows, "encode_error")

    def _flush(self, pending: list[tuple[dict[str, np.ndarray], int]]) -> None:
        """Write the collected columns as one file, then update the drift gauges and counters."""
        rows = sum(part[1] for part in pending)
        names = list(pending[0][0])
        columns = {name: np.concatenate([part[0][name] for part in pending]) for name in names}
        try:
            self._write(columns)
        except OSError as error:
            self._warn_once(
                "write",
                f"prediction log: cannot write to {self.folder} ({error.strerror or error}); "
                f"serving goes on without it",
            )
            self._drop(rows, "write_error")
            return
        self._update_drift(columns)
        if self.metrics is not None:  # after the gauges: a reader that sees the rows sees their drift
            self.metrics.logged_rows.inc(rows)

    def _columns(self, items: list[tuple]) -> dict[str, np.ndarray]:
        """The log's columns for queued requests: one pass over their concatenated inputs and outputs."""
        inputs = {spec.name: np.concatenate([item[3][spec.name] for item in items]) for spec in self.inputs}
        columns = log_columns(inputs, self.inputs)
        for spec in self.outputs:
            outputs = np.concatenate([np.asarray(item[4][spec.name]) for item in items])
            labels, confidence = self.decode(spec, outputs)
            columns[f"_pred.{spec.name}"] = _one_per_row(labels)
            if confidence is not None:
                columns[f"_conf.{spec.name}"] = _one_per_row(confidence)
        rows = [item[5] for item in items]
        columns["_request_id"] = np.repeat(np.array([item[0] for item in items], dtype=object), rows)
        columns["_row"] = np.concatenate([np.arange(n, dtype=np.int64) for n in rows])
        columns["_time"] = np.repeat(np.array([item[1] for item in items], dtype=np.float64), rows)
        columns["_latency_ms"] = np.repeat(np.array([item[2] * 1000.0 for item in items], dtype=np.float64), rows)
        columns["_version"] = np.full(sum(rows), self.version, dtype=object)
        return columns

    def _write(self, columns: dict[str, np.ndarray]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.folder / f"predictions-{stamp}-{os.getpid()}-{next(self._files):06d}.parquet"
        table = pa.table({name: pa.array(_arrow_ready(values)) for name, values in columns.items()})
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        self._rotate(path)

    def _rotate(self, written: Path) -> None:
        """Keep the folder's log files under `max_bytes`, deleting the oldest first.

        The folder is listed at the first file and then once every `RELIST_SECONDS` (files another
        server writes there count from then on); in between the log keeps its own account of the
        files and their sizes: listing it at every file cost a `stat` per file, thousands of them
        in a full folder, in a thread that holds the GIL between them.
        """
        if self._on_disk is None or time.monotonic() >= self._listed_at + RELIST_SECONDS:
            self._listed_at = time.monotonic()
            listed = [(p, p.stat()) for p in self.folder.glob(FILE_GLOB) if p != written]
            listed.sort(key=lambda item: item[1].st_mtime)
            self._on_disk = collections.deque((path, stat.st_size) for path, stat in listed)
            self._disk_bytes = sum(size for _, size in self._on_disk)
        size = written.stat().st_size
        self._on_disk.append((written, size))
        self._disk_bytes += size
        while self._disk_bytes > self.max_bytes and len(self._on_disk) > 1:
            old, size = self._on_disk.popleft()
            self._disk_bytes -= size
            old.unlink(missing_ok=True)  # gone already: deleted by hand, or by another server's log

    def _update_drift(self, columns: dict[str, np.ndarray]) -> None:
        if self.drift is None or self.metrics is None:
            return
        self._recent.append(columns)
        sizes = [len(part["_row"]) for part in self._recent]
        while len(self._recent) > 1 and sum(sizes) - sizes[0] >= DRIFT_ROWS:
            self._recent.pop(0)
            sizes.pop(0)
        recent = {
            name: np.concatenate([part[name] for part in self._recent])[-DRIFT_ROWS:]
            for name in columns
            if all(name in part for part in self._recent)
        }
        rows = min(sum(sizes), DRIFT_ROWS)
        try:
            self.metrics.set_drift(self.drift(recent), rows=rows)
        except Exception as error:  # noqa: BLE001 - the gauges are optional; the log goes on
            self._warn_once("drift", f"prediction log: drift gauges off ({type(error).__name__}: {error})")
            self.drift = None

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.warn(message)


def _one_per_row(values: Any) -> np.ndarray:
    """One value per example: a vector (multi-label, multi-output regression) becomes a list."""
    values = np.asarray(values)
    if values.ndim <= 1:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = [row.tolist() for row in values]
    return out


def _arrow_ready(values: np.ndarray) -> Any:
    """Numpy arrays pyarrow takes: object columns of strings stay strings, other objects become text."""
    if values.dtype.kind != "O":
        return values
    if all(isinstance(v, str) for v in values):
        return values.tolist()
    return [v if isinstance(v, (str, int, float, list)) or v is None else str(v) for v in values]
