"""A training process killed with SIGKILL mid-run resumes in the same directory, epochs intact."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_cli

EPOCHS = 12


def _epochs(history: Path) -> list[int]:
    if not history.exists():
        return []
    with open(history) as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def test_sigkill_then_resume_completes_with_the_right_epoch_count(tmp_path):
    args = [
        sys.executable,
        "-m",
        "dlflow.cli",
        "train",
        str(CONFIGS / "digits_mlp.yaml"),
        "--set",
        f"fit.epochs={EPOCHS}",
        "--set",
        "fit.callbacks=[]",
        "--set",
        "fit.batch_size=16",
        "--set",
        "fit.backup_every=1",
    ]  # a backup every epoch: a kill loses at most the epoch under way
    process = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    experiment = tmp_path / "runs" / "digits-mlp"
    deadline = time.time() + 240
    run = None
    while time.time() < deadline:
        runs = [p for p in experiment.glob("*/") if (p / "history.csv").exists()] if experiment.exists() else []
        if runs and len(_epochs(runs[0] / "history.csv")) >= 3:
            run = runs[0]
            break
        time.sleep(0.05)
    assert run is not None, "training never reached epoch 3"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = len(_epochs(run / "history.csv"))
    assert killed_at < EPOCHS, "the run finished before it could be killed"
    assert json.loads((run / "manifest.json").read_text())["status"] == "running"

    done = run_cli(*args[3:], "--resume", str(run), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in experiment.iterdir() if p.is_dir()) == [run.name]  # same directory
    assert _epochs(run / "history.csv") == list(range(EPOCHS))  # no epoch repeated or missing
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["resumes"] == 1
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_completed"] == EPOCHS
    assert f"Epoch {killed_at + 1}/{EPOCHS}" in done.stderr or f"Epoch {killed_at}/{EPOCHS}" in done.stderr
    assert "Epoch 1/" not in done.stderr  # finished epochs were not trained again


@pytest.mark.slow  # a longer duplicate of faster checks: make test-all runs it
def test_resume_refuses_a_changed_config_and_shows_the_difference(tmp_path):
    base = ["train", str(CONFIGS / "digits_mlp.yaml"), "--set", "fit.epochs=1", "--set", "fit.callbacks=[]"]
    first = run_cli(*base, "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    run = json.loads(first.stdout)["run"]
    done = run_cli(*base, "--set", "fit.batch_size=7", "--resume", run, cwd=tmp_path)
    assert done.returncode == 2
    assert "fit.batch_size: 64 -> 7" in done.stderr
    assert "Traceback" not in done.stderr
    more = run_cli(*base[:-4], "--set", "fit.epochs=2", "--set", "fit.callbacks=[]", "--resume", run, cwd=tmp_path)
    assert more.returncode == 0, more.stderr[-2000:]  # more epochs is a valid resume
    assert _epochs(Path(run) / "history.csv") == [0, 1]


def _run_after_two_epochs(experiment: Path) -> Path:
    """The run directory of a training in progress, once its history.csv holds two epochs."""
    deadline = time.time() + 240
    while time.time() < deadline:
        runs = [p for p in experiment.glob("*/") if (p / "history.csv").exists()] if experiment.exists() else []
        if runs and len(_epochs(runs[0] / "history.csv")) >= 2:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError("training never reached epoch 2")


@pytest.mark.slow  # a signal mid-run: timing-dependent when the suite runs files in parallel; make test-all
def test_interrupted_run_hint_keeps_its_overrides_and_a_bare_resume_keeps_them_too(tmp_path):
    config = str(CONFIGS / "digits_mlp.yaml")  # fit.epochs: 30 in the file; the run is started with 5
    # batch 1: epochs slow enough that SIGINT lands before the fifth ends, whatever the machine
    sets = ["--set", "fit.epochs=5", "--set", "fit.callbacks=[]", "--set", "fit.batch_size=1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dlflow.cli", "train", config, *sets],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = _run_after_two_epochs(tmp_path / "runs" / "digits-mlp")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    hint = f"resume with: dlflow train {config} --set fit.epochs=5 --set 'fit.callbacks=[]' --set fit.batch_size=1 --resume {run}"
    assert hint in stderr

    done = run_cli("train", config, "--resume", str(run), cwd=tmp_path)  # the bare command, no --set
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Epoch 5/5" in done.stderr and "/30" not in done.stderr
    assert _epochs(run / "history.csv") == list(range(5))
    assert json.loads((run / "manifest.json").read_text())["overrides"][0] == "fit.epochs=5"


@pytest.mark.slow  # a signal mid-run: timing-dependent when the suite runs files in parallel; make test-all
def test_sigterm_backs_up_the_last_finished_epoch_between_intervals(tmp_path):
    config = str(CONFIGS / "digits_mlp.yaml")
    sets = [
        "--set",
        "fit.epochs=6",
        "--set",
        "fit.callbacks=[]",
        "--set",
        "fit.batch_size=2",  # slow epochs:
        "--set",
        "fit.backup_every=1h",
    ]  # SIGTERM lands mid-run; no interval backup, only SIGTERM's
    process = subprocess.Popen(
        [sys.executable, "-m", "dlflow.cli", "train", config, *sets],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = _run_after_two_epochs(tmp_path / "runs" / "digits-mlp")
    assert not (run / "backup" / "state.npz").exists()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "resume with:" in stderr, stderr[-2000:]
    backed_up = json.loads((run / "backup" / "training_metadata.json").read_text())["epoch"]
    assert backed_up >= 2 and json.loads((run / "manifest.json").read_text())["status"] == "interrupted"

    done = run_cli("train", config, "--resume", str(run), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"Epoch {backed_up + 1}/6" in done.stderr and "Epoch 1/6" not in done.stderr
    assert _epochs(run / "history.csv") == list(range(6))
    assert (run / "checkpoints" / "best.keras").exists()


def test_backup_every_that_does_not_parse_is_a_located_config_error(tmp_path):
    done = run_cli("validate", str(CONFIGS / "digits_mlp.yaml"), "--set", "fit.backup_every=soon", cwd=tmp_path)
    assert done.returncode == 2
    assert "fit.backup_every" in done.stderr and "'30s'" in done.stderr and "Traceback" not in done.stderr
