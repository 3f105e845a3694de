"""Fixtures for the server's tests: small trained runs, and `dlflow serve` running on them."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import CONFIGS, DLFLOW, cli_json

READY_TIMEOUT_S = 180
STOP_TIMEOUT_S = 30


@pytest.fixture(scope="session")
def serve_runs(tmp_path_factory) -> dict:
    """Two runs of 2 epochs: the digits MLP (one image input) and configs/breast_cancer.yaml on
    the breast-cancer table plus a string column `size` (31 named columns, spaces in names)."""
    work = tmp_path_factory.mktemp("serve")
    cancer_table().to_csv(work / "cancer.csv", index=False)
    digits = cli_json("train", str(CONFIGS / "digits_mlp.yaml"), "--set", "fit.epochs=2", cwd=work)
    table = cli_json(
        "train",
        str(CONFIGS / "breast_cancer.yaml"),
        "--set",
        "fit.epochs=2",
        "--set",
        f"data.source={work / 'cancer.csv'}",
        cwd=work,
    )
    return {"work": work, "digits": Path(digits["run"]), "table": Path(table["run"])}


def cancer_table():
    """scikit-learn's breast-cancer table with its labels and a string column, `size`."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns=["target"])
    frame["size"] = np.where(frame["mean radius"] > 14, "large", "small")
    frame["diagnosis"] = np.asarray(bunch.target_names, dtype=object)[bunch.target]
    return frame


# The runtime choice (`serve --runtime auto`, the default: ONNX Runtime when it matches TensorFlow) is tested by
# test_serve_http.py's servers; the other modules test other things on TensorFlow, which skips the 3-5 s
# conversion at each server's start.
TF_RUNTIME = ("--runtime", "tensorflow")


@contextlib.contextmanager
def running_server(run: Path | str, cwd: Path, *args: str) -> Iterator[dict]:
    """Start `dlflow serve RUN --port 0 --json`, wait until it prints its URL, stop it (SIGTERM) at the end.

    Yields the ready line's JSON ({"url", "server", "metrics", ...}) plus "process". On leaving,
    checks that the server stopped cleanly (exit 0, "server stopped" on stderr) and adds its
    "stderr" to the yielded dict.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DLFLOW_RUNS_DIR", None)
    process = subprocess.Popen(
        [*DLFLOW, "serve", str(run), "--port", "0", "--json", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    info: dict = {}
    try:
        info.update(json.loads(_first_line(process)))
        info["process"] = process
        yield info
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
            raise AssertionError(f"dlflow serve did not stop within {STOP_TIMEOUT_S}s of SIGTERM") from None
    info["stderr"] = stderr
    assert process.returncode == 0, stderr[-3000:]
    assert "server stopped" in stderr


def _first_line(process: subprocess.Popen) -> str:
    """The server's first stdout line, waiting at most READY_TIMEOUT_S."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
            if line:
                return line
        if process.poll() is not None:
            raise AssertionError(f"dlflow serve exited with {process.returncode}: {process.stderr.read()[-3000:]}")
    raise AssertionError(f"dlflow serve was not ready within {READY_TIMEOUT_S}s")


@pytest.fixture(scope="module")
def digits_server(serve_runs) -> Iterator[dict]:
    """`dlflow serve digits-mlp` (an experiment name: its latest run)."""
    with running_server("digits-mlp", serve_runs["work"]) as info:
        yield info


@pytest.fixture(scope="module")
def table_server(serve_runs) -> Iterator[dict]:
    """`dlflow serve <breast-cancer run directory> --name cancer`."""
    with running_server(serve_runs["table"], serve_runs["work"], "--name", "cancer") as info:
        yield info
