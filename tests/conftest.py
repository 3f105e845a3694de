"""Shared test helpers: run the real `dlflow` CLI in a subprocess, in a scratch folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
DLFLOW = [sys.executable, "-m", "dlflow.cli"]


def run_cli(*args: str, cwd: Path, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `dlflow ARGS` in `cwd`; returns the completed process (text stdout/stderr)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("DLFLOW_RUNS_DIR", None)
    return subprocess.run([*DLFLOW, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)


def cli_json(*args: str, cwd: Path, **kwargs) -> dict:
    """Run a command with --json and parse its stdout (fails the test on a non-zero exit)."""
    done = run_cli(*args, "--json", cwd=cwd, **kwargs)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory) -> dict:
    """The README's quickstart, once per session: train the default digits convnet as shipped."""
    work = tmp_path_factory.mktemp("digits")
    result = cli_json("train", str(CONFIGS / "digits_convnet.yaml"), cwd=work)
    return {"work": work, "run": Path(result["run"]), "metrics": result}


# `make test` runs `--dist loadfile`: each test module on one xdist worker, so its module fixtures are built
# once (session fixtures are built once per worker that needs them). `--dist loadgroup` would group across
# modules, but pytest 9.2 derives a node id from `Node._id`, and pytest-xdist 3.8 still writes the group
# into `item._nodeid`: the groups are silently ignored and every test is scheduled on its own.
