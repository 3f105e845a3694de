"""Helpers for multi-process tests: free ports, worker processes bounded by timeouts, saved weights."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

WORKER_TIMEOUT = 420  # seconds; `timeout -k` ends a worker stuck in a collective


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_dlflow(args: list[str], *, cwd: Path, env: dict | None = None, tag: str = "worker") -> subprocess.Popen:
    """Start `dlflow ARGS` under `timeout -k`, stdout and stderr to files in `cwd` named after `tag`."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("DLFLOW_RUNS_DIR", None)
    command = ["timeout", "-k", "10", str(WORKER_TIMEOUT), sys.executable, "-m", "dlflow.cli", *args]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=full_env,
        stdout=open(cwd / f"{tag}.out", "w"),
        stderr=open(cwd / f"{tag}.err", "w"),
        start_new_session=True,
    )


def finish(process: subprocess.Popen, timeout: float = WORKER_TIMEOUT + 20) -> int:
    """Wait for a process; on a timeout, kill its whole process group and fail."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"{process.args} did not finish in {timeout}s") from None


def kill(process: subprocess.Popen) -> None:
    """SIGKILL a started process and its children (a dying machine)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def run_workers(
    args: list[str], *, count: int, cwd: Path, port: int | None = None, env: dict | None = None, tag: str = "worker"
) -> list[dict]:
    """Run `dlflow ARGS --coordinator 127.0.0.1:PORT --num-workers N --worker-index I --json` for each I.

    Returns each worker's JSON result (asserting every worker exited 0).
    """
    port = port or free_port()
    processes = [
        start_dlflow(
            [
                *args,
                "--coordinator",
                f"127.0.0.1:{port}",
                "--num-workers",
                str(count),
                "--worker-index",
                str(i),
                "--json",
            ],
            cwd=cwd,
            env=env,
            tag=f"{tag}{i}",
        )
        for i in range(count)
    ]
    codes = [finish(p) for p in processes]
    for i, code in enumerate(codes):
        assert code == 0, f"worker {i} exited {code}:\n" + (cwd / f"{tag}{i}.err").read_text()[-3000:]
    return [json.loads((cwd / f"{tag}{i}.out").read_text()) for i in range(count)]


def saved_weights(keras_file: Path) -> dict[str, np.ndarray]:
    """Every array in a .keras file's model.weights.h5 (model and optimizer), by HDF5 path."""
    import h5py

    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(keras_file) as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            weights.visititems(
                lambda name, obj: out.__setitem__(name, np.array(obj)) if isinstance(obj, h5py.Dataset) else None
            )
    return out


def max_weight_difference(a: Path, b: Path) -> float:
    """The largest absolute difference between two .keras files' weights (same architecture)."""
    first, second = saved_weights(a), saved_weights(b)
    assert first.keys() == second.keys() and first
    return max(float(np.abs(first[k].astype("float64") - second[k].astype("float64")).max()) for k in first)
