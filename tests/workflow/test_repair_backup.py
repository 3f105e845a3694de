"""A backup cut off mid-write by a SIGKILL is repaired before resuming (found by benchmarks/soak_resume.py)."""

from __future__ import annotations

import json

import h5py
import numpy as np

from dlflow.runs.layout import RunDir
from dlflow.workflow.resume import repair_backup, trim_history


def _run(tmp_path, *, previous: bool) -> RunDir:
    run = RunDir(tmp_path / "exp" / "20260101-000000")
    run.backup.mkdir(parents=True)
    with h5py.File(run.backup / "sound.h5", "w") as handle:
        handle["w"] = np.zeros(3)
    sound = (run.backup / "sound.h5").read_bytes()
    (run.backup / "sound.h5").unlink()
    (run.backup / "latest.weights.h5").write_bytes(sound[: len(sound) // 3])  # killed while writing
    (run.backup / "training_metadata.json").write_text(json.dumps({"epoch": 2, "batch": 0}))
    if previous:
        (run.backup / "latest.weights.h5.bkp").write_bytes(sound)
        (run.backup / "training_metadata.json.bkp").write_text(json.dumps({"epoch": 1, "batch": 0}))
    run.history.write_text("epoch,loss\n0,1.0\n1,0.9\n")
    return run


def test_a_damaged_backup_falls_back_on_the_previous_copy(tmp_path):
    run = _run(tmp_path, previous=True)
    trim_history(run)
    with h5py.File(run.backup / "latest.weights.h5", "r") as handle:
        assert list(handle) == ["w"]
    assert json.loads((run.backup / "training_metadata.json").read_text())["epoch"] == 1
    assert run.history.read_text().splitlines() == ["epoch,loss", "0,1.0"]  # epoch 1 is trained again


def test_a_damaged_backup_without_a_sound_copy_restarts_from_epoch_0(tmp_path):
    run = _run(tmp_path, previous=False)
    messages = []
    repair_backup(run, messages.append)
    assert list(run.backup.iterdir()) == [] and not run.history.exists()
    assert "restarts from epoch 0" in messages[0]
