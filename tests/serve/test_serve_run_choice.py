"""An experiment name stands for its latest completed `train` run, and the command says which it chose."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.serve.conftest import TF_RUNTIME, running_server

TRAIN, DEVELOP, RUNNING, FAILED = "20260101-000000", "20260102-000000", "20260103-000000", "20260104-000000"


def fake_run(source: Path, experiment: Path, run_id: str, **manifest) -> Path:
    """A copy of a trained run under another run id, with manifest fields replaced."""
    target = experiment / run_id
    shutil.copytree(source, target)
    data = json.loads((target / "manifest.json").read_text())
    data.update(manifest)
    (target / "manifest.json").write_text(json.dumps(data))
    return target


def experiment_with_stage_runs(serve_runs: dict, work: Path) -> Path:
    """runs/digits-mlp/: a completed train run, then a newer develop run, a running and a failed train run."""
    experiment = work / "runs" / "digits-mlp"
    source = serve_runs["digits"]
    fake_run(source, experiment, TRAIN)
    command = ["dlflow", "develop", "configs/digits_mlp.yaml", "--epochs", "3"]
    fake_run(source, experiment, DEVELOP, stage="develop", command=command)
    fake_run(source, experiment, RUNNING, status="running")
    fake_run(source, experiment, FAILED, status="failed")
    return experiment


def test_serve_name_serves_the_latest_completed_train_run_and_says_so(serve_runs, tmp_path):
    experiment_with_stage_runs(serve_runs, tmp_path)
    with running_server("digits-mlp", tmp_path, *TF_RUNTIME) as info:
        assert Path(info["run"]).name == TRAIN
    chosen = f"using run {Path('runs', 'digits-mlp', TRAIN)} (latest completed train run of 'digits-mlp')"
    assert chosen in info["stderr"]


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_a_name_with_no_completed_train_run_exits_2_listing_its_runs(serve_runs, tmp_path):
    experiment = experiment_with_stage_runs(serve_runs, tmp_path)
    shutil.rmtree(experiment / TRAIN)
    done = run_cli("serve", "digits-mlp", "--port", "0", cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "error: experiment 'digits-mlp' has no completed train run" in done.stderr
    for line in (
        f"{DEVELOP}: develop run, completed",
        f"{RUNNING}: train run, running",
        f"{FAILED}: train run, failed",
    ):
        assert line in done.stderr
    assert "Traceback" not in done.stderr
