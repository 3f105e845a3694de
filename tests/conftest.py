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


# Session fixtures are built once per xdist worker. `make test` runs `--dist loadgroup`: each test module is
# one group (its module fixtures are built once), except that the modules using these session fixtures share a
# group, so one worker builds each of them instead of every worker that draws such a module.
SHARED_FIXTURE_GROUPS = {"serve_runs": "serve_runs"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    by_module: dict[str, str] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        shared = next((g for f, g in SHARED_FIXTURE_GROUPS.items() if f in getattr(item, "fixturenames", ())), None)
        if shared or module not in by_module:
            by_module[module] = shared or by_module.get(module) or module
    for item in items:
        if not any(item.iter_markers("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(by_module[item.nodeid.split("::")[0]]))
