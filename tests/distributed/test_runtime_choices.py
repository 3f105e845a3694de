"""The runtime's choices and the distributed helpers, without training (fast)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dlflow.errors import DataError, UsageError
from dlflow.train import backend, distributed, runtime
from dlflow.train.distributed import ClusterOptions, Worker


@pytest.mark.parametrize(
    "choice, platform, gpus, expected",
    [
        ("auto", "gpu", [{"compute_capability": (8, 0)}, {"compute_capability": (9, 0)}], "mixed_float16"),
        ("auto", "gpu", [{"compute_capability": (8, 0)}, {"compute_capability": (6, 1)}], "off"),  # all must gain
        ("auto", "gpu", [{"compute_capability": None}], "off"),
        ("auto", "cpu", [], "off"),
        ("auto", "tpu", [], "mixed_bfloat16"),
        ("mixed_bfloat16", "cpu", [], "mixed_bfloat16"),  # asked for: honoured
        ("off", "gpu", [{"compute_capability": (9, 0)}], "off"),
    ],
)
def test_mixed_precision_auto_picks_what_pays_off(choice, platform, gpus, expected):
    assert runtime._mixed_precision(choice, platform, gpus) == expected


def test_jax_device_count_is_set_before_jax_starts(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    config = SimpleNamespace(device="cpu", strategy="data_parallel", logical_cpus=3)
    backend._jax_devices_before_start(config)
    import os

    assert os.environ["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=3"
    assert os.environ["JAX_PLATFORMS"] == "cpu"
    backend._jax_devices_before_start(config)  # once only
    assert os.environ["XLA_FLAGS"].count("device_count") == 1


def test_cluster_options_fall_back_to_keras_variables():
    environ = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:7777",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "4",
        "KERAS_DISTRIBUTION_PROCESS_ID": "3",
    }
    assert ClusterOptions.from_options({}, environ) == ClusterOptions("10.0.0.1:7777", 4, 3)
    given = ClusterOptions.from_options({"worker_index": 1}, environ)
    assert given == ClusterOptions("10.0.0.1:7777", 4, 1)  # an option beats its variable
    assert not ClusterOptions.from_options({}, {}).given
    with pytest.raises(UsageError, match="KERAS_DISTRIBUTION_PROCESS_ID: expected an integer"):
        ClusterOptions.from_options({}, {"KERAS_DISTRIBUTION_PROCESS_ID": "one"})


@pytest.mark.parametrize(
    "strategy, options, message",
    [
        ("auto", ClusterOptions("h:1", 2, 0), "are for runtime.strategy multi_worker"),
        ("multi_worker", ClusterOptions("h:1", None, 0), "missing: --num-workers"),
        ("multi_worker", ClusterOptions("h", 2, 0), "expected HOST:PORT"),
        ("multi_worker", ClusterOptions("h:1", 0, 0), "--num-workers: expected 1 or more"),
        ("multi_worker", ClusterOptions("h:1", 2, -1), "--worker-index: expected 0 to 1, received -1"),
    ],
)
def test_cluster_options_are_checked_before_anything_starts(strategy, options, message):
    with pytest.raises(UsageError, match=message):
        distributed.check_cluster(SimpleNamespace(strategy=strategy), options)


def test_a_single_worker_needs_no_cluster(tmp_path):
    worker = distributed.join_cluster(SimpleNamespace(strategy="none", backend="tensorflow"))
    assert worker == Worker(0, 1) and worker.is_chief and not worker.distributed
    assert worker.runs_root(tmp_path) == tmp_path
    scratch = Worker(1, 2).runs_root(tmp_path)
    assert scratch != tmp_path and scratch.is_dir() and "dlflow-worker1-" in scratch.name


def test_files_travel_as_one_bundle_and_stay_inside_their_folder(tmp_path):
    source, target = tmp_path / "chief", tmp_path / "worker"
    (source / "backup").mkdir(parents=True)
    (source / "backup" / "latest.weights.h5").write_bytes(bytes(range(256)) * 3)
    (source / "history.csv").write_text("epoch,loss\n0,1.5\n")
    bundle = distributed._read_bundle(source, ["history.csv", "backup/latest.weights.h5", "missing.json"])
    distributed._write_bundle(target, bundle)
    assert (target / "history.csv").read_text() == "epoch,loss\n0,1.5\n"
    assert (target / "backup" / "latest.weights.h5").read_bytes() == bytes(range(256)) * 3
    assert not (target / "missing.json").exists()
    (tmp_path / "secret").write_text("x")
    with pytest.raises(DataError, match="outside"):
        distributed._write_bundle(target, distributed._read_bundle(source / "backup", ["../../secret"]))


@pytest.mark.parametrize("samples, batch, replicas", [(101, 10, 2), (105, 10, 2), (64, 16, 4), (70, 12, 4)])
def test_every_worker_takes_the_same_steps_over_disjoint_samples(samples, batch, replicas):
    import numpy as np
    import tensorflow as tf

    workers = 2
    data = tf.data.Dataset.from_tensor_slices((np.arange(samples), np.arange(samples) * 10)).batch(batch)
    seen = []
    for index in range(workers):
        shares = distributed.shard_batches(
            data, replicas=replicas, worker=Worker(index, workers), batch_size=batch, samples=samples
        )
        batches = [(x.numpy(), y.numpy()) for x, y in shares]
        assert int(shares.cardinality()) == len(batches)  # Keras knows the number of steps
        assert all(len(x) * workers % replicas == 0 and len(x) > 0 for x, _ in batches)
        assert all((y == x * 10).all() for x, y in batches)  # inputs and targets stay paired
        seen.append(batches)
    assert len(seen[0]) == len(seen[1])  # equal steps: no collective waits for a worker out of data
    taken = np.sort(np.concatenate([x for batches in seen for x, _ in batches]))
    expected = samples - (samples % batch % replicas)  # only a last batch loses fewer than `replicas`
    assert taken.tolist() == list(range(expected))
