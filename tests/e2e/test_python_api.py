"""The Python API, notebook-style and in-process: train -> evaluate -> export -> load/predict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dlflow
from dlflow.errors import ConfigError, UsageError
from tests.conftest import CONFIGS

ROOT = Path(__file__).resolve().parents[2]


def test_notebook_train_evaluate_export_load_predict(tmp_path):
    from sklearn.datasets import load_digits

    runs = tmp_path / "runs"
    run = dlflow.train(CONFIGS / "digits_mlp.yaml", set={"fit.epochs": 1, "fit.callbacks": []}, runs_root=runs)
    assert run.path.parent == runs.resolve() / "digits-mlp" and run.metrics["epochs_completed"] == 1
    assert run.manifest["status"] == "completed" and run.evaluation is None

    evaluation = dlflow.evaluate(run, runs_root=runs)
    assert 0.0 <= evaluation.metrics["accuracy"] <= 1.0 and evaluation.samples > 0
    assert run.evaluation["metrics"] == evaluation.metrics  # evaluation.json, as `dlflow evaluate` writes it

    exported = dlflow.export("digits-mlp", formats=["keras"], runs_root=runs)  # an experiment name works too
    assert exported.ok and exported.path == run.path / "export" and exported.formats["keras"]["ok"]

    loaded = dlflow.load(run, runs_root=runs)
    images = load_digits().images[:16, :, :, None].astype("float32")
    labels = loaded.predict(images)
    expected = np.argmax(loaded.model.predict(images, verbose=0), axis=1)
    assert labels == [int(v) for v in expected] and all(isinstance(v, int) for v in labels)
    assert loaded.predict({"image": images}) == labels  # by input name


def test_errors_are_dlflows_own(tmp_path):
    with pytest.raises(ConfigError, match="fit.epochs"):
        dlflow.train(CONFIGS / "digits_mlp.yaml", set={"fit.epochs": "many"}, runs_root=tmp_path)
    with pytest.raises(UsageError):
        dlflow.evaluate("no-such-experiment", runs_root=tmp_path)


def test_import_dlflow_loads_no_tensorflow():
    code = (
        "import sys, dlflow; dlflow.Run; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
