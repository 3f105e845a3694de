"""Two workers lose one of them mid-run; the job restarts with --resume and finishes the same run.

The chief writes BackupAndRestore's state into the run directory; on resume it sends that state
to the other worker, so both restore the same weights, optimizer state and epoch.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from tests.conftest import CONFIGS
from tests.distributed.conftest import free_port, kill, run_workers, start_dlflow

EPOCHS = 6
ARGS = [
    "train",
    str(CONFIGS / "digits_mlp.yaml"),
    "--set",
    f"fit.epochs={EPOCHS}",
    "--set",
    "fit.callbacks=[]",
    "--set",
    "fit.batch_size=16",
    "--set",
    "runtime.backend=jax",
    "--set",
    "runtime.strategy=multi_worker",
    "--num-workers",
    "2",
]


def _epochs(history: Path) -> list[int]:
    if not history.exists():
        return []
    with open(history) as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_a_worker_dies_and_the_job_resumes_in_the_same_run(tmp_path):
    port = free_port()
    scratch = tmp_path / "tmp"  # a killed worker leaves its private folder behind: keep it in the test's
    scratch.mkdir()
    workers = [
        start_dlflow(
            [*ARGS, "--coordinator", f"127.0.0.1:{port}", "--worker-index", str(i)],
            cwd=tmp_path,
            env={"TMPDIR": str(scratch)},
            tag=f"first{i}",
        )
        for i in range(2)
    ]
    experiment = tmp_path / "runs" / "digits-mlp"
    deadline, run = time.time() + 300, None
    while time.time() < deadline and run is None:
        runs = [p for p in experiment.glob("*/") if len(_epochs(p / "history.csv")) >= 2] if experiment.exists() else []
        run = runs[0] if runs else None
        time.sleep(0.1)
    assert run is not None, "training never reached epoch 2:\n" + (tmp_path / "first0.err").read_text()[-2000:]
    kill(workers[1])  # a machine dies...
    kill(workers[0])  # ...and the job goes down with it (JAX would end the chief after its heartbeat timeout)
    done_before = len(_epochs(run / "history.csv"))
    assert 2 <= done_before < EPOCHS
    assert json.loads((run / "manifest.json").read_text())["status"] == "running"

    # The same command on both machines, with --resume: the chief's run directory decides.
    chief, other = run_workers([*ARGS, "--resume", str(run)], count=2, cwd=tmp_path, tag="again")
    assert chief["run"] == other["run"] == str(run)
    assert sorted(p.name for p in experiment.iterdir() if p.is_dir()) == [run.name]
    assert _epochs(run / "history.csv") == list(range(EPOCHS))  # no epoch repeated or missing
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["resumes"] == 1
    for i in range(2):  # neither worker trained the finished epochs again
        log = (tmp_path / f"again{i}.err").read_text()
        assert "Epoch 1/" not in log and f"Epoch {EPOCHS}/{EPOCHS}" in log, log[-2000:]
    assert chief["epochs_completed"] == other["epochs_completed"] == EPOCHS
