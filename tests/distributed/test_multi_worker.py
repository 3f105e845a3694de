"""`dlflow train` as two worker processes on 127.0.0.1 (JAX backend, strategy multi_worker, CPU).

The same command runs twice, only --worker-index differs; both must finish, only worker 0 may
write the run directory, and the weights must equal a single-process run of the same config.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import CONFIGS, cli_json
from tests.distributed.conftest import finish, free_port, max_weight_difference, run_workers, start_dlflow

# digits_mlp with an even number of training samples (1168), so two workers cut nothing off the last
# training batch and train on exactly the samples a single process does. (Validation has 359: the
# workers score 358, one cut off the last batch so that it splits evenly.)
COMMON = [
    "train",
    str(CONFIGS / "digits_mlp.yaml"),
    "--set",
    "fit.epochs=3",
    "--set",
    "fit.callbacks=[]",
    "--set",
    "data.split.validation=0.2",
    "--set",
    "runtime.backend=jax",
]


@pytest.mark.slow
def test_two_workers_match_one_process_and_only_the_chief_writes(tmp_path):
    single = cli_json(*COMMON, "--set", "runtime.strategy=none", cwd=tmp_path)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    chief, other = run_workers(
        [*COMMON, "--set", "runtime.strategy=multi_worker"], count=2, cwd=tmp_path, env={"TMPDIR": str(scratch)}
    )

    # Both report the chief's run; it is the only new run directory, and worker 1 left nothing behind.
    assert chief["run"] == other["run"]
    runs = sorted(p.name for p in (tmp_path / "runs" / "digits-mlp").iterdir() if p.is_dir())
    assert sorted([single["run"].rsplit("/", 1)[1], chief["run"].rsplit("/", 1)[1]]) == runs
    assert list(scratch.iterdir()) == []  # the worker's private scratch folder is removed at exit
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["runs", "tmp", "worker0.out", "worker0.err", "worker1.out", "worker1.err"]
    )
    assert (
        "run: " in (tmp_path / "worker1.err").read_text()
        and "written by worker 0" in (tmp_path / "worker1.err").read_text()
    )

    manifest = json.loads((tmp_path / chief["run"] / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    runtime = manifest["runtime"]
    assert (runtime["backend"], runtime["strategy"], runtime["replicas"]) == ("jax", "multi_worker", 2)
    assert runtime["workers"]["count"] == 2 and runtime["jit_compile"] is True

    # The same training: weights within 1e-5, metrics alike, one history row per epoch.
    difference = max_weight_difference(
        tmp_path / single["run"] / "checkpoints" / "last.keras", tmp_path / chief["run"] / "checkpoints" / "last.keras"
    )
    assert difference < 1e-5, difference
    assert abs(single["last"]["loss"] - chief["last"]["loss"]) < 1e-5, (single["last"], chief["last"])
    for key in ("val_loss", "val_accuracy"):  # 358 of the same 359 validation samples
        assert abs(single["last"][key] - chief["last"][key]) < 0.01, (key, single["last"], chief["last"])
    assert chief["last"] == other["last"]  # every worker saw the same global metrics
    assert chief["epochs_completed"] == 3


@pytest.mark.slow  # two worker processes (~15 s); make test-all
def test_workers_that_disagree_stop_before_training(tmp_path):  # a different seed on worker 1
    port = free_port()
    common = [
        *COMMON,
        "--set",
        "runtime.strategy=multi_worker",
        "--coordinator",
        f"127.0.0.1:{port}",
        "--num-workers",
        "2",
    ]
    workers = [
        start_dlflow([*common, "--worker-index", "0"], cwd=tmp_path, tag="chief"),
        start_dlflow([*common, "--worker-index", "1", "--set", "seed=7"], cwd=tmp_path, tag="other"),
    ]
    assert [finish(w) for w in workers] == [2, 2]
    for tag in ("chief", "other"):
        log = (tmp_path / f"{tag}.err").read_text()
        assert "do not agree on the config, the data and its split: worker(s) 1 differ from worker 0" in log, log[
            -2000:
        ]
        assert "Traceback" not in log
    assert not list((tmp_path / "runs" / "digits-mlp").glob("*/"))  # no run directory
