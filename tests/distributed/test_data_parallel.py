"""One machine, several devices: Keras's DataParallel on JAX (`data_parallel`) trains as one device does.

TensorFlow's `mirrored` over two logical CPUs has its test in tests/e2e/test_model_apis.py.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import CONFIGS, cli_json
from tests.distributed.conftest import max_weight_difference


@pytest.mark.slow
def test_data_parallel_over_two_cpu_devices_matches_one_device(tmp_path):
    common = [
        "train",
        str(CONFIGS / "digits_mlp.yaml"),
        "--set",
        "fit.epochs=2",
        "--set",
        "fit.callbacks=[]",
        "--set",
        "data.split.validation=0.2",
        "--set",
        "runtime.backend=jax",
    ]  # 1168 training samples
    single = cli_json(*common, "--set", "runtime.strategy=none", cwd=tmp_path)
    parallel = cli_json(
        *common, "--set", "runtime.strategy=data_parallel", "--set", "runtime.logical_cpus=2", cwd=tmp_path
    )
    runtime = json.loads((tmp_path / parallel["run"] / "manifest.json").read_text())["runtime"]
    assert (runtime["strategy"], runtime["replicas"], len(runtime["devices"])) == ("data_parallel", 2, 2)
    difference = max_weight_difference(
        tmp_path / single["run"] / "checkpoints" / "last.keras",
        tmp_path / parallel["run"] / "checkpoints" / "last.keras",
    )
    assert difference < 1e-5, difference
