"""`runtime.backend: jax`: the spine end to end (train, evaluate, export), and what JAX cannot run."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import CONFIGS, cli_json, run_cli

# Loads a run's model.keras under the given Keras backend and prints its predictions on raw digits.
PREDICT = """
import json, os, sys
os.environ["KERAS_BACKEND"] = sys.argv[1]
import keras
from sklearn.datasets import load_digits
images = load_digits().images[:64, :, :, None].astype("float32")
model = keras.saving.load_model(sys.argv[2])
print(json.dumps({"backend": keras.config.backend(), "predictions": model.predict(images, verbose=0).tolist()}))
"""


def _predict_under(backend: str, model: str) -> np.ndarray:
    done = subprocess.run(
        [sys.executable, "-c", PREDICT, backend, model],
        capture_output=True,
        text=True,
        timeout=300,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend
    return np.array(result["predictions"])


@pytest.mark.slow
def test_digits_convnet_trains_evaluates_and_exports_on_jax(tmp_path):
    result = cli_json(
        "train",
        str(CONFIGS / "digits_convnet.yaml"),
        "--set",
        "runtime.backend=jax",
        "--set",
        "fit.epochs=6",
        cwd=tmp_path,
    )
    run = tmp_path / result["run"]
    runtime = json.loads((run / "manifest.json").read_text())["runtime"]
    assert (runtime["backend"], runtime["strategy"], runtime["jit_compile"]) == ("jax", "none", True)
    assert result["best"]["val_accuracy"] > 0.85

    evaluation = cli_json("evaluate", str(run), cwd=tmp_path)  # a TensorFlow process, from model.keras
    assert evaluation["metrics"]["accuracy"] > 0.85
    export = cli_json("export", str(run), cwd=tmp_path)
    assert export["ok"] and set(export["formats"]) == {"keras", "saved_model", "tflite", "onnx"}
    assert all(entry["ok"] for entry in export["formats"].values())

    # The artifact does not depend on the backend that trained it: JAX and TensorFlow agree on it.
    on_jax = _predict_under("jax", str(run / "model.keras"))
    on_tensorflow = _predict_under("tensorflow", str(run / "model.keras"))
    assert np.abs(on_jax - on_tensorflow).max() < 1e-5


def test_string_preprocessing_on_jax_is_a_config_error(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["color,x,y", *(f"{rng.choice(['red', 'blue'])},{rng.normal():.3f},{rng.integers(0, 2)}" for _ in range(80))]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "t.yaml").write_text(
        "name: t\ndata: {source: t.csv, target: y}\n"
        "model: {sequential: [{Dense: {units: 1, activation: sigmoid}}]}\n"
        "runtime:\n  backend: jax\n"
    )
    done = run_cli("train", "t.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "t.yaml:5:12: runtime.backend: the jax backend cannot run StringLookup" in done.stderr
    assert "use runtime.backend: tensorflow" in done.stderr and "Traceback" not in done.stderr
    assert not list((tmp_path / "runs" / "t").glob("*/"))  # no run directory


@pytest.mark.parametrize(
    "sets, message",
    [
        (
            ["runtime.strategy=data_parallel"],
            "strategy data_parallel runs on Keras's distribution API, which needs runtime.backend: jax",
        ),
        (["runtime.strategy=multi_worker"], "Keras 3 cannot fit under TensorFlow's MultiWorkerMirroredStrategy"),
        (["runtime.strategy=mirrored", "runtime.backend=jax"], "strategy mirrored is TensorFlow's MirroredStrategy"),
    ],
)
def test_a_strategy_needs_its_backend(tmp_path, sets, message):
    done = run_cli("train", str(CONFIGS / "digits_mlp.yaml"), *[a for s in sets for a in ("--set", s)], cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr[-2000:]
    assert "runtime.strategy:" in done.stderr and "data:" not in done.stderr  # caught before any data loads


def test_cluster_options_need_multi_worker_and_each_other(tmp_path):
    config = str(CONFIGS / "digits_mlp.yaml")
    done = run_cli(
        "train", config, "--coordinator", "127.0.0.1:9", "--num-workers", "2", "--worker-index", "0", cwd=tmp_path
    )
    assert done.returncode == 2 and "are for runtime.strategy multi_worker" in done.stderr
    multi = ["--set", "runtime.backend=jax", "--set", "runtime.strategy=multi_worker"]
    done = run_cli("train", config, *multi, "--coordinator", "127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == 2 and "missing: --num-workers, --worker-index" in done.stderr
    done = run_cli(
        "train",
        config,
        *multi,
        "--coordinator",
        "127.0.0.1:9",
        "--num-workers",
        "2",
        "--worker-index",
        "2",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "--worker-index: expected 0 to 1, received 2" in done.stderr
    done = run_cli("train", config, *multi, cwd=tmp_path, env={"KERAS_DISTRIBUTION_JOB_ADDRESSES": ""})
    assert done.returncode == 2 and "needs to know the cluster" in done.stderr
    assert "Traceback" not in done.stderr
